"""Rule batch_unimodal_embeddings: an exported unimodal model embeds the new videos for the fusion."""

import _lib  # noqa: F401  (puts lib/ on sys.path)
from ahrec.predict.steps import embed_with_unimodal
from ahrec.runtime import paths, rule_logging

with rule_logging(snakemake.log[0], snakemake.threads):
    embed_with_unimodal(
        snakemake.input.ensemble,
        snakemake.wildcards.model,
        paths(snakemake.input.sources),
        snakemake.input.manifest,
        snakemake.output[0],
        device=snakemake.params.device,
    )
