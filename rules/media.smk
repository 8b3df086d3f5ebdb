# Per video: the scene frames, the face frames (one decoding pass each, so that
# a change to one modality's sampling reruns that modality's chain only) and
# 16 kHz mono audio. {root} is the dataset: results/ (the corpus) or
# results/predict/<name>/.


rule scene_frames:
    input:
        video=get_video_value("path"),
    output:
        SCENE_FRAMES,
    params:
        n_frames=get_setting("scene", "n_frames"),
        short_side=get_setting("scene", "short_side"),
        max_side=None,
        jpeg_quality=get_setting("media", "jpeg_quality"),
        n_frames_hint=get_video_value("n_frames"),
        problem=get_media_problem,
        max_seconds=get_setting("media", "max_seconds"),
        fps=get_video_value("fps"),
    log:
        f"{ROOT_LOGS}/scene_frames/{{video}}.log",
    benchmark:
        f"{ROOT_BENCH}/scene_frames/{{video}}.tsv"
    threads: 1
    resources:
        mem_mb=1500,
        runtime=get_media_minutes(per_minute=1.0),
    conda:
        "../envs/media.yaml"
    script:
        "../scripts/frames.py"


rule face_frames:
    input:
        video=get_video_value("path"),
    output:
        FACE_FRAMES,
    params:
        n_frames=get_setting("face", "n_frames"),
        short_side=None,
        max_side=get_setting("media", "face_frame_max_side"),
        jpeg_quality=get_setting("media", "jpeg_quality"),
        n_frames_hint=get_video_value("n_frames"),
        problem=get_media_problem,
        max_seconds=get_setting("media", "max_seconds"),
        fps=get_video_value("fps"),
    log:
        f"{ROOT_LOGS}/face_frames/{{video}}.log",
    benchmark:
        f"{ROOT_BENCH}/face_frames/{{video}}.tsv"
    threads: 1
    resources:
        mem_mb=1500,
        runtime=get_media_minutes(per_minute=1.0),
    conda:
        "../envs/media.yaml"
    script:
        "../scripts/frames.py"


rule audio:
    input:
        video=get_video_value("path"),
    output:
        wav=AUDIO,
    params:
        sample_rate=get_setting("media", "audio_sample_rate"),
        has_audio=lambda wc: bool(get_video_value("has_audio")(wc)),
        max_seconds=get_setting("media", "max_seconds"),
    log:
        f"{ROOT_LOGS}/audio/{{video}}.log",
    benchmark:
        f"{ROOT_BENCH}/audio/{{video}}.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=get_media_minutes(per_minute=0.5),
    conda:
        "../envs/media.yaml"
    script:
        "../scripts/audio.py"
