# The figures of Snakemake's own report: after a run,
#   snakemake --report results/report.html
# collects every output marked with report() below, with its caption
# (report/*.rst), into one self-contained page. Three jobs: the results
# figures follow the models, the availability figure the embedding tables,
# and the resource figure comes last (it reads the benchmark files of the
# whole run, which no rule declares as output).

rule plot_results:
    input:
        # the CSV itself is a report item too (a download beside the rendered table)
        table=report(
            f"{RESULTS}/table.csv",
            caption="../report/table_csv.rst",
            category="1. Results",
            subcategory="Results table",
            labels={"file": "table.csv (download)"},
        ),
        comparisons=f"{RESULTS}/table.json",
        manifest=MANIFEST,
        ensembles=[run["ensemble"] for run in PLAN.ensemble_runs],
        seeds=[path for run in PLAN.ensemble_runs for path in run["seeds"].values()],
    output:
        table=report(
            f"{PLOTS}/table.html",
            caption="../report/table.rst",
            category="1. Results",
            subcategory="Results table",
            labels={"file": "table.html"},
        ),
        mf1=report(
            f"{PLOTS}/mf1.svg",
            caption="../report/mf1.rst",
            category="1. Results",
            subcategory="MF1 per system",
            labels={"figure": "validation MF1 per system"},
        ),
        seeds=report(
            f"{PLOTS}/seeds.svg",
            caption="../report/seeds.rst",
            category="4. Fusion seeds",
            subcategory="Per-seed spread",
            labels={"figure": "MF1 of each seed per fusion run"},
        ),
        confusion=ensemble_figures(
            "confusion", "../report/confusion.rst", "Confusion matrices"
        ),
        curves=ensemble_figures("curves", "../report/curves.rst", "ROC and precision-recall"),
    params:
        runs=PLAN.ensemble_runs,
    log:
        f"{LOGS}/plot_results.log",
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        "../envs/models.yaml"
    script:
        "../scripts/plot_results.py"


# Calibration and explanations: every system's reliability diagram on test (raw and after
# its own map), and the per-video view of the submitted run's explanations.
rule plot_calibration:
    input:
        predictions=PLAN.table_inputs(),
        manifest=MANIFEST,
    output:
        report(
            f"{PLOTS}/reliability.svg",
            caption="../report/reliability.rst",
            category="2. Calibration and explanations",
            subcategory="Reliability diagrams",
            labels={"figure": "reliability diagram per system (test)"},
        ),
    params:
        rows=PLAN.table_rows,
        evaluation=job_config("evaluation"),
        calibration=job_config("calibration"),
    log:
        f"{LOGS}/plot_calibration.log",
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        "../envs/models.yaml"
    script:
        "../scripts/plot_calibration.py"


rule plot_explanations:
    input:
        explanations=f"{RESULTS}/explanations.csv",
        manifest=MANIFEST,
    output:
        report(
            f"{PLOTS}/explanations.html",
            caption="../report/explanations.rst",
            category="2. Calibration and explanations",
            subcategory="Per-video explanations",
            labels={"file": "explanations.html"},
        ),
    log:
        f"{LOGS}/plot_explanations.log",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        "../envs/models.yaml"
    script:
        "../scripts/plot_explanations.py"


rule plot_availability:
    input:
        availability=f"{RESULTS}/availability.csv",
    output:
        report(
            f"{PLOTS}/availability.svg",
            caption="../report/availability.rst",
            category="5. Data",
            subcategory="Modality availability",
            labels={"figure": "videos per split that lost a modality, and why"},
        ),
    log:
        f"{LOGS}/plot_availability.log",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        "../envs/models.yaml"
    script:
        "../scripts/plot_availability.py"


# The table and the submission are inputs only so that this job runs last:
# the benchmark files it reads are written by the jobs before them.
rule plot_resources:
    input:
        f"{RESULTS}/table.csv",
        f"{RESULTS}/submission.csv",
    output:
        report(
            f"{PLOTS}/resources.svg",
            caption="../report/resources.rst",
            category="6. Run",
            subcategory="Resource use",
            labels={"figure": "wall time and peak memory per rule"},
        ),
    params:
        benchmarks=BENCH,
    log:
        f"{LOGS}/plot_resources.log",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        "../envs/models.yaml"
    script:
        "../scripts/plot_resources.py"
