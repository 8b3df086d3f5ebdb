"""Rule unimodal_predict: the saved model predicts the videos its training job did not."""

import _lib  # noqa: F401  (puts lib/ on sys.path)
from ahrec.runtime import paths, rule_logging
from ahrec.unimodal.kinds import UnimodalSpec
from ahrec.unimodal.steps import UnimodalOutputs, predict_unimodal

inputs, output = snakemake.input, snakemake.output
with rule_logging(snakemake.log[0], snakemake.threads):
    predict_unimodal(
        UnimodalSpec.from_params(snakemake.params.spec),
        paths(inputs.sources),
        UnimodalOutputs(
            inputs.fit_predictions, inputs.fit_embeddings, inputs.selection, inputs.model
        ),
        inputs.manifest,
        output.predictions,
        output.embeddings,
        device=snakemake.params.device,
    )
