# Fusion: per run and seed a training job (on the training videos' out-of-fold
# embeddings) and a prediction job (every other video, with the saved model),
# the ensemble of a run's seeds, and the Optuna searches (training videos only).
# Runs are named under fusion.runs; a run may take its hyperparameters from a
# search (from_search).

rule fusion_seed:
    input:
        embeddings=after_manifest(
            lambda wc: PLAN.unimodal_embeddings(job_settings(wc).runs[wc.run].models, fit=True)
        ),
        labels=LABELS,
        best_params=lambda wc: PLAN.run_best_params(wc.run),
    output:
        predictions=f"{FUSION}/seed{{seed}}/fit/predictions.parquet",
        selection=f"{FUSION}/seed{{seed}}/selection.json",
        model=directory(f"{FUSION}/seed{{seed}}/model"),
    wildcard_constraints:
        run=names_regex(job_settings().runs),
        seed=r"\d+",
    params:
        run=lambda wc: job_settings(wc).runs[wc.run].as_params(),
        evaluation=job_config("evaluation"),
        device=DEVICE,
    log:
        f"{LOGS}/fusion/{{run}}/seed{{seed}}.log",
    benchmark:
        f"{BENCH}/fusion/{{run}}/seed{{seed}}.tsv"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=60,
        gpu=PLAN.gpus(True),
    conda:
        "../envs/models.yaml"
    script:
        "../scripts/fusion_seed.py"


rule fusion_predict:
    input:
        embeddings=lambda wc: PLAN.unimodal_embeddings(job_settings(wc).runs[wc.run].models),
        fit_predictions=f"{FUSION}/seed{{seed}}/fit/predictions.parquet",
        selection=f"{FUSION}/seed{{seed}}/selection.json",
        model=f"{FUSION}/seed{{seed}}/model",
        manifest=MANIFEST,
    output:
        f"{FUSION}/seed{{seed}}/predictions.parquet",
    wildcard_constraints:
        run=names_regex(job_settings().runs),
        seed=r"\d+",
    params:
        device=DEVICE,
    log:
        f"{LOGS}/fusion_predict/{{run}}/seed{{seed}}.log",
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
        gpu=PLAN.gpus(True),
    conda:
        "../envs/models.yaml"
    script:
        "../scripts/fusion_predict.py"


rule fusion_ensemble:
    input:
        lambda wc: PLAN.seed_files(wc.run, "predictions.parquet"),
    output:
        f"{FUSION}/ensemble/predictions.parquet",
    wildcard_constraints:
        run=names_regex(job_settings().runs),
    log:
        f"{LOGS}/fusion/{{run}}/ensemble.log",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        "../envs/models.yaml"
    script:
        "../scripts/fusion_ensemble.py"


rule search:
    input:
        embeddings=after_manifest(lambda wc: PLAN.search_embeddings(wc.name)),
        labels=LABELS,
    output:
        best=f"{RESULTS}/search/{{name}}/best.yaml",
        trials=f"{RESULTS}/search/{{name}}/trials.csv",
    wildcard_constraints:
        name=names_regex(job_settings().searches),
    params:
        search=lambda wc: job_settings(wc).searches[wc.name].as_params(),
        run=lambda wc: job_settings(wc).runs[job_settings(wc).searches[wc.name].run].as_params(),
        storage=lambda wc: f"{RESULTS}/search/{wc.name}/study.sqlite",
        evaluation=job_config("evaluation"),
        device=DEVICE,
    log:
        f"{LOGS}/search/{{name}}.log",
    benchmark:
        f"{BENCH}/search/{{name}}.tsv"
    # one worker process per fit of a trial (its seeds x CV folds), as many as there are cores
    threads: lambda wc: PLAN.search_fits(wc.name)
    # the stage's longest job, which the tuned runs wait for: before the short fusion jobs
    priority: 10
    resources:
        mem_mb=lambda wc, threads: 2000 + 1000 * threads,
        runtime=720,
        gpu=PLAN.gpus(True),
    conda:
        "../envs/models.yaml"
    script:
        "../scripts/search.py"
