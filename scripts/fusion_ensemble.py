"""Rule fusion_ensemble: average the class probabilities of a run's seeds."""

import _lib  # noqa: F401  (puts lib/ on sys.path)
from ahrec.fusion.steps import ensemble
from ahrec.runtime import paths, rule_logging

with rule_logging(snakemake.log[0], snakemake.threads):
    ensemble(paths(snakemake.input), snakemake.output[0])
