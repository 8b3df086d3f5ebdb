"""Rule embed_audio: one shard's audio -> an embedding table with sequences."""

from pathlib import Path

import _lib  # noqa: F401  (puts lib/ on sys.path)
from ahrec.runtime import paths, rule_logging
from ahrec.stages.embeddings import embed_audio_shard, spec_from_params

with rule_logging(snakemake.log[0], snakemake.threads):
    wavs = {Path(p).stem: p for p in paths(snakemake.input.wavs)}
    embed_audio_shard(
        spec_from_params("audio", snakemake.wildcards.encoder, snakemake.params.spec),
        wavs,
        snakemake.params.reasons,
        snakemake.output[0],
        device=snakemake.params.device,
    )
