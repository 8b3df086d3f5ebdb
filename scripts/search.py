"""Rule search: Optuna over a fusion run's hyperparameters (validation MF1 only)."""

import _lib  # noqa: F401  (puts lib/ on sys.path)
from ahrec.evaluation.settings import EvaluationSettings
from ahrec.fusion.params import SearchSpec
from ahrec.fusion.search import run_search
from ahrec.runtime import paths, rule_logging

params = snakemake.params
with rule_logging(snakemake.log[0], snakemake.threads):
    run_search(
        snakemake.wildcards.name,
        params.run["prototypes"],
        params.run["params"],
        SearchSpec.space_from_params(params.search["space"]),
        params.search["seeds"],
        params.search["n_trials"],
        paths(snakemake.input.embeddings),
        snakemake.input.labels,
        params.storage,
        snakemake.output.best,
        snakemake.output.trials,
        sampler_seed=params.search["sampler_seed"],
        multivariate=params.search.get("multivariate", True),
        device=params.device,
        evaluation=EvaluationSettings(**params.evaluation),
        workers=snakemake.threads,
    )
