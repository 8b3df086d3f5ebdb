# Per video: the scene frames, the face frames (one decoding pass each, so that
# a change to one modality's sampling reruns that modality's chain only) and
# 16 kHz mono audio. Per shard: face detection and crops (detector loaded once).
# {root} is the dataset: results/ (the corpus) or results/predict/<name>/.

rule scene_frames:
    input:
        video=video_path,
    output:
        SCENE_FRAMES,
    params:
        sampling=setting("scene"),
        jpeg_quality=setting("media", "jpeg_quality"),
        n_frames_hint=lambda wc: video_value(wc, "n_frames"),
        problem=lambda wc: video_value(wc, "problem"),
    log:
        f"{ROOT_LOGS}/scene_frames/{{video}}.log",
    benchmark:
        f"{ROOT_BENCH}/scene_frames/{{video}}.tsv"
    threads: 1
    resources:
        mem_mb=1500,
        runtime=10,
    conda:
        "../envs/media.yaml"
    script:
        "../scripts/frames.py"


rule face_frames:
    input:
        video=video_path,
    output:
        FACE_FRAMES,
    params:
        sampling=lambda wc: {
            "n_frames": settings(wc.root)["face"]["n_frames"],
            "max_side": settings(wc.root)["media"]["face_frame_max_side"],
        },
        jpeg_quality=setting("media", "jpeg_quality"),
        n_frames_hint=lambda wc: video_value(wc, "n_frames"),
        problem=lambda wc: video_value(wc, "problem"),
    log:
        f"{ROOT_LOGS}/face_frames/{{video}}.log",
    benchmark:
        f"{ROOT_BENCH}/face_frames/{{video}}.tsv"
    threads: 1
    resources:
        mem_mb=1500,
        runtime=10,
    conda:
        "../envs/media.yaml"
    script:
        "../scripts/frames.py"


rule audio:
    input:
        video=video_path,
    output:
        wav=AUDIO,
    params:
        sample_rate=setting("media", "audio_sample_rate"),
        has_audio=lambda wc: bool(video_value(wc, "has_audio")),
    log:
        f"{ROOT_LOGS}/audio/{{video}}.log",
    benchmark:
        f"{ROOT_BENCH}/audio/{{video}}.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        "../envs/media.yaml"
    script:
        "../scripts/audio.py"


rule faces:
    input:
        frames=per_video(FACE_FRAMES),
    output:
        crops=FACE_CROPS,
        stats=FACE_STATS,
    params:
        detector=setting("face", "detector"),
        crop_size=setting("face", "crop_size"),
        jpeg_quality=setting("media", "jpeg_quality"),
        device=config["device"],
        videos=shard_videos,
    log:
        f"{ROOT_LOGS}/faces/shard-{{shard}}.log",
    benchmark:
        f"{ROOT_BENCH}/faces/shard-{{shard}}.tsv"
    threads: 2
    resources:
        mem_mb=4000,
        runtime=60,
        gpu=lambda wc: gpus(settings(wc.root)["face"]["detector"]["kind"]),
    conda:
        "../envs/vision.yaml"
    script:
        "../scripts/faces.py"


rule face_detection_table:
    input:
        expand(FACE_STATS, shard=SHARDS, allow_missing=True),
    output:
        "{root}/faces/detection.parquet",
    log:
        f"{ROOT_LOGS}/face_detection_table.log",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        "../envs/media.yaml"
    script:
        "../scripts/concat_tables.py"
