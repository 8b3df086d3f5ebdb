"""Rule predict: the exported ensemble's A/H probability for every new video."""

import _lib  # noqa: F401  (puts lib/ on sys.path)
from ahrec.errors import ConfigError
from ahrec.predict.steps import predict_new_videos
from ahrec.runtime import paths, rule_logging

with rule_logging(snakemake.log[0], snakemake.threads):
    if snakemake.params.problem:  # the batch's ensemble cannot be used (found when planning)
        raise ConfigError(snakemake.params.problem)
    predict_new_videos(
        snakemake.input.ensemble,
        paths(snakemake.input.tables),
        snakemake.input.manifest,
        snakemake.output.predictions,
        device=snakemake.params.device,
        face_detection=(paths(snakemake.input.faces) or [None])[0],
        explanations=snakemake.output.explanations,
    )
