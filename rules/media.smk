# Per shard: the scene frames, the face frames (one decoding pass each, so that
# a change to one modality's sampling reruns that modality's chain only) and
# 16 kHz mono audio. Files stay per video, keyed by the video's content digest,
# its manifest values, the settings and the media code and tool builds; a job
# extracts only the videos of its shard whose file is missing or stale, and
# writes the shard's index (its output). The videos' values (digest included)
# are params: a recording whose content changed reruns its shard's job, which
# refuses it if it changed again since the manifest. media.extract_again, a
# token in every key, forces re-extraction (--forcerun reuses the files).
# {root} is the dataset: results/ (the corpus) or results/predict/<name>/.


rule scene_frames:
    input:
        videos=get_shard_paths,
    output:
        SCENE_INDEX,
    params:
        out_dir=lambda wc: MEDIA_DIR.format(root=wc.root, kind="scene_frames"),
        videos=get_shard_media("frames"),
        n_frames=job_config("scene", "n_frames"),
        short_side=job_config("scene", "short_side"),
        max_side=None,
        jpeg_quality=job_config("media", "jpeg_quality"),
        max_seconds=job_config("media", "max_seconds"),
        extract_again=job_settings().config["media"]["extract_again"],  # this run's, not the dataset's
    log:
        f"{ROOT_LOGS}/scene_frames/shard-{{shard}}.log",
    benchmark:
        f"{ROOT_BENCH}/scene_frames/shard-{{shard}}.tsv"
    threads: 2
    resources:
        mem_mb=3000,
        runtime=get_media_minutes(per_minute=1.0, threads=2),
    conda:
        "../envs/media.yaml"
    script:
        "../scripts/frames.py"


rule face_frames:
    input:
        videos=get_shard_paths,
    output:
        FACE_INDEX,
    params:
        out_dir=lambda wc: MEDIA_DIR.format(root=wc.root, kind="face_frames"),
        videos=get_shard_media("frames"),
        n_frames=job_config("face", "n_frames"),
        short_side=None,
        max_side=job_config("media", "face_frame_max_side"),
        jpeg_quality=job_config("media", "jpeg_quality"),
        max_seconds=job_config("media", "max_seconds"),
        extract_again=job_settings().config["media"]["extract_again"],  # this run's, not the dataset's
    log:
        f"{ROOT_LOGS}/face_frames/shard-{{shard}}.log",
    benchmark:
        f"{ROOT_BENCH}/face_frames/shard-{{shard}}.tsv"
    threads: 2
    resources:
        mem_mb=3000,
        runtime=get_media_minutes(per_minute=1.0, threads=2),
    conda:
        "../envs/media.yaml"
    script:
        "../scripts/frames.py"


rule audio:
    input:
        videos=get_shard_paths,
    output:
        AUDIO_INDEX,
    params:
        out_dir=lambda wc: MEDIA_DIR.format(root=wc.root, kind="audio"),
        videos=get_shard_media("audio"),
        sample_rate=job_config("media", "audio_sample_rate"),
        max_seconds=job_config("media", "max_seconds"),
        extract_again=job_settings().config["media"]["extract_again"],  # this run's, not the dataset's
    log:
        f"{ROOT_LOGS}/audio/shard-{{shard}}.log",
    benchmark:
        f"{ROOT_BENCH}/audio/shard-{{shard}}.tsv"
    threads: 2
    resources:
        mem_mb=2000,
        runtime=get_media_minutes(per_minute=0.5, threads=2),
    conda:
        "../envs/media.yaml"
    script:
        "../scripts/audio.py"
