"""Checkpoint manifest: corpus -> results/manifest.parquet and its report."""

import _lib  # noqa: F401  (puts lib/ on sys.path)
from ahrec.corpus.steps import build_manifest_file
from ahrec.runtime import rule_logging

with rule_logging(snakemake.log[0], snakemake.threads):
    build_manifest_file(
        snakemake.params.corpus,
        snakemake.params.shards,
        snakemake.output.manifest,
        snakemake.output.report,
        workers=snakemake.threads,
        probe_cache=snakemake.params.probe_cache,
    )
