"""Rules evaluate_unimodal, evaluate_fusion: the final metrics step (reads test labels)."""

import _lib  # noqa: F401  (puts lib/ on sys.path)
from ahrec.evaluation.evaluate import evaluate_file
from ahrec.evaluation.settings import EvaluationSettings
from ahrec.runtime import rule_logging

with rule_logging(snakemake.log[0], snakemake.threads):
    evaluate_file(
        snakemake.input.predictions,
        snakemake.input.manifest,
        snakemake.output[0],
        EvaluationSettings(**snakemake.params.evaluation),
    )
