"""Steps: one fusion model per seed, and the ensemble of a run's seeds.

The fusion reads the embeddings the unimodal models wrote (out-of-fold for
the training videos). A modality a video lacks is masked; a video that lacks
every modality of the run gets the training prior and ``available = false``,
so every video still has a prediction.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from ahrec.fusion.data import load_fusion_data
from ahrec.fusion.params import FusionParams
from ahrec.training.labels import prior_proba
from ahrec.training.predictions import (
    predictions_frame,
    proba_matrix,
    read_predictions,
    write_predictions,
)

LOG = logging.getLogger(__name__)


def resolve_params(params: Mapping[str, Any], best_params: str | Path | None) -> FusionParams:
    """The run's hyperparameters, overlaid with a search's best ones when it names one."""
    values = dict(params)
    if best_params:
        found = yaml.safe_load(Path(best_params).read_text()) or {}
        values.update(found.get("params", found))
    return FusionParams(**values)


@dataclasses.dataclass(frozen=True)
class SeedOutputs:
    """Where one fusion seed's job writes: predictions, the selection summary, the model."""

    predictions: str | Path
    selection: str | Path
    model: str | Path

    @classmethod
    def under(cls, folder: str | Path) -> SeedOutputs:
        """The workflow's own names inside one folder (tests and benchmarks)."""
        folder = Path(folder)
        return cls(folder / "predictions.parquet", folder / "selection.json", folder / "model")


def train_fusion_seed(
    prototypes: bool,
    params: Mapping[str, Any],
    seed: int,
    embedding_tables: Sequence[str | Path],
    labels_path: str | Path,
    outputs: SeedOutputs,
    best_params: str | Path | None = None,
    device: str = "auto",
) -> dict[str, Any]:
    """Train the run's fusion model with one seed; predict every video (the prior where none fuses)."""
    from ahrec.device import select_device
    from ahrec.fusion.model import predict_fusion, save_fusion_model, train_fusion

    torch_device = select_device(device)
    hyper = resolve_params(params, best_params)
    data = load_fusion_data(embedding_tables, labels_path)
    fusable = data.mask.any(axis=1)
    train_rows = [
        i
        for i in range(len(data.video_ids))
        if data.splits[i] == "train" and data.labels[i] >= 0 and fusable[i]
    ]
    val_rows = [
        i
        for i in range(len(data.video_ids))
        if data.splits[i] == "val" and data.labels[i] >= 0 and fusable[i]
    ]
    LOG.info(
        "fusion of %s (prototypes %s, seed %d): train %d, val %d, %d videos without any modality",
        ", ".join(data.modalities),
        prototypes,
        seed,
        len(train_rows),
        len(val_rows),
        int((~fusable).sum()),
    )
    model, result = train_fusion(
        data.items(train_rows),
        data.items(val_rows),
        data.input_dims,
        hyper,
        prototypes,
        seed,
        torch_device,
    )
    rows = [i for i in range(len(data.video_ids)) if fusable[i]]
    proba = np.tile(prior_proba([data.labels[i] for i in train_rows]), (len(data.video_ids), 1))
    if rows:
        proba[rows] = predict_fusion(model, data.items(rows), torch_device)
    write_predictions(
        predictions_frame(
            data.video_ids,
            data.splits,
            proba,
            fusable,
            ["model" if f else "prior" for f in fusable],
        ),
        outputs.predictions,
    )
    save_fusion_model(model, Path(outputs.model), data.input_dims, hyper, prototypes)
    summary = {
        "seed": seed,
        "modalities": data.modalities,
        "prototypes": prototypes,
        "params": dataclasses.asdict(hyper),
        "best_epoch": result.best_epoch,
        "best_val_mf1": result.best_val_mf1,
        "history": result.history,
    }
    Path(outputs.selection).write_text(json.dumps(summary, indent=2) + "\n")
    LOG.info("best epoch %d, validation MF1 %s", result.best_epoch, result.best_val_mf1)
    return summary


def ensemble(seed_predictions: Sequence[str | Path], out: str | Path) -> None:
    """Average the seeds' class probabilities; the ensemble predicts the argmax."""
    from ahrec.fusion.model import average_probabilities

    frames = [read_predictions(p) for p in seed_predictions]
    ids, proba = average_probabilities([(list(f["video_id"]), proba_matrix(f)) for f in frames])
    first = frames[0].set_index("video_id").loc[ids]
    write_predictions(
        predictions_frame(
            ids, list(first["split"]), proba, first["available"].to_numpy(), ["ensemble"] * len(ids)
        ),
        out,
    )
    LOG.info("ensemble of %d seeds over %d videos", len(frames), len(ids))
