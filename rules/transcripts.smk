# Transcripts per shard: the corpus's own, and speech recognition (audio
# extracted by the media stage) for the videos that have none.

rule transcripts:
    input:
        wavs=lambda wc: list(asr_wavs(wc.shard).values()),
    output:
        TRANSCRIPTS,
    params:
        asr=config["transcripts"]["asr"],
        device=config["device"],
        videos=lambda wc: plan.corpus_transcripts(manifest(), wc.shard),
        wavs=lambda wc: asr_wavs(wc.shard),
    log:
        f"{LOGS}/transcripts/shard-{{shard}}.log",
    benchmark:
        f"{BENCH}/transcripts/shard-{{shard}}.tsv"
    threads: 2
    resources:
        mem_mb=4000,
        runtime=60,
        gpu=gpus(config["transcripts"]["asr"]["kind"]),
    conda:
        "../envs/audio.yaml"
    script:
        "../scripts/transcripts.py"


rule transcripts_table:
    input:
        expand(TRANSCRIPTS, shard=SHARDS),
    output:
        f"{RESULTS}/transcripts.parquet",
    log:
        f"{LOGS}/transcripts_table.log",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        "../envs/media.yaml"
    script:
        "../scripts/concat_tables.py"
