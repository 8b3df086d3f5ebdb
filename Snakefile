# Video-level ambivalence/hesitancy (A/H) recognition: raw videos to embeddings,
# models and a challenge submission. This file loads and validates the
# configuration and includes one rules file per stage; each rule's script is a
# thin adapter to the library in lib/ahrec (unit-tested without Snakemake).

import os
import sys

from snakemake.exceptions import WorkflowError
from snakemake.utils import min_version

min_version("9.0")

# The library beside this Snakefile, never another checkout's (rule scripts do the
# same through scripts/_lib.py).
sys.path.insert(0, os.path.join(workflow.basedir, "lib"))

from ahrec.config import load_settings, load_yaml
from ahrec.errors import ConfigError

# A preset (presets/*.yaml) is a whole configuration; any other --configfile
# extends config.yaml. Add --replace-workflow-config to use your file alone.
if not config.get("preset"):

    configfile: os.path.join(workflow.basedir, "config.yaml")


# Snakemake has read the config files itself (its YAML reader keeps anchors and
# aliases); read each again with the bounded, alias-free loader before anything
# walks the configuration, so that a few hundred bytes of nested aliases are one
# message here rather than gigabytes in load_settings.
try:
    for path in workflow.configfiles:
        load_yaml(path)
    SETTINGS = load_settings(config)
except ConfigError as exc:
    raise WorkflowError(str(exc)) from None
config.update(SETTINGS.config)


# `snakemake --report results/report.html` after a run: this page, then the
# figures of rules/report.smk with their captions (report/*.rst).
report: "report/workflow.rst"


include: "rules/common.smk"
include: "rules/corpus.smk"
include: "rules/media.smk"
include: "rules/faces.smk"
include: "rules/transcripts.smk"
include: "rules/embeddings.smk"
include: "rules/unimodal.smk"
include: "rules/fusion.smk"
include: "rules/evaluation.smk"
include: "rules/predict.smk"
include: "rules/report.smk"


rule all:
    default_target: True
    input:
        rules.embeddings.input,
        f"{RESULTS}/table.csv",
        f"{RESULTS}/submission.csv",
        f"{RESULTS}/explanations.csv",
        PLAN.metrics_files(),
        PLAN.report_figures(),
