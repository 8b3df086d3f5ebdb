"""Rule plot_results: the results table page, MF1 per system, the ensembles' figures, seed spread."""

import _lib  # noqa: F401  (puts lib/ on sys.path)
from ahrec.reporting.steps import plot_results
from ahrec.runtime import paths, rule_logging

with rule_logging(snakemake.log[0], snakemake.threads):
    plot_results(
        snakemake.input.table,
        snakemake.input.comparisons,
        snakemake.input.manifest,
        snakemake.params.runs,
        snakemake.output.table,
        snakemake.output.mf1,
        snakemake.output.seeds,
        paths(snakemake.output.confusion),
        paths(snakemake.output.curves),
    )
