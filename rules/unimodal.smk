# Unimodal models: one job per model named under unimodal:. Training reads the
# training labels (test labels removed); it writes the predictions, the
# out-of-fold embeddings the fusion trains on, and the model.

rule unimodal:
    input:
        sources=get_model_inputs,
        labels=LABELS,
    output:
        predictions=f"{UNIMODAL}/predictions.parquet",
        embeddings=f"{UNIMODAL}/embeddings.parquet",
        selection=f"{UNIMODAL}/selection.json",
        model=directory(f"{UNIMODAL}/model"),
    wildcard_constraints:
        model=names_regex(SETTINGS.unimodal),
    params:
        spec=lambda wc: SETTINGS.unimodal[wc.model].as_params(),
        evaluation=config["evaluation"],
        device=DEVICE,
    log:
        f"{LOGS}/unimodal/{{model}}.log",
    benchmark:
        f"{BENCH}/unimodal/{{model}}.tsv"
    threads: 2
    resources:
        mem_mb=8000,
        runtime=240,
        gpu=lambda wc: PLAN.gpus(SETTINGS.unimodal[wc.model].row.neural),
    conda:
        "../envs/models.yaml"
    script:
        "../scripts/unimodal.py"
