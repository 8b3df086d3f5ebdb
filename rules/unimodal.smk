# Unimodal models: one training job and one prediction job per model named under
# unimodal:. Training reads the training videos only (train, val: their tables
# and labels) and writes the model, its selection and the training videos'
# predictions and out-of-fold embeddings; prediction adds every other video
# (test, hidden test) with the saved model. Adding a test video reruns the
# prediction, never the training.

rule unimodal:
    input:
        sources=get_model_inputs,
        labels=LABELS,
    output:
        predictions=f"{UNIMODAL}/fit/predictions.parquet",
        embeddings=f"{UNIMODAL}/fit/embeddings.parquet",
        selection=f"{UNIMODAL}/selection.json",
        model=directory(f"{UNIMODAL}/model"),
    wildcard_constraints:
        model=names_regex(job_settings().unimodal),
    params:
        spec=lambda wc: job_settings(wc).unimodal[wc.model].as_params(),
        evaluation=job_config("evaluation"),
        device=DEVICE,
    log:
        f"{LOGS}/unimodal/{{model}}.log",
    benchmark:
        f"{BENCH}/unimodal/{{model}}.tsv"
    threads: 2
    resources:
        mem_mb=8000,
        runtime=240,
        gpu=lambda wc: PLAN.gpus(job_settings(wc).unimodal[wc.model].row.neural),
    conda:
        "../envs/models.yaml"
    script:
        "../scripts/unimodal.py"


rule unimodal_predict:
    input:
        sources=lambda wc: PLAN.model_inputs(job_settings(wc).unimodal[wc.model], RESULTS),
        fit_predictions=f"{UNIMODAL}/fit/predictions.parquet",
        fit_embeddings=f"{UNIMODAL}/fit/embeddings.parquet",
        selection=f"{UNIMODAL}/selection.json",
        model=f"{UNIMODAL}/model",
        manifest=MANIFEST,
    output:
        predictions=f"{UNIMODAL}/predictions.parquet",
        embeddings=f"{UNIMODAL}/embeddings.parquet",
    wildcard_constraints:
        model=names_regex(job_settings().unimodal),
    params:
        spec=lambda wc: job_settings(wc).unimodal[wc.model].as_params(),
        device=DEVICE,
    log:
        f"{LOGS}/unimodal_predict/{{model}}.log",
    benchmark:
        f"{BENCH}/unimodal_predict/{{model}}.tsv"
    threads: 2
    resources:
        mem_mb=8000,
        runtime=60,
        gpu=lambda wc: PLAN.gpus(job_settings(wc).unimodal[wc.model].row.neural),
    conda:
        "../envs/models.yaml"
    script:
        "../scripts/unimodal_predict.py"
