"""Rule export_ensemble: a fusion run's ensemble as one self-contained folder."""

import _lib  # noqa: F401  (puts lib/ on sys.path)
from ahrec.runtime import paths, rule_logging
from ahrec.stages.export import export_ensemble

export = snakemake.params.export
with rule_logging(snakemake.log[0], snakemake.threads):
    export_ensemble(
        snakemake.wildcards.run,
        export["label"],
        export["seeds"],
        export["models"],
        export["config"],
        paths(snakemake.input.unimodal),
        paths(snakemake.input.seeds),
        snakemake.input.labels,
        snakemake.input.metrics,
        snakemake.output[0],
    )
