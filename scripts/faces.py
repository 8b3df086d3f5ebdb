"""Rule faces: detect and crop the faces of one shard."""

import _lib  # noqa: F401  (puts lib/ on sys.path)
from ahrec.faces.steps import detect_faces_shard
from ahrec.media.shard import media_files
from ahrec.runtime import paths, rule_logging

params = snakemake.params
with rule_logging(snakemake.log[0], snakemake.threads):
    detect_faces_shard(
        media_files(paths(snakemake.input.frames)),
        snakemake.output.crops,
        snakemake.output.stats,
        detector=params.detector,
        crop_size=params.crop_size,
        jpeg_quality=params.jpeg_quality,
        device=params.device,
        no_face=params.no_face,
        select=params.select,
    )
