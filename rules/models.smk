# Unimodal models: one rule per model named in config. Training reads the
# training labels (test labels removed); only the evaluation reads the test labels.


rule training_labels:
    input:
        manifest=f"{RESULTS}/manifest.parquet",
    output:
        LABELS,
    log:
        f"{LOGS}/training_labels.log",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        "../envs/fusion.yaml"
    script:
        "../scripts/training_labels.py"


rule unimodal:
    input:
        sources=unimodal_inputs,
        labels=LABELS,
    output:
        predictions=f"{UNIMODAL}/predictions.parquet",
        embeddings=f"{UNIMODAL}/embeddings.parquet",
        selection=f"{UNIMODAL}/selection.json",
        model=directory(f"{UNIMODAL}/model"),
    wildcard_constraints:
        model=names_regex(UNIMODAL_NAMES),
    params:
        spec=lambda wc: unimodal_spec(config, wc.model).as_params(),
        evaluation=config["evaluation"],
        device=config["device"],
    log:
        f"{LOGS}/unimodal/{{model}}.log",
    benchmark:
        f"{BENCH}/unimodal/{{model}}.tsv"
    threads: 2
    resources:
        mem_mb=8000,
        runtime=240,
        gpu=unimodal_gpus,
    conda:
        "../envs/fusion.yaml"
    script:
        "../scripts/unimodal.py"


rule evaluate_unimodal:
    input:
        predictions=f"{UNIMODAL}/predictions.parquet",
        manifest=f"{RESULTS}/manifest.parquet",
    output:
        f"{UNIMODAL}/metrics.json",
    wildcard_constraints:
        model=names_regex(UNIMODAL_NAMES),
    log:
        f"{LOGS}/evaluate_unimodal/{{model}}.log",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        "../envs/fusion.yaml"
    script:
        "../scripts/evaluate.py"
