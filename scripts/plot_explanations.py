"""Rule plot_explanations: the per-video view of the submitted run's explanations."""

import _lib  # noqa: F401  (puts lib/ on sys.path)
from ahrec.reporting.steps import plot_explanations
from ahrec.runtime import rule_logging

with rule_logging(snakemake.log[0], snakemake.threads):
    plot_explanations(snakemake.input.explanations, snakemake.input.manifest, snakemake.output[0])
