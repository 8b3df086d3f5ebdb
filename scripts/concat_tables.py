"""Rules face_detection_table, transcripts_table: concatenate per-shard tables."""

import _lib  # noqa: F401  (puts lib/ on sys.path)
from ahrec.runtime import paths, rule_logging
from ahrec.stages.tables import concat_parquet

with rule_logging(snakemake.log[0], snakemake.threads):
    concat_parquet(paths(snakemake.input), snakemake.output[0])
