"""Checkpoint predict_manifest: a folder or CSV list of new videos -> manifest.parquet."""

import _lib  # noqa: F401  (puts lib/ on sys.path)
from ahrec.corpus.steps import build_new_videos_manifest
from ahrec.runtime import rule_logging

with rule_logging(snakemake.log[0], snakemake.threads):
    build_new_videos_manifest(
        snakemake.input.videos,
        snakemake.params.shards,
        snakemake.output.manifest,
        snakemake.output.report,
        workers=snakemake.threads,
        probe_cache=snakemake.params.probe_cache,
    )
