"""Rules face_detection_table, transcripts_table: concatenate per-shard tables."""

import _lib  # noqa: F401  (puts lib/ on sys.path)
from ahrec.io import concat_parquet
from ahrec.runtime import paths, rule_logging

with rule_logging(snakemake.log[0], snakemake.threads):
    concat_parquet(paths(snakemake.input), snakemake.output[0])
