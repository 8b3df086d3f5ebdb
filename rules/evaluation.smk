# Scoring: the only rules that read the test labels (from the manifest), after
# every model is trained: metrics per model, the results table with its
# intervals and paired comparisons. The choice of the submitted run reads the
# training labels only (no test label), then the submission is written.

rule evaluate_unimodal:
    input:
        predictions=f"{UNIMODAL}/predictions.parquet",
        manifest=MANIFEST,
    output:
        f"{UNIMODAL}/metrics.json",
    wildcard_constraints:
        model=names_regex(job_settings().unimodal),
    params:
        evaluation=job_config("evaluation"),
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
        run=names_regex(job_settings().runs),
        member=r"seed\d+|ensemble",
    params:
        evaluation=job_config("evaluation"),
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


rule select_run:
    input:
        predictions=lambda wc: list(PLAN.candidate_runs().values()),
        labels=LABELS,
    output:
        f"{RESULTS}/selected_run.json",
    params:
        candidates=lambda wc: PLAN.candidate_runs(),
        submission=job_config("fusion", "submission"),
        evaluation=job_config("evaluation"),
    log:
        f"{LOGS}/select_run.log",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        "../envs/models.yaml"
    script:
        "../scripts/select_run.py"


# Each fusion run's calibration map, from its predictions of the videos selection reads
# (validation, or out of fold) and the training labels: no test label. The submission,
# the explanations and the run's export apply it.
rule calibrate:
    input:
        predictions=lambda wc: PLAN.candidate_runs()[wc.run],
        labels=LABELS,
    output:
        f"{FUSION}/calibration.json",
    wildcard_constraints:
        run=names_regex(job_settings().runs),
    params:
        calibration=job_config("calibration"),
        evaluation=job_config("evaluation"),
    log:
        f"{LOGS}/calibrate/{{run}}.log",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        "../envs/models.yaml"
    script:
        "../scripts/calibrate.py"


rule table:
    input:
        predictions=PLAN.table_inputs(),
        manifest=MANIFEST,
        selected=f"{RESULTS}/selected_run.json",
        cues=PLAN.demo_cues(),
    output:
        table=f"{RESULTS}/table.csv",
        comparisons=f"{RESULTS}/table.json",
    params:
        rows=PLAN.table_rows,
        evaluation=job_config("evaluation"),
        calibration=job_config("calibration"),
        cue_reliability=lambda wc: job_settings(wc).config["corpus"].get("cue_reliability"),
    log:
        f"{LOGS}/table.log",
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        "../envs/models.yaml"
    script:
        "../scripts/table.py"


# The submission also waits for the results table, so that the one command
# `snakemake results/submission.csv` reports every system it chose from.
rule submission:
    input:
        predictions=lambda wc: list(PLAN.candidate_runs().values()),
        selected=f"{RESULTS}/selected_run.json",
        calibrations=lambda wc: list(PLAN.calibration_files().values()),
        manifest=MANIFEST,
        table=f"{RESULTS}/table.csv",
    output:
        f"{RESULTS}/submission.csv",
    params:
        candidates=lambda wc: PLAN.candidate_runs(),
        calibrations=lambda wc: PLAN.calibration_files(),
        split=PLAN.submission_split(),
        header=job_config("submission", "header"),
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


# Per video of the submitted list: the chosen run's calibrated probability and what each
# modality added to it (masking it, one forward pass per modality and seed). Reads no label.
rule explain:
    input:
        runs=lambda wc: PLAN.explain_inputs(),
        selected=f"{RESULTS}/selected_run.json",
        manifest=MANIFEST,
    output:
        f"{RESULTS}/explanations.csv",
    params:
        runs=lambda wc: PLAN.explain_runs(),
        split=PLAN.submission_split(),
        device=DEVICE,
    log:
        f"{LOGS}/explain.log",
    benchmark:
        f"{BENCH}/explain.tsv"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    conda:
        "../envs/models.yaml"
    script:
        "../scripts/explain.py"
