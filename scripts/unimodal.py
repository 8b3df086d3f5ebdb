"""Rule unimodal: train one unimodal model; predictions, embeddings, checkpoint."""

from pathlib import Path

import _lib  # noqa: F401  (puts lib/ on sys.path)
from ahrec.models.specs import parse_unimodal
from ahrec.runtime import paths, rule_logging
from ahrec.stages.unimodal import train_unimodal

params = snakemake.params
with rule_logging(snakemake.log[0], snakemake.threads):
    spec = parse_unimodal(snakemake.wildcards.model, params.spec, snakemake.config["embeddings"])
    train_unimodal(
        spec,
        paths(snakemake.input.sources),
        snakemake.input.labels,
        Path(snakemake.output.predictions).parent,
        oof_folds=params.evaluation["oof_folds"],
        align_alpha=params.evaluation["oof_align_alpha"],
        device=params.device,
    )
