# Corpus -> manifest. The demo corpus is generated here when config names no
# other corpus; BAH split files and CSV manifests are read as they are.


rule demo_corpus:
    output:
        train=f"{DEMO_ROOT}/train.txt",
        val=f"{DEMO_ROOT}/val.txt",
        test=f"{DEMO_ROOT}/test.txt",
        videos=directory(f"{DEMO_ROOT}/Videos"),
    params:
        demo=config["demo"],
    log:
        f"{LOGS}/demo_corpus.log",
    benchmark:
        f"{BENCH}/demo_corpus.tsv"
    threads: 4
    resources:
        mem_mb=2000,
        runtime=30,
    conda:
        "../envs/media.yaml"
    script:
        "../scripts/demo_corpus.py"


checkpoint manifest:
    input:
        get_manifest_input,
    output:
        manifest=f"{RESULTS}/manifest.parquet",
        report=f"{RESULTS}/manifest_report.csv",
    params:
        corpus=config["corpus"],
        shards=config["shards"],
        demo_root=DEMO_ROOT if config["corpus"]["type"] == "demo" else None,
    log:
        f"{LOGS}/manifest.log",
    benchmark:
        f"{BENCH}/manifest.tsv"
    threads: 4
    resources:
        mem_mb=2000,
        runtime=30,
    conda:
        "../envs/media.yaml"
    script:
        "../scripts/manifest.py"
