"""Checkpoint manifest: corpus -> results/manifest.parquet."""

import _lib  # noqa: F401  (puts lib/ on sys.path)
from ahrec.runtime import rule_logging
from ahrec.stages.manifest import build_manifest_file

with rule_logging(snakemake.log[0], snakemake.threads):
    build_manifest_file(
        snakemake.params.corpus,
        snakemake.params.shards,
        snakemake.output.manifest,
        demo_root=snakemake.params.demo_root,
        workers=2 * snakemake.threads,
        report=snakemake.output.report,
    )
