"""Rule training_labels: the labels training may see (test and hidden labels removed)."""

import _lib  # noqa: F401  (puts lib/ on sys.path)
from ahrec.runtime import rule_logging
from ahrec.training.labels import write_training_labels

with rule_logging(snakemake.log[0], snakemake.threads):
    write_training_labels(snakemake.input.manifest, snakemake.output[0])
