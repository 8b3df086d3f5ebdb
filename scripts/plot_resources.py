"""Rule plot_resources: each rule's wall time and peak memory, from the benchmark files."""

import _lib  # noqa: F401  (puts lib/ on sys.path)
from ahrec.reporting.steps import plot_resources
from ahrec.runtime import rule_logging

with rule_logging(snakemake.log[0], snakemake.threads):
    plot_resources(snakemake.params.benchmarks, snakemake.output[0])
