# Per shard: face detection and crops (the detector loaded once per shard), then
# one table of per-video detection rates. {root} is the dataset.


rule faces:
    input:
        frames=get_after_manifest(FACE_INDEX),
    output:
        crops=FACE_CROPS,
        stats=FACE_STATS,
    params:
        detector=job_config("face", "detector"),
        crop_size=job_config("face", "crop_size"),
        no_face=job_config("face", "no_face"),
        select=job_config("face", "select"),
        jpeg_quality=job_config("media", "jpeg_quality"),
        device=DEVICE,
        videos=get_shard_videos,
    log:
        f"{ROOT_LOGS}/faces/shard-{{shard}}.log",
    benchmark:
        f"{ROOT_BENCH}/faces/shard-{{shard}}.tsv"
    threads: 2
    resources:
        mem_mb=4000,
        runtime=60,
        gpu=lambda wc: PLAN.gpus(job_settings(wc).detector_kind.neural),
    conda:
        "../envs/vision.yaml"
    script:
        "../scripts/faces.py"


rule face_detection_table:
    input:
        get_after_manifest(*expand(FACE_STATS, shard=SHARDS, allow_missing=True)),
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
