# Exported ensembles and prediction on new videos. A fusion run's ensemble is
# exported as one folder (models, prior, the config slice that built them);
# a batch of new videos named in config goes through the same media,
# transcript and embedding rules (under results/predict/<name>/) and then
# through the exported unimodal models and fusion seeds.


rule export_ensemble:
    input:
        unimodal=lambda wc: [f"{RESULTS}/unimodal/{m}/model" for m in FUSION_RUNS[wc.run].models],
        seeds=lambda wc: [f"{FUSION}/seed{s}/model".format(run=wc.run) for s in run_seeds(wc.run)],
        labels=LABELS,
        metrics=f"{FUSION}/ensemble/metrics.json",
    output:
        directory(f"{EXPORT}/{{run}}"),
    wildcard_constraints:
        run=names_regex(FUSION_RUNS),
    params:
        export=lambda wc: export_params(wc.run),
    log:
        f"{LOGS}/export/{{run}}.log",
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        "../envs/fusion.yaml"
    script:
        "../scripts/export_ensemble.py"


checkpoint predict_manifest:
    input:
        videos=lambda wc: config["predict"][wc.name]["videos"],
    output:
        manifest=f"{PREDICT}/{{name}}/manifest.parquet",
        report=f"{PREDICT}/{{name}}/manifest_report.csv",
    wildcard_constraints:
        name=names_regex(PREDICT_NAMES),
    params:
        shards=config["shards"],
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


rule predict_unimodal:
    input:
        ensemble=lambda wc: ensemble_folder(wc.name),
        sources=predict_model_sources,
        manifest=f"{PREDICT}/{{name}}/manifest.parquet",
    output:
        f"{PREDICT}/{{name}}/unimodal/{{model}}/embeddings.parquet",
    wildcard_constraints:
        name=names_regex(PREDICT_NAMES),
    params:
        device=config["device"],
    log:
        f"{PREDICT}/{{name}}/logs/unimodal/{{model}}.log",
    threads: 2
    resources:
        mem_mb=4000,
        runtime=60,
        gpu=predict_gpus,
    conda:
        "../envs/fusion.yaml"
    script:
        "../scripts/predict_unimodal.py"


rule predict:
    input:
        ensemble=lambda wc: ensemble_folder(wc.name),
        tables=predict_tables,
        manifest=f"{PREDICT}/{{name}}/manifest.parquet",
        faces=predict_face_detection,
    output:
        f"{PREDICT}/{{name}}/predictions.csv",
    wildcard_constraints:
        name=names_regex(PREDICT_NAMES),
    params:
        device=config["device"],
    log:
        f"{PREDICT}/{{name}}/logs/predict.log",
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    conda:
        "../envs/fusion.yaml"
    script:
        "../scripts/predict.py"
