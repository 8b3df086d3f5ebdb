"""Rule embed_audio: one shard's audio -> an embedding table with sequences."""

from pathlib import Path

import _lib  # noqa: F401  (puts lib/ on sys.path)
from ahrec.embeddings.kinds import EncoderSpec
from ahrec.embeddings.steps import embed_audio_shard
from ahrec.media.shard import media_files
from ahrec.runtime import paths, rule_logging

with rule_logging(snakemake.log[0], snakemake.threads):
    embed_audio_shard(
        EncoderSpec.from_params(snakemake.params.spec),
        {Path(p).stem: p for p in media_files(paths(snakemake.input.wavs))},
        snakemake.params.reasons,
        snakemake.output[0],
        device=snakemake.params.device,
    )
