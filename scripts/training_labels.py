"""Rule training_labels: the labels training may see (test and hidden labels removed)."""

import _lib  # noqa: F401  (puts lib/ on sys.path)
from ahrec.corpus.manifest import read_manifest
from ahrec.models.data import training_labels
from ahrec.runtime import rule_logging

with rule_logging(snakemake.log[0], snakemake.threads) as log:
    labels = training_labels(read_manifest(snakemake.input.manifest))
    labels.to_parquet(snakemake.output[0], index=False)
    log.info("%d videos; labels kept for %d", len(labels), int(labels["label"].notna().sum()))
