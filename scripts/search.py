"""Rule search: Optuna over a fusion run's hyperparameters (validation MF1 only)."""

import _lib  # noqa: F401  (puts lib/ on sys.path)
from ahrec.evaluation.settings import EvaluationSettings
from ahrec.fusion.params import FusionRun, SearchSpec
from ahrec.fusion.search import SearchOutputs, run_search
from ahrec.runtime import paths, rule_logging

params, output = snakemake.params, snakemake.output
with rule_logging(snakemake.log[0], snakemake.threads):
    search = SearchSpec.from_params(snakemake.wildcards.name, params.search)
    run_search(
        search,
        FusionRun.from_params(search.run, params.run),
        paths(snakemake.input.embeddings),
        snakemake.input.labels,
        SearchOutputs(params.storage, output.best, output.trials),
        EvaluationSettings(**params.evaluation),
        device=params.device,
        workers=snakemake.threads,
    )
