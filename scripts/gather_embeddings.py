"""Rule gather_embeddings: shard tables -> one table per modality and encoder."""

import _lib  # noqa: F401  (puts lib/ on sys.path)
from ahrec.runtime import paths, rule_logging
from ahrec.stages.tables import gather_shards

with rule_logging(snakemake.log[0], snakemake.threads):
    gather_shards(paths(snakemake.input), snakemake.output[0])
