"""Rule explain: per video of the submitted list, each modality's contribution to its probability."""

import _lib  # noqa: F401  (puts lib/ on sys.path)
from ahrec.evaluation.explanations import explain_submitted_run
from ahrec.runtime import rule_logging

params = snakemake.params
with rule_logging(snakemake.log[0], snakemake.threads):
    explain_submitted_run(
        params.runs,
        snakemake.input.selected,
        snakemake.input.manifest,
        params.split,
        snakemake.output[0],
        device=params.device,
    )
