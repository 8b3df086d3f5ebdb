"""Rule plot_calibration: every system's reliability diagram on test, before and after its map."""

import _lib  # noqa: F401  (puts lib/ on sys.path)
from ahrec.evaluation.settings import CalibrationSettings, EvaluationSettings
from ahrec.reporting.steps import plot_calibration
from ahrec.runtime import rule_logging

params = snakemake.params
with rule_logging(snakemake.log[0], snakemake.threads):
    plot_calibration(
        params.rows,
        snakemake.input.manifest,
        EvaluationSettings(**params.evaluation),
        CalibrationSettings.from_config(params.calibration),
        snakemake.output[0],
    )
