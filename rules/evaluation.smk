# Scoring: the only rules that read the test labels (from the manifest), after
# every model is trained. Metrics per model, the results table in the paper's
# layout, and the submission.

rule evaluate_unimodal:
    input:
        predictions=f"{UNIMODAL}/predictions.parquet",
        manifest=MANIFEST,
    output:
        f"{UNIMODAL}/metrics.json",
    wildcard_constraints:
        model=names_regex(SETTINGS.unimodal),
    log:
        f"{LOGS}/evaluate_unimodal/{{model}}.log",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        "../envs/models.yaml"
    script:
        "../scripts/evaluate.py"


rule evaluate_fusion:
    input:
        predictions=f"{FUSION}/{{member}}/predictions.parquet",
        manifest=MANIFEST,
    output:
        f"{FUSION}/{{member}}/metrics.json",
    wildcard_constraints:
        run=names_regex(SETTINGS.runs),
        member=r"seed\d+|ensemble",
    log:
        f"{LOGS}/evaluate_fusion/{{run}}/{{member}}.log",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        "../envs/models.yaml"
    script:
        "../scripts/evaluate.py"


rule table:
    input:
        [row["metrics"] for row in PLAN.table_rows],
    output:
        f"{RESULTS}/table.csv",
    params:
        rows=PLAN.table_rows,
    log:
        f"{LOGS}/table.log",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        "../envs/models.yaml"
    script:
        "../scripts/table.py"


# The submission also waits for the results table, so that the one command
# `snakemake results/submission.csv` reports every system it chose from.
rule submission:
    input:
        predictions=get_submission_predictions,
        manifest=MANIFEST,
        table=f"{RESULTS}/table.csv",
    output:
        f"{RESULTS}/submission.csv",
    params:
        split=PLAN.submission_split(),
        header=config["submission"]["header"],
    log:
        f"{LOGS}/submission.log",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        "../envs/models.yaml"
    script:
        "../scripts/submission.py"
