"""Rule training_labels: the training videos (train, val) and their labels: all training sees."""

import _lib  # noqa: F401  (puts lib/ on sys.path)
from ahrec.runtime import rule_logging
from ahrec.training.labels import write_training_labels

with rule_logging(snakemake.log[0], snakemake.threads):
    write_training_labels(snakemake.params.manifest, snakemake.output[0])
