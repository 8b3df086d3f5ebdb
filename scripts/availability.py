"""Rule availability: which modality each video lost, and why."""

import _lib  # noqa: F401  (puts lib/ on sys.path)
from ahrec.embeddings.availability import availability
from ahrec.runtime import paths, rule_logging

with rule_logging(snakemake.log[0], snakemake.threads):
    availability(
        snakemake.input.manifest,
        paths(snakemake.input.tables),
        snakemake.input.faces,
        snakemake.output[0],
    )
