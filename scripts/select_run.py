"""Rule select_run: the fusion run to submit (named, or the best by the selection score)."""

import _lib  # noqa: F401  (puts lib/ on sys.path)
from ahrec.evaluation.selection import select_run
from ahrec.evaluation.settings import EvaluationSettings
from ahrec.runtime import rule_logging

params = snakemake.params
with rule_logging(snakemake.log[0], snakemake.threads):
    select_run(
        params.candidates,
        snakemake.input.labels,
        snakemake.output[0],
        params.submission,
        EvaluationSettings(**params.evaluation),
    )
