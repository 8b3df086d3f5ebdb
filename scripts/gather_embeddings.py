"""Rule gather_embeddings: shard tables -> one table per modality and encoder."""

import _lib  # noqa: F401  (puts lib/ on sys.path)
from ahrec.embeddings.steps import gather_shards
from ahrec.runtime import paths, rule_logging

with rule_logging(snakemake.log[0], snakemake.threads):
    gather_shards(paths(snakemake.input), snakemake.output[0])
