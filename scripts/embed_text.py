"""Rule embed_text: one shard's transcripts -> sentence embeddings."""

import _lib  # noqa: F401  (puts lib/ on sys.path)
from ahrec.embeddings.kinds import EncoderSpec
from ahrec.embeddings.steps import embed_text_shard
from ahrec.runtime import paths, rule_logging

with rule_logging(snakemake.log[0], snakemake.threads):
    embed_text_shard(
        EncoderSpec.from_params(snakemake.params.spec),
        paths(snakemake.input.transcripts)[0],
        snakemake.output[0],
        device=snakemake.params.device,
    )
