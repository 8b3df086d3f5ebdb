"""Rule table: every system's MF1 with its interval, seed spread, paired comparisons, ceilings."""

import _lib  # noqa: F401  (puts lib/ on sys.path)
from ahrec.evaluation.selection import read_selected_run
from ahrec.evaluation.settings import CalibrationSettings, EvaluationSettings
from ahrec.evaluation.table import results_table_file
from ahrec.runtime import paths, rule_logging

params, output = snakemake.params, snakemake.output
with rule_logging(snakemake.log[0], snakemake.threads):
    results_table_file(
        params.rows,
        snakemake.input.manifest,
        output.table,
        output.comparisons,
        settings=EvaluationSettings(**params.evaluation),
        reference=read_selected_run(snakemake.input.selected),
        demo_cues=(paths(snakemake.input.cues) or [None])[0],
        cue_reliability=params.cue_reliability,
        calibration=CalibrationSettings.from_config(params.calibration),
    )
