# Embeddings: one table per modality and encoder, computed per shard with the
# model loaded once, then gathered. TF-IDF is fitted on the training split's
# transcripts, so it is computed once for the whole corpus.

rule embed_scene:
    input:
        frames=lambda wc: per_video(SCENE_FRAMES, wc.shard),
    output:
        f"{RESULTS}/embeddings/scene/{{encoder}}/shard-{{shard}}.parquet",
    wildcard_constraints:
        encoder=encoder_names_regex("scene", False),
    params:
        spec=spec_params("scene"),
        n_frames=config["scene"]["n_frames"],
        device=config["device"],
    log:
        f"{LOGS}/embed_scene/{{encoder}}/shard-{{shard}}.log",
    benchmark:
        f"{BENCH}/embed_scene/{{encoder}}/shard-{{shard}}.tsv"
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
        frames=FACE_CROPS,
    output:
        f"{RESULTS}/embeddings/face/{{encoder}}/shard-{{shard}}.parquet",
    wildcard_constraints:
        encoder=encoder_names_regex("face", False),
    params:
        spec=spec_params("face"),
        n_frames=config["face"]["n_frames"],
        device=config["device"],
    log:
        f"{LOGS}/embed_face/{{encoder}}/shard-{{shard}}.log",
    benchmark:
        f"{BENCH}/embed_face/{{encoder}}/shard-{{shard}}.tsv"
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
        wavs=lambda wc: per_video(AUDIO, wc.shard),
    output:
        f"{RESULTS}/embeddings/audio/{{encoder}}/shard-{{shard}}.parquet",
    wildcard_constraints:
        encoder=encoder_names_regex("audio", False),
    params:
        spec=spec_params("audio"),
        device=config["device"],
        reasons=lambda wc: plan.audio_reasons(manifest(), wc.shard),
    log:
        f"{LOGS}/embed_audio/{{encoder}}/shard-{{shard}}.log",
    benchmark:
        f"{BENCH}/embed_audio/{{encoder}}/shard-{{shard}}.tsv"
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
        transcripts=TRANSCRIPTS,
    output:
        f"{RESULTS}/embeddings/text/{{encoder}}/shard-{{shard}}.parquet",
    wildcard_constraints:
        encoder=encoder_names_regex("text", False),
    params:
        spec=spec_params("text"),
        device=config["device"],
    log:
        f"{LOGS}/embed_text/{{encoder}}/shard-{{shard}}.log",
    benchmark:
        f"{BENCH}/embed_text/{{encoder}}/shard-{{shard}}.tsv"
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
        transcripts=after_manifest(expand(TRANSCRIPTS, shard=SHARDS)),
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
        f"{RESULTS}/embeddings/{{modality}}/{{encoder}}.parquet",
    wildcard_constraints:
        encoder="|".join(
            f"(?:{encoder_names_regex(m, False)})" for m in ("scene", "face", "audio", "text")
        ),
    log:
        f"{LOGS}/gather_embeddings/{{modality}}/{{encoder}}.log",
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    conda:
        "../envs/media.yaml"
    script:
        "../scripts/gather_embeddings.py"


rule embeddings:
    input:
        embedding_tables(),
        f"{RESULTS}/faces/detection.parquet",
        f"{RESULTS}/transcripts.parquet",
