"""Rule fusion_seed: train one fusion model of a run with one seed."""

import _lib  # noqa: F401  (puts lib/ on sys.path)
from ahrec.evaluation.settings import EvaluationSettings
from ahrec.fusion.steps import SeedOutputs, train_fusion_seed
from ahrec.runtime import paths, rule_logging

run, output = snakemake.params.run, snakemake.output
with rule_logging(snakemake.log[0], snakemake.threads):
    best = paths(snakemake.input.best_params)
    train_fusion_seed(
        run["prototypes"],
        run["params"],
        int(snakemake.wildcards.seed),
        paths(snakemake.input.embeddings),
        snakemake.input.labels,
        SeedOutputs(output.predictions, output.selection, output.model),
        best_params=best[0] if best else None,
        device=snakemake.params.device,
        evaluation=EvaluationSettings(**snakemake.params.evaluation),
    )
