"""Rule submission: one row per video of the test (or hidden-test) list, in its order."""

import _lib  # noqa: F401  (puts lib/ on sys.path)
from ahrec.evaluation.selection import read_selected_run, submitted_predictions
from ahrec.evaluation.submission import submission
from ahrec.runtime import rule_logging

params = snakemake.params
with rule_logging(snakemake.log[0], snakemake.threads):
    submission(
        submitted_predictions(params.candidates, snakemake.input.selected),
        snakemake.input.manifest,
        params.split,
        snakemake.output[0],
        header=params.header,
        calibration=params.calibrations.get(read_selected_run(snakemake.input.selected)),
    )
