"""Rule unimodal: train one unimodal model; the training videos' predictions and embeddings, the model."""

import _lib  # noqa: F401  (puts lib/ on sys.path)
from ahrec.evaluation.settings import EvaluationSettings
from ahrec.runtime import paths, rule_logging
from ahrec.unimodal.kinds import UnimodalSpec
from ahrec.unimodal.steps import UnimodalOutputs, train_unimodal

params, output = snakemake.params, snakemake.output
with rule_logging(snakemake.log[0], snakemake.threads):
    train_unimodal(
        UnimodalSpec.from_params(params.spec),
        paths(snakemake.input.sources),
        snakemake.input.labels,
        UnimodalOutputs(output.predictions, output.embeddings, output.selection, output.model),
        EvaluationSettings(**params.evaluation),
        device=params.device,
    )
