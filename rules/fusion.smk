# Fusion: one job per run and seed, the ensemble of a run's seeds, the Optuna
# searches, the results table and the submission.


rule fusion_seed:
    input:
        embeddings=run_embeddings,
        labels=LABELS,
        best_params=run_best_params,
    output:
        predictions=f"{FUSION}/seed{{seed}}/predictions.parquet",
        selection=f"{FUSION}/seed{{seed}}/selection.json",
        model=directory(f"{FUSION}/seed{{seed}}/model"),
    wildcard_constraints:
        run=names_regex(FUSION_RUNS),
        seed=r"\d+",
    params:
        run=lambda wc: FUSION_RUNS[wc.run].as_params(),
        device=config["device"],
    log:
        f"{LOGS}/fusion/{{run}}/seed{{seed}}.log",
    benchmark:
        f"{BENCH}/fusion/{{run}}/seed{{seed}}.tsv"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=60,
        gpu=1 if config["device"] == "cuda" else 0,
    conda:
        "../envs/fusion.yaml"
    script:
        "../scripts/fusion_seed.py"


rule fusion_ensemble:
    input:
        lambda wc: expand(f"{FUSION}/seed{{seed}}/predictions.parquet", run=wc.run, seed=run_seeds(wc.run)),
    output:
        f"{FUSION}/ensemble/predictions.parquet",
    wildcard_constraints:
        run=names_regex(FUSION_RUNS),
    log:
        f"{LOGS}/fusion/{{run}}/ensemble.log",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        "../envs/fusion.yaml"
    script:
        "../scripts/fusion_ensemble.py"


rule evaluate_fusion:
    input:
        predictions=f"{FUSION}/{{member}}/predictions.parquet",
        manifest=f"{RESULTS}/manifest.parquet",
    output:
        f"{FUSION}/{{member}}/metrics.json",
    wildcard_constraints:
        run=names_regex(FUSION_RUNS),
        member=r"seed\d+|ensemble",
    log:
        f"{LOGS}/evaluate_fusion/{{run}}/{{member}}.log",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        "../envs/fusion.yaml"
    script:
        "../scripts/evaluate.py"


rule search:
    input:
        embeddings=search_embeddings,
        labels=LABELS,
    output:
        best=f"{RESULTS}/search/{{name}}/best.yaml",
        trials=f"{RESULTS}/search/{{name}}/trials.csv",
    wildcard_constraints:
        name=names_regex(config["search"]),
    params:
        search=lambda wc: config["search"][wc.name],
        run=lambda wc: FUSION_RUNS[config["search"][wc.name]["run"]].as_params(),
        seeds=lambda wc: search_seeds(wc.name),
        storage=lambda wc: f"{RESULTS}/search/{wc.name}/study.sqlite",
        device=config["device"],
    log:
        f"{LOGS}/search/{{name}}.log",
    benchmark:
        f"{BENCH}/search/{{name}}.tsv"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=720,
        gpu=1 if config["device"] == "cuda" else 0,
    conda:
        "../envs/fusion.yaml"
    script:
        "../scripts/search.py"


rule table:
    input:
        [row["metrics"] for row in table_rows()],
    output:
        f"{RESULTS}/table.csv",
    params:
        rows=table_rows(),
    log:
        f"{LOGS}/table.log",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        "../envs/fusion.yaml"
    script:
        "../scripts/table.py"


# The submission also waits for the results table, so that the one command
# `snakemake results/submission.csv` reports every system it chose from.
rule submission:
    input:
        predictions=submission_predictions,
        manifest=f"{RESULTS}/manifest.parquet",
        table=f"{RESULTS}/table.csv",
    output:
        f"{RESULTS}/submission.csv",
    params:
        split=submission_split(),
        header=config["submission"]["header"],
    log:
        f"{LOGS}/submission.log",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        "../envs/fusion.yaml"
    script:
        "../scripts/submission.py"
