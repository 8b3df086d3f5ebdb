# Exported ensembles and prediction on new videos. A fusion run's ensemble is
# exported as one folder (models, prior, the config slice that built them); a
# batch of new videos named under predict: goes through the same media,
# transcript and embedding rules (under results/predict/<name>/) and then
# through the ensemble's unimodal models and fusion seeds.

from ahrec.predict.export import export_plan
from ahrec.unimodal.kinds import UNIMODAL_KINDS


rule export_ensemble:
    input:
        unimodal=lambda wc: [f"{RESULTS}/unimodal/{m}/model" for m in job_settings(wc).runs[wc.run].models],
        seeds=lambda wc: PLAN.seed_files(wc.run, "model"),
        labels=LABELS,
        metrics=f"{FUSION}/ensemble/metrics.json",
        calibration=f"{FUSION}/calibration.json",
    output:
        directory(f"{EXPORT}/{{run}}"),
    wildcard_constraints:
        run=names_regex(job_settings().runs),
    params:
        export=lambda wc: export_plan(job_settings(wc), wc.run),
    log:
        f"{LOGS}/export/{{run}}.log",
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        "../envs/models.yaml"
    script:
        "../scripts/export_ensemble.py"


checkpoint predict_manifest:
    input:
        videos=lambda wc: job_settings(wc).config["predict"][wc.name]["videos"],
    output:
        manifest=f"{PREDICT}/{{name}}/manifest.parquet",
        report=f"{PREDICT}/{{name}}/manifest_report.csv",
    wildcard_constraints:
        name=names_regex(BATCHES.names),
    params:
        shards=job_config("shards"),
        probe_cache=PROBE_CACHE,
        probe_format=PROBE_FORMAT,  # rules/corpus.smk
        # the rerun trigger: every video below the folder (any depth) or in the list, with
        # size and mtime; the folder's own mtime misses subfolders (docs/outputs.md)
        listing=lambda wc: PLAN.batch_listing(wc.name),
    log:
        f"{PREDICT}/{{name}}/logs/manifest.log",
    threads: 2
    resources:
        mem_mb=2000,
        runtime=30,
    conda:
        "../envs/media.yaml"
    script:
        "../scripts/predict_manifest.py"


rule batch_unimodal_embeddings:
    input:
        ensemble=lambda wc: BATCHES.ensemble_folder(wc.name),
        sources=get_predict_sources,
        manifest=f"{PREDICT}/{{name}}/manifest.parquet",
    output:
        f"{PREDICT}/{{name}}/unimodal/{{model}}/embeddings.parquet",
    wildcard_constraints:
        name=names_regex(BATCHES.names),
        model=NAME,
    params:
        device=DEVICE,
    log:
        f"{PREDICT}/{{name}}/logs/unimodal/{{model}}.log",
    threads: 2
    resources:
        mem_mb=4000,
        runtime=60,
        gpu=lambda wc: PLAN.gpus(UNIMODAL_KINDS[BATCHES.model(wc.name, wc.model).kind].neural),
    conda:
        "../envs/models.yaml"
    script:
        "../scripts/batch_unimodal_embeddings.py"


rule predict:
    input:
        ensemble=lambda wc: BATCHES.ensemble_folder(wc.name),
        tables=lambda wc: PLAN.predict_tables(wc.name),
        # none when the ensemble cannot be used: the job then fails with its problems
        manifest=lambda wc: BATCHES.unless_broken(wc.name, f"{PREDICT}/{wc.name}/manifest.parquet"),
        faces=lambda wc: PLAN.predict_face_detection(wc.name),
    output:
        predictions=f"{PREDICT}/{{name}}/predictions.csv",
        explanations=f"{PREDICT}/{{name}}/explanations.csv",
    wildcard_constraints:
        name=names_regex(BATCHES.names),
    params:
        device=DEVICE,
        problem=lambda wc: BATCHES.problem(wc.name),
    log:
        f"{PREDICT}/{{name}}/logs/predict.log",
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    conda:
        "../envs/models.yaml"
    script:
        "../scripts/predict.py"


# A batch name no configuration file declares: a clear error listing the configured
# ones, instead of Snakemake's bare "No rule to produce ...".
rule unknown_predict_batch:
    input:
        lambda wc: BATCHES.unknown(wc.name),
    output:
        f"{PREDICT}/{{name}}/predictions.csv",
    wildcard_constraints:
        name=other_names_regex(BATCHES.names),
    log:
        f"{LOGS}/unknown_predict_batch/{{name}}.log",
    threads: 1
    resources:
        mem_mb=100,
        runtime=1,
    conda:
        "../envs/media.yaml"
    shell:
        "false"
