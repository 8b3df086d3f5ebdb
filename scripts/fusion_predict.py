"""Rule fusion_predict: one seed's saved fusion model predicts the videos its training did not."""

import _lib  # noqa: F401  (puts lib/ on sys.path)
from ahrec.fusion.steps import SeedOutputs, predict_fusion_seed
from ahrec.runtime import paths, rule_logging

inputs = snakemake.input
with rule_logging(snakemake.log[0], snakemake.threads):
    predict_fusion_seed(
        paths(inputs.embeddings),
        SeedOutputs(inputs.fit_predictions, inputs.selection, inputs.model),
        inputs.manifest,
        snakemake.output[0],
        device=snakemake.params.device,
    )
