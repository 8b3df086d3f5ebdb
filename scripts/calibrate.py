"""Rule calibrate: a fusion run's calibration map, fitted on held-out training predictions."""

import _lib  # noqa: F401  (puts lib/ on sys.path)
from ahrec.evaluation.calibration import calibrate_run_file
from ahrec.evaluation.settings import CalibrationSettings, EvaluationSettings
from ahrec.runtime import rule_logging

params = snakemake.params
with rule_logging(snakemake.log[0], snakemake.threads):
    calibrate_run_file(
        snakemake.input.predictions,
        snakemake.input.labels,
        snakemake.output[0],
        EvaluationSettings(**params.evaluation),
        CalibrationSettings.from_config(params.calibration),
        run=snakemake.wildcards.run,
    )
