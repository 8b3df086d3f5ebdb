"""Rules embed_scene, embed_face: one shard's frames -> an embedding table."""

import _lib  # noqa: F401  (puts lib/ on sys.path)
from ahrec.embeddings.kinds import EncoderSpec
from ahrec.embeddings.steps import embed_frames_shard
from ahrec.media.shard import resolve_media
from ahrec.runtime import paths, rule_logging

with rule_logging(snakemake.log[0], snakemake.threads):
    embed_frames_shard(
        EncoderSpec.from_params(snakemake.params.spec),
        resolve_media(paths(snakemake.input.frames)),  # scene: the shard's index
        snakemake.output[0],
        device=snakemake.params.device,
    )
