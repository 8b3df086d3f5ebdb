"""Rule frames: decode a video once; store scene and face frames."""

import _lib  # noqa: F401  (puts lib/ on sys.path)
from ahrec.runtime import rule_logging
from ahrec.stages.media import extract_frames

params = snakemake.params
with rule_logging(snakemake.log[0], snakemake.threads):
    extract_frames(
        snakemake.input.video,
        snakemake.wildcards.video,
        snakemake.output.scene,
        snakemake.output.face,
        scene_frames=params.scene["n_frames"],
        scene_short_side=params.scene["short_side"],
        face_frames=params.face_frames,
        face_max_side=params.max_side,
        jpeg_quality=params.jpeg_quality,
        n_frames_hint=params.n_frames_hint,
        problem=params.problem,
    )
