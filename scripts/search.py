"""Rule search: Optuna over a fusion run's hyperparameters (validation MF1 only)."""

import _lib  # noqa: F401  (puts lib/ on sys.path)
from ahrec.runtime import paths, rule_logging
from ahrec.stages.search import run_search

params = snakemake.params
with rule_logging(snakemake.log[0], snakemake.threads):
    run_search(
        snakemake.wildcards.name,
        params.run["prototypes"],
        params.run["params"],
        params.seeds,
        params.search["n_trials"],
        paths(snakemake.input.embeddings),
        snakemake.input.labels,
        params.storage,
        snakemake.output.best,
        snakemake.output.trials,
        sampler_seed=params.search["sampler_seed"],
        device=params.device,
    )
