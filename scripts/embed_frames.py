"""Rules embed_scene, embed_face: one shard's frames -> an embedding table."""

import _lib  # noqa: F401  (puts lib/ on sys.path)
from ahrec.runtime import paths, rule_logging
from ahrec.stages.embeddings import embed_frames_shard, spec_from_params

modality = "scene" if snakemake.rule == "embed_scene" else "face"
with rule_logging(snakemake.log[0], snakemake.threads):
    embed_frames_shard(
        spec_from_params(modality, snakemake.wildcards.encoder, snakemake.params.spec),
        paths(snakemake.input.frames),
        snakemake.output[0],
        device=snakemake.params.device,
        n_frames=snakemake.params.n_frames,
    )
