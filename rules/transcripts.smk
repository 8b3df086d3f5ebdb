# Transcripts per shard: the corpus's own, and speech recognition (audio
# extracted by the media stage) for the videos that have none; then one table.


rule transcripts:
    input:
        audio=get_asr_inputs,
    output:
        TRANSCRIPTS,
    params:
        asr=job_config("transcripts", "asr"),
        vad=job_config("transcripts", "vad"),
        device=DEVICE,
        videos=lambda wc: plan.corpus_transcripts(get_manifest(wc.root), wc.shard),
        wavs=get_asr_wavs,
    log:
        f"{ROOT_LOGS}/transcripts/shard-{{shard}}.log",
    benchmark:
        f"{ROOT_BENCH}/transcripts/shard-{{shard}}.tsv"
    threads: 2
    resources:
        mem_mb=4000,
        runtime=get_asr_minutes(),
        gpu=lambda wc: PLAN.gpus(job_settings(wc).asr_kind.neural),
    conda:
        "../envs/audio.yaml"
    script:
        "../scripts/transcripts.py"


rule transcripts_table:
    input:
        get_after_manifest(*expand(TRANSCRIPTS, shard=SHARDS, allow_missing=True)),
    output:
        "{root}/transcripts.parquet",
    log:
        f"{ROOT_LOGS}/transcripts_table.log",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        "../envs/media.yaml"
    script:
        "../scripts/concat_tables.py"


# The training videos' transcripts (the corpus's training shards): what a model
# reading transcripts trains on.
use rule transcripts_table as transcripts_table_training with:
    input:
        get_after_manifest(*expand(TRANSCRIPTS, root=RESULTS, shard=PLAN.training_shards)),
    output:
        f"{RESULTS}/transcripts.training.parquet",
    log:
        f"{LOGS}/transcripts_table.training.log",
