# Embeddings: one table per modality and encoder, computed per shard with the
# model loaded once, then gathered. TF-IDF is fitted on the training split's
# transcripts, so it is computed once for the whole corpus.

rule embed_scene:
    input:
        frames=per_video(SCENE_FRAMES),
    output:
        "{root}/embeddings/scene/{encoder}/shard-{shard}.parquet",
    wildcard_constraints:
        encoder=encoder_names_regex("scene", False),
    params:
        spec=spec_params("scene"),
        n_frames=setting("scene", "n_frames"),
        device=config["device"],
    log:
        f"{ROOT_LOGS}/embed_scene/{{encoder}}/shard-{{shard}}.log",
    benchmark:
        f"{ROOT_BENCH}/embed_scene/{{encoder}}/shard-{{shard}}.tsv"
    threads: 2
    resources:
        mem_mb=8000,
        runtime=120,
        gpu=spec_gpus("scene"),
    conda:
        "../envs/vision.yaml"
    script:
        "../scripts/embed_frames.py"


rule embed_face:
    input:
        frames=after_manifest(FACE_CROPS),
    output:
        "{root}/embeddings/face/{encoder}/shard-{shard}.parquet",
    wildcard_constraints:
        encoder=encoder_names_regex("face", False),
    params:
        spec=spec_params("face"),
        n_frames=setting("face", "n_frames"),
        device=config["device"],
    log:
        f"{ROOT_LOGS}/embed_face/{{encoder}}/shard-{{shard}}.log",
    benchmark:
        f"{ROOT_BENCH}/embed_face/{{encoder}}/shard-{{shard}}.tsv"
    threads: 2
    resources:
        mem_mb=8000,
        runtime=120,
        gpu=spec_gpus("face"),
    conda:
        "../envs/vision.yaml"
    script:
        "../scripts/embed_frames.py"


rule embed_audio:
    input:
        wavs=per_video(AUDIO),
    output:
        "{root}/embeddings/audio/{encoder}/shard-{shard}.parquet",
    wildcard_constraints:
        encoder=encoder_names_regex("audio", False),
    params:
        spec=spec_params("audio"),
        device=config["device"],
        reasons=lambda wc: plan.audio_reasons(manifest(wc.root), wc.shard),
    log:
        f"{ROOT_LOGS}/embed_audio/{{encoder}}/shard-{{shard}}.log",
    benchmark:
        f"{ROOT_BENCH}/embed_audio/{{encoder}}/shard-{{shard}}.tsv"
    threads: 2
    resources:
        mem_mb=8000,
        runtime=120,
        gpu=spec_gpus("audio"),
    conda:
        "../envs/audio.yaml"
    script:
        "../scripts/embed_audio.py"


rule embed_text:
    input:
        transcripts=after_manifest(TRANSCRIPTS),
    output:
        "{root}/embeddings/text/{encoder}/shard-{shard}.parquet",
    wildcard_constraints:
        encoder=encoder_names_regex("text", False),
    params:
        spec=spec_params("text"),
        device=config["device"],
    log:
        f"{ROOT_LOGS}/embed_text/{{encoder}}/shard-{{shard}}.log",
    benchmark:
        f"{ROOT_BENCH}/embed_text/{{encoder}}/shard-{{shard}}.tsv"
    threads: 2
    resources:
        mem_mb=6000,
        runtime=60,
        gpu=spec_gpus("text"),
    conda:
        "../envs/text.yaml"
    script:
        "../scripts/embed_text.py"


rule embed_tfidf:
    input:
        transcripts=after_manifest(*[main(TRANSCRIPTS, shard=s) for s in SHARDS]),
    output:
        f"{RESULTS}/embeddings/text/{{encoder}}.parquet",
    wildcard_constraints:
        encoder=encoder_names_regex("text", True),
    params:
        spec=spec_params("text"),
        train_ids=lambda wc: plan.split_ids(manifest(), "train"),
    log:
        f"{LOGS}/embed_tfidf/{{encoder}}.log",
    benchmark:
        f"{BENCH}/embed_tfidf/{{encoder}}.tsv"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    conda:
        "../envs/text.yaml"
    script:
        "../scripts/embed_tfidf.py"


rule gather_embeddings:
    input:
        expand(EMBED_SHARD, shard=SHARDS, allow_missing=True),
    output:
        "{root}/embeddings/{modality}/{encoder}.parquet",
    wildcard_constraints:
        encoder="|".join(
            f"(?:{encoder_names_regex(m, False)})" for m in ("scene", "face", "audio", "text")
        ),
    log:
        f"{ROOT_LOGS}/gather_embeddings/{{modality}}/{{encoder}}.log",
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    conda:
        "../envs/media.yaml"
    script:
        "../scripts/gather_embeddings.py"


rule availability:
    input:
        manifest=f"{RESULTS}/manifest.parquet",
        tables=embedding_tables(),
        faces=f"{RESULTS}/faces/detection.parquet",
    output:
        f"{RESULTS}/availability.csv",
    log:
        f"{LOGS}/availability.log",
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        "../envs/media.yaml"
    script:
        "../scripts/availability.py"


rule embeddings:
    input:
        embedding_tables(),
        f"{RESULTS}/faces/detection.parquet",
        f"{RESULTS}/transcripts.parquet",
        f"{RESULTS}/availability.csv",
