"""Rule fusion_seed: train one fusion model of a run with one seed."""

from pathlib import Path

import _lib  # noqa: F401  (puts lib/ on sys.path)
from ahrec.runtime import paths, rule_logging
from ahrec.stages.fusion import train_fusion_seed

run = snakemake.params.run
with rule_logging(snakemake.log[0], snakemake.threads):
    best = paths(snakemake.input.best_params)
    train_fusion_seed(
        run["prototypes"],
        run["params"],
        int(snakemake.wildcards.seed),
        paths(snakemake.input.embeddings),
        snakemake.input.labels,
        Path(snakemake.output.predictions).parent,
        best_params=best[0] if best else None,
        device=snakemake.params.device,
    )
