# Per video: sampled frames (decoded once for scene and face) and 16 kHz mono
# audio. Per shard: face detection and crops (the detector loaded once).

rule frames:
    input:
        video=lambda wc: video_value(wc.video, "path"),
    output:
        scene=SCENE_FRAMES,
        face=FACE_FRAMES,
    params:
        scene=config["scene"],
        face_frames=config["face"]["n_frames"],
        max_side=config["media"]["face_frame_max_side"],
        jpeg_quality=config["media"]["jpeg_quality"],
        n_frames_hint=lambda wc: video_value(wc.video, "n_frames"),
        problem=lambda wc: video_value(wc.video, "problem"),
    log:
        f"{LOGS}/frames/{{video}}.log",
    benchmark:
        f"{BENCH}/frames/{{video}}.tsv"
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
        video=lambda wc: video_value(wc.video, "path"),
    output:
        wav=AUDIO,
    params:
        sample_rate=config["media"]["audio_sample_rate"],
        has_audio=lambda wc: bool(video_value(wc.video, "has_audio")),
    log:
        f"{LOGS}/audio/{{video}}.log",
    benchmark:
        f"{BENCH}/audio/{{video}}.tsv"
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
        frames=lambda wc: per_video(FACE_FRAMES, wc.shard),
    output:
        crops=FACE_CROPS,
        stats=FACE_STATS,
    params:
        detector=config["face"]["detector"],
        crop_size=config["face"]["crop_size"],
        jpeg_quality=config["media"]["jpeg_quality"],
        device=config["device"],
        videos=lambda wc: plan.shard_video_ids(manifest(), wc.shard),
    log:
        f"{LOGS}/faces/shard-{{shard}}.log",
    benchmark:
        f"{BENCH}/faces/shard-{{shard}}.tsv"
    threads: 2
    resources:
        mem_mb=4000,
        runtime=60,
        gpu=gpus(config["face"]["detector"]["kind"]),
    conda:
        "../envs/vision.yaml"
    script:
        "../scripts/faces.py"


rule face_detection_table:
    input:
        expand(FACE_STATS, shard=SHARDS),
    output:
        f"{RESULTS}/faces/detection.parquet",
    log:
        f"{LOGS}/face_detection_table.log",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        "../envs/media.yaml"
    script:
        "../scripts/concat_tables.py"
