from ahrec.corpus.probe_cache import PROBE_FORMAT
from ahrec.training.labels import training_fingerprint


# Corpus -> manifest. The demo corpus is generated here when config names no
# other corpus; BAH split files and CSV manifests are read as they are. The
# labels training may see (test and hidden-test labels removed) come from here.


rule demo_corpus:
    output:
        train=f"{DEMO_ROOT}/train.txt",
        val=f"{DEMO_ROOT}/val.txt",
        test=f"{DEMO_ROOT}/test.txt",
        cues=f"{DEMO_ROOT}/demo_cues.csv",
        videos=directory(f"{DEMO_ROOT}/Videos"),
    params:
        demo=PLAN.demo_settings(),
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
        PLAN.manifest_inputs(),
    output:
        manifest=MANIFEST,
        report=f"{RESULTS}/manifest_report.csv",
    params:
        corpus=job_config("corpus"),
        shards=job_config("shards"),
        # not an output: Snakemake deletes outputs before a rerun (docs/corpora.md)
        probe_cache=PROBE_CACHE,
        # the listed videos' paths and stats: a replaced or edited recording reruns the
        # manifest, which hashes and probes it again (docs/corpora.md, "Identity")
        identity=lambda wc: PLAN.manifest_identity(),
        # what the probe reads (3: has_video, audio-only recordings): a new format rebuilds
        # the manifest, whose columns and values it decides
        probe_format=PROBE_FORMAT,
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


# The manifest is not an input file: it is rewritten whenever a corpus list
# changes, and a new test video must not retrain anything. The fingerprint of
# the training rows (train, val, their labels) is the rerun trigger instead.
rule training_labels:
    input:
        get_after_manifest(),
    output:
        LABELS,
    params:
        manifest=MANIFEST,
        training=lambda wc: training_fingerprint(get_manifest()),
    log:
        f"{LOGS}/training_labels.log",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        "../envs/models.yaml"
    script:
        "../scripts/training_labels.py"
