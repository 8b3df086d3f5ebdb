# Embeddings: one table per modality and encoder, computed per shard with the
# model loaded once, then gathered. TF-IDF is fitted on the training split's
# transcripts, so it is computed once for the whole corpus. The encoder's kind
# table row (lib/ahrec/embeddings/kinds.py) says which class runs and whether
# the job wants a GPU.


rule embed_scene:
    input:
        frames=get_after_manifest(SCENE_INDEX),
    output:
        "{root}/embeddings/scene/{encoder}/shard-{shard}.parquet",
    params:
        spec=lambda wc: get_encoder("scene")(wc).as_params(),
        device=DEVICE,
    log:
        f"{ROOT_LOGS}/embed_scene/{{encoder}}/shard-{{shard}}.log",
    benchmark:
        f"{ROOT_BENCH}/embed_scene/{{encoder}}/shard-{{shard}}.tsv"
    threads: 2
    resources:
        mem_mb=8000,
        runtime=120,
        gpu=lambda wc: PLAN.gpus(get_encoder("scene")(wc).row.neural),
    conda:
        "../envs/vision.yaml"
    script:
        "../scripts/embed_frames.py"


rule embed_face:
    input:
        frames=get_after_manifest(FACE_CROPS),
    output:
        "{root}/embeddings/face/{encoder}/shard-{shard}.parquet",
    params:
        spec=lambda wc: get_encoder("face")(wc).as_params(),
        device=DEVICE,
    log:
        f"{ROOT_LOGS}/embed_face/{{encoder}}/shard-{{shard}}.log",
    benchmark:
        f"{ROOT_BENCH}/embed_face/{{encoder}}/shard-{{shard}}.tsv"
    threads: 2
    resources:
        mem_mb=8000,
        runtime=120,
        gpu=lambda wc: PLAN.gpus(get_encoder("face")(wc).row.neural),
    conda:
        "../envs/vision.yaml"
    script:
        "../scripts/embed_frames.py"


rule embed_audio:
    input:
        wavs=get_after_manifest(AUDIO_INDEX),
    output:
        "{root}/embeddings/audio/{encoder}/shard-{shard}.parquet",
    params:
        spec=lambda wc: get_encoder("audio")(wc).as_params(),
        device=DEVICE,
        reasons=lambda wc: plan.audio_reasons(
            get_manifest(wc.root), wc.shard, job_settings(wc).config["media"]["min_seconds"]
        ),
    log:
        f"{ROOT_LOGS}/embed_audio/{{encoder}}/shard-{{shard}}.log",
    benchmark:
        f"{ROOT_BENCH}/embed_audio/{{encoder}}/shard-{{shard}}.tsv"
    threads: 2
    resources:
        mem_mb=8000,
        runtime=120,
        gpu=lambda wc: PLAN.gpus(get_encoder("audio")(wc).row.neural),
    conda:
        "../envs/audio.yaml"
    script:
        "../scripts/embed_audio.py"


rule embed_text:
    input:
        transcripts=get_after_manifest(TRANSCRIPTS),
    output:
        "{root}/embeddings/text/{encoder}/shard-{shard}.parquet",
    params:
        spec=lambda wc: get_encoder("text")(wc).as_params(),
        device=DEVICE,
    log:
        f"{ROOT_LOGS}/embed_text/{{encoder}}/shard-{{shard}}.log",
    benchmark:
        f"{ROOT_BENCH}/embed_text/{{encoder}}/shard-{{shard}}.tsv"
    threads: 2
    resources:
        mem_mb=6000,
        runtime=60,
        gpu=lambda wc: PLAN.gpus(get_encoder("text")(wc).row.neural),
    conda:
        "../envs/text.yaml"
    script:
        "../scripts/embed_text.py"


# A corpus-level table and a gathered one share the path pattern; the corpus-level
# rules are constrained to the corpus-level encoders and win where both match.
ruleorder: embed_tfidf > gather_embeddings
ruleorder: embed_tfidf_training > gather_training_embeddings


rule embed_tfidf:
    input:
        transcripts=get_after_manifest(*[TRANSCRIPTS.format(root=RESULTS, shard=s) for s in SHARDS]),
    output:
        f"{RESULTS}/embeddings/text/{{encoder}}.parquet",
    wildcard_constraints:
        encoder=names_regex(PLAN.corpus_level_encoders()),
    params:
        spec=lambda wc: get_encoder("text")(wc).as_params(),
        train_ids=lambda wc: plan.split_ids(get_manifest(), "train"),
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


# The training videos' table (their shards only): what the unimodal models train on.
# The vocabulary is fitted on the same training transcripts as the whole table's,
# so the training videos' vectors are the same in both.
use rule embed_tfidf as embed_tfidf_training with:
    input:
        transcripts=get_after_manifest(
            *[TRANSCRIPTS.format(root=RESULTS, shard=s) for s in PLAN.training_shards]
        ),
    output:
        f"{RESULTS}/embeddings/text/{{encoder}}.training.parquet",
    log:
        f"{LOGS}/embed_tfidf/{{encoder}}.training.log",
    benchmark:
        f"{BENCH}/embed_tfidf/{{encoder}}.training.tsv"


rule gather_embeddings:
    input:
        get_after_manifest(*expand(EMBED_SHARD, shard=SHARDS, allow_missing=True)),
    output:
        "{root}/embeddings/{modality}/{encoder}.parquet",
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


# The training videos' table: the corpus's training shards only (train, val), what
# the unimodal models train on; a test video's arrival leaves it unchanged.
use rule gather_embeddings as gather_training_embeddings with:
    input:
        get_after_manifest(
            *expand(EMBED_SHARD, root=RESULTS, shard=PLAN.training_shards, allow_missing=True)
        ),
    output:
        f"{RESULTS}/embeddings/{{modality}}/{{encoder}}.training.parquet",
    log:
        f"{LOGS}/gather_embeddings/{{modality}}/{{encoder}}.training.log",


rule availability:
    input:
        manifest=MANIFEST,
        tables=PLAN.embedding_tables(),
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
        PLAN.embedding_tables(),
        f"{RESULTS}/faces/detection.parquet",
        f"{RESULTS}/transcripts.parquet",
        f"{RESULTS}/availability.csv",
