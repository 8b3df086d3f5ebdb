"""Rule plot_availability: how many videos lost a face, audio or transcript, and why."""

import _lib  # noqa: F401  (puts lib/ on sys.path)
from ahrec.reporting.steps import plot_availability
from ahrec.runtime import rule_logging

with rule_logging(snakemake.log[0], snakemake.threads):
    plot_availability(snakemake.input.availability, snakemake.output[0])
