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
import pandas as pd
import yaml

from ahrec.evaluation.settings import EvaluationSettings
from ahrec.fusion.data import fusion_data
from ahrec.fusion.params import FusionParams
from ahrec.model_records import read_fusion_record
from ahrec.training.labels import read_labels
from ahrec.training.predictions import (
    complete_predictions,
    predictions_frame,
    proba_matrix,
    read_predictions,
    write_predictions,
)
from ahrec.training.selection import (
    heldout_step,
    refit_epochs,
    run_selection,
    selection_plan,
    selection_predictions,
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
    evaluation: EvaluationSettings | None = None,
) -> dict[str, Any]:
    """Train the run's fusion model with one seed; predict every video (the prior where none fuses).

    The selection protocol (``training/selection.py``) decides which videos
    fit and which stop the training: split selection trains on the training
    split, stopping early on validation; CV selection trains one model per
    participant-grouped fold of train + val, each stopping early on its
    held-out fold and predicting it, then refits on train + val for the
    median of the folds' best epochs. Only videos with at least one modality
    take part.
    """
    from ahrec.device import select_device
    from ahrec.fusion.model import predict_fusion, save_fusion_model, train_fusion

    evaluation = evaluation or EvaluationSettings()
    torch_device = select_device(device)
    hyper = resolve_params(params, best_params)
    labels = read_labels(labels_path)
    data = fusion_data(embedding_tables, labels, hyper.reads)
    fusable = data.mask.any(axis=1)
    index = {v: i for i, v in enumerate(data.video_ids)}
    plan = selection_plan(
        labels, evaluation, usable={v for v, f in zip(data.video_ids, fusable, strict=True) if f}
    )
    LOG.info(
        "fusion (%s over %s) of %s (prototypes %s, seed %d): train %d, val %d, "
        "%d videos without any modality; selection: %s",
        hyper.method,
        hyper.reads,
        ", ".join(data.modalities),
        prototypes,
        seed,
        len(plan.train),
        len(plan.val),
        int((~fusable).sum()),
        evaluation.selection,
    )

    def items(ids: Sequence[str]) -> list[dict[str, Any]]:
        return data.items([index[v] for v in ids])

    def fit(fit_ids: list[str], stop_ids: list[str], settings: Any) -> tuple[Any, dict[str, Any]]:
        model, result = train_fusion(
            items(fit_ids),
            items(stop_ids),
            data.input_dims,
            settings or hyper,
            prototypes,
            seed,
            torch_device,
        )
        if hyper.late:
            from ahrec.fusion.late import late_summary

            return model, late_summary(model, result.best_val_mf1)
        return model, {
            "best_epoch": result.best_epoch,
            "best_val_mf1": result.best_val_mf1,
            "history": result.history,
        }

    selected = run_selection(
        plan,
        fit,
        heldout_step(fit, lambda model, ids: predict_fusion(model, items(ids), torch_device)),
        lambda summaries: refit_epochs(hyper, summaries),
    )
    summary: dict[str, Any] = {
        "seed": seed,
        "modalities": data.modalities,
        "prototypes": prototypes,
    }
    if plan.cv:
        summary["cv"] = {
            "folds": [fold.record(("best_epoch", "best_val_mf1")) for fold in selected.folds],
            "refit_epochs": selected.refit.epochs,
        }
    if hyper.late:
        summary.update(weights=selected.summary["weights"], bias=selected.summary["bias"])
    rows = [i for i in range(len(data.video_ids)) if fusable[i]]
    proba = predict_fusion(selected.model, data.items(rows), torch_device) if rows else []
    prior = plan.prior()
    write_predictions(
        selection_predictions(
            data.video_ids,
            data.splits,
            fusable,
            {data.video_ids[row]: p for row, p in zip(rows, proba, strict=True)},
            selected.folds,
            prior,
        ),
        outputs.predictions,
    )
    save_fusion_model(selected.model, Path(outputs.model), data.input_dims, hyper, prototypes)
    result = selected.summary
    summary.update(
        prior=[float(p) for p in prior],
        params=dataclasses.asdict(hyper),
        best_epoch=result["best_epoch"],
        best_val_mf1=result["best_val_mf1"],
        history=result["history"],
    )
    Path(outputs.selection).write_text(json.dumps(summary, indent=2) + "\n")
    LOG.info("best epoch %d, validation MF1 %s", result["best_epoch"], result["best_val_mf1"])
    return summary


def predict_fusion_seed(
    embedding_tables: Sequence[str | Path],
    fit: SeedOutputs,
    manifest_path: str | Path,
    out: str | Path,
    device: str = "auto",
) -> pd.DataFrame:
    """Every video's prediction by one seed: its training job's rows, the saved model's for the rest.

    ``embedding_tables`` are the unimodal models' tables of every video;
    ``fit`` names what the training job wrote (its predictions of the training
    videos, its selection with the prior, its model). Adding a test video
    reruns this job, never the training.
    """
    from ahrec.corpus.manifest import read_manifest
    from ahrec.device import select_device
    from ahrec.fusion.model import load_fusion_model, predict_fusion

    fit_predictions = read_predictions(fit.predictions)
    prior = json.loads(Path(fit.selection).read_text())["prior"]
    videos = read_manifest(manifest_path)[["video_id", "split"]]
    trained = set(fit_predictions["video_id"])
    rest = videos.loc[~videos["video_id"].isin(trained)]
    reads = read_fusion_record(Path(fit.model)).params.reads
    data = fusion_data(embedding_tables, rest.assign(label=pd.NA), reads)
    rows = [i for i in range(len(data.video_ids)) if data.mask[i].any()]
    proba_of: dict[str, np.ndarray] = {}
    if rows:
        model = load_fusion_model(Path(fit.model), select_device(device))
        proba = predict_fusion(model, data.items(rows), select_device(device))
        proba_of = {data.video_ids[i]: p for i, p in zip(rows, proba, strict=True)}
    frame = complete_predictions(fit_predictions, videos, proba_of, prior)
    write_predictions(frame, out)
    LOG.info(
        "%d videos from training, %d predicted by the saved model (%d without any modality: prior)",
        len(trained),
        len(rest),
        len(rest) - len(rows),
    )
    return frame


def ensemble(seed_predictions: Sequence[str | Path], out: str | Path) -> None:
    """Average the seeds' class probabilities; the ensemble predicts the argmax."""
    from ahrec.fusion.model import average_probabilities

    frames = [read_predictions(p) for p in seed_predictions]
    ids, proba = average_probabilities([(list(f["video_id"]), proba_matrix(f)) for f in frames])
    first = frames[0].set_index("video_id").loc[ids]
    write_predictions(
        predictions_frame(
            ids,
            list(first["split"]),
            proba,
            first["available"].to_numpy(),
            ["ensemble"] * len(ids),
            first["fold"].to_numpy(),  # every seed shares the folds
        ),
        out,
    )
    LOG.info("ensemble of %d seeds over %d videos", len(frames), len(ids))
