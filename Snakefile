# Video-level ambivalence/hesitancy (A/H) recognition: raw videos to embeddings,
# models and a challenge submission. This file only validates the configuration
# and includes the stages; the logic lives in lib/ahrec (unit-tested without
# Snakemake) and each rule's script is a thin adapter to it.

import os
import sys

from snakemake.utils import min_version

min_version("9.0")

# The library is imported here to validate the config; rule scripts find it
# through scripts/_lib.py.
sys.path.insert(0, os.path.join(workflow.basedir, "lib"))

from ahrec.config import validate_config
from ahrec.errors import ConfigError
from snakemake.exceptions import WorkflowError


# The defaults beside this file; `--configfile my.yaml` extends them (add
# `--replace-workflow-config` to use my.yaml alone, schema defaults filling the rest).
configfile: os.path.join(workflow.basedir, "config.yaml")


try:
    config.update(validate_config(config))
except ConfigError as exc:
    raise WorkflowError(str(exc)) from None


# `snakemake --report results/report.html` after a run: this page, then the
# figures of rules/report.smk with their captions (report/*.rst).
report: "report/workflow.rst"


include: "rules/common.smk"
include: "rules/corpus.smk"
include: "rules/media.smk"
include: "rules/transcripts.smk"
include: "rules/embeddings.smk"
include: "rules/models.smk"
include: "rules/fusion.smk"
include: "rules/predict.smk"
include: "rules/report.smk"


rule all:
    default_target: True
    input:
        rules.embeddings.input,
        f"{RESULTS}/table.csv",
        f"{RESULTS}/submission.csv",
        report_figures(),
