"""Rule export_ensemble: a fusion run's ensemble as one self-contained folder."""

import _lib  # noqa: F401  (puts lib/ on sys.path)
from ahrec.predict.export import export_ensemble
from ahrec.runtime import paths, rule_logging

with rule_logging(snakemake.log[0], snakemake.threads):
    export_ensemble(
        snakemake.wildcards.run,
        snakemake.params.export,
        unimodal_folders=paths(snakemake.input.unimodal),
        seed_folders=paths(snakemake.input.seeds),
        labels_path=snakemake.input.labels,
        metrics_path=snakemake.input.metrics,
        out=snakemake.output[0],
        calibration_path=snakemake.input.calibration,
    )
