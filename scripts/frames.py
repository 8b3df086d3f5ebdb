"""Rules scene_frames, face_frames: one modality's evenly spaced frames of a video."""

import _lib  # noqa: F401  (puts lib/ on sys.path)
from ahrec.media.steps import extract_frames
from ahrec.runtime import rule_logging

params = snakemake.params
with rule_logging(snakemake.log[0], snakemake.threads):
    extract_frames(
        snakemake.input.video,
        snakemake.wildcards.video,
        snakemake.output[0],
        n_frames=params.n_frames,
        jpeg_quality=params.jpeg_quality,
        short_side=params.short_side,
        max_side=params.max_side,
        n_frames_hint=params.n_frames_hint,
        problem=params.problem,
        max_seconds=params.max_seconds,
        fps=params.fps,
    )
