"""Rule embed_text: one shard's transcripts -> sentence embeddings."""

import _lib  # noqa: F401  (puts lib/ on sys.path)
from ahrec.runtime import paths, rule_logging
from ahrec.stages.embeddings import embed_text_shard, spec_from_params

with rule_logging(snakemake.log[0], snakemake.threads):
    embed_text_shard(
        spec_from_params("text", snakemake.wildcards.encoder, snakemake.params.spec),
        paths(snakemake.input.transcripts)[0],
        snakemake.output[0],
        device=snakemake.params.device,
    )
