"""Rule table: every system's val and test MF1 in the paper's layout."""

import _lib  # noqa: F401  (puts lib/ on sys.path)
from ahrec.evaluation.table import results_table
from ahrec.runtime import rule_logging

with rule_logging(snakemake.log[0], snakemake.threads):
    results_table(snakemake.params.rows, snakemake.output[0])
