"""Rules scene_frames, face_frames: one modality's evenly spaced frames of a shard's videos."""

import _lib  # noqa: F401  (puts lib/ on sys.path)
from ahrec.media.steps import extract_frames_shard
from ahrec.runtime import rule_logging

params = snakemake.params
with rule_logging(snakemake.log[0], snakemake.threads):
    extract_frames_shard(
        params.videos,
        params.out_dir,
        snakemake.output[0],
        n_frames=params.n_frames,
        jpeg_quality=params.jpeg_quality,
        short_side=params.short_side,
        max_side=params.max_side,
        max_seconds=params.max_seconds,
        threads=snakemake.threads,
        extract_again=params.extract_again,
    )
