"""Step: train one unimodal model; write its predictions, embeddings and checkpoint.

Two ways to select, one job (``evaluation.selection``):

* ``split``: the full model trains on the training split with early stopping
  (and grids) on the validation split, and predicts and embeds every video.
  With out-of-fold embeddings on (the default), the training videos'
  embeddings and predictions come instead from fold models that never saw
  them, so the fusion trains on honest inputs.
* ``cv``: participant-grouped folds over train + val. Each fold model trains
  on the other folds and selects (its epoch, its grid point) on its own
  held-out fold, which it then predicts and embeds; the selections are
  combined (``refit_spec``) and the final model is refit on train + val with
  them, and predicts the rest (test, hidden test).

Hidden layers of separately trained models live in different coordinate
systems, so each fold model's embeddings are mapped into the final model's
space by a ridge regression fitted on videos both embed (the fold's training
videos, and in split mode the validation videos: never a test video, never a
label). A model whose embedding uses no label (``label_free_embedding``: the
TF-IDF vector) keeps the final model's embedding for every video; only its
predictions come out of fold.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ahrec.embeddings.table import EmbeddingRow, write_embeddings
from ahrec.evaluation.settings import EvaluationSettings
from ahrec.training.labels import Fold, participant_folds, prior_proba, read_labels, ridge_map
from ahrec.training.predictions import (
    complete_predictions,
    predictions_frame,
    read_predictions,
    write_predictions,
)
from ahrec.unimodal.inputs import load_inputs
from ahrec.unimodal.kinds import UnimodalSpec

LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class UnimodalOutputs:
    """Where a unimodal job writes: per-video predictions and embeddings, the selection, the model."""

    predictions: str | Path
    embeddings: str | Path
    selection: str | Path
    model: str | Path

    @classmethod
    def under(cls, folder: str | Path) -> UnimodalOutputs:
        """The workflow's own names inside one folder (tests and benchmarks)."""
        folder = Path(folder)
        return cls(
            folder / "predictions.parquet",
            folder / "embeddings.parquet",
            folder / "selection.json",
            folder / "model",
        )


def _items(
    ids: Sequence[str], inputs: Mapping[str, dict[str, Any]], labels: Mapping[str, int]
) -> list[dict[str, Any]]:
    return [{"video_id": v, "label": labels.get(v, -1), **inputs[v]} for v in ids if v in inputs]


def train_unimodal(
    spec: UnimodalSpec,
    sources: Sequence[str | Path],
    labels_path: str | Path,
    outputs: UnimodalOutputs,
    evaluation: EvaluationSettings | None = None,
    device: str = "auto",
) -> dict[str, Any]:
    """Fit, predict, embed; returns the selection summary (also written as selection.json)."""
    from ahrec.device import select_device
    from ahrec.unimodal.base import build_unimodal, model_class

    evaluation = evaluation or EvaluationSettings()
    torch_device = select_device(device)
    labels = read_labels(labels_path)
    known = labels[labels["label"].notna()]
    label_of = dict(zip(known["video_id"], known["label"].astype(int), strict=True))
    inputs, reasons, input_dim = load_inputs(spec.input, sources)
    split_of = dict(zip(labels["video_id"], labels["split"], strict=True))
    train_ids = sorted(known.loc[known["split"] == "train", "video_id"])
    val_ids = sorted(known.loc[known["split"] == "val", "video_id"])
    pool_ids = sorted(train_ids + val_ids) if evaluation.cv else train_ids
    all_ids = sorted(labels["video_id"])
    LOG.info(
        "%s (%s, %s): %d/%d videos have input; train %d, val %d; selection: %s",
        spec.name,
        spec.modality,
        spec.kind,
        len(inputs),
        len(all_ids),
        len(train_ids),
        len(val_ids),
        evaluation.selection,
    )
    pool_classes = {label_of[v] for v in pool_ids if v in inputs}
    if len(pool_classes) < 2:
        raise ValueError(
            f"{spec.name}: the training videos with {spec.modality} input hold "
            f"{'no labels' if not pool_classes else 'one class only'}; a classifier needs both"
        )

    def new_model(options: Any = None) -> Any:
        return build_unimodal(spec.kind, options or spec.options, input_dim, torch_device)

    def items(ids: Sequence[str]) -> list[dict[str, Any]]:
        return _items(ids, inputs, label_of)

    summary: dict[str, Any] = {
        "name": spec.name,
        "kind": spec.kind,
        "modality": spec.modality,
        "selection": evaluation.selection,
    }
    folds = (
        participant_folds(
            labels,
            evaluation.folds,
            evaluation.fold_seed,
            ("train", "val") if evaluation.cv else ("train",),
        )
        if evaluation.folds
        else []
    )
    if evaluation.cv:
        if not folds:
            raise ValueError(
                f"{spec.name}: cross-validation needs at least two participants in train + val"
            )
        fold_runs = _run_folds(folds, items, new_model, lambda fold: fold.heldout_ids, [])
        refit = model_class(spec.kind).refit_spec(
            spec.options, [run.summary for run in fold_runs if run.summary is not None]
        )
        model = new_model(refit)
        summary["full"] = model.fit(items(pool_ids), [])
        summary["refit"] = {k: v for k, v in vars(refit).items() if v != getattr(spec.options, k)}
    else:
        model = new_model()
        summary["full"] = model.fit(items(train_ids), items(val_ids))
        fold_runs = _run_folds(folds, items, new_model, lambda fold: val_ids, val_ids)
    if evaluation.folds and not folds:
        LOG.warning("fewer than two training participants: training embeddings are in-sample")

    available_ids = [v for v in all_ids if v in inputs]
    proba, embeddings = model.predict(items(available_ids))
    position = {v: i for i, v in enumerate(available_ids)}
    proba_of = {v: proba[position[v]] for v in available_ids}
    final_emb = {v: embeddings[position[v]] for v in available_ids}
    emb_of = dict(final_emb)
    source_of = {v: "model" for v in available_ids}
    fold_of: dict[str, int] = {}
    summary["folds"] = []
    label_free = bool(getattr(model, "label_free_embedding", False))
    if label_free and fold_runs:
        LOG.info("%s: its embedding uses no label: every video keeps the final model's", spec.name)
    for run in fold_runs:
        summary["folds"].append(run.record())
        if run.summary is None:
            continue
        mapped = run.heldout_embeddings
        if not label_free and evaluation.align_alpha is not None and run.anchor_ids:
            # the final model's own embeddings: one space for every fold's mapping
            target = np.stack([final_emb[v] for v in run.anchor_ids])
            mapped = ridge_map(run.anchor_embeddings, target, evaluation.align_alpha)(mapped)
        for i, video_id in enumerate(run.heldout_ids):
            proba_of[video_id] = run.heldout_proba[i]
            if not label_free:
                emb_of[video_id] = mapped[i]
            source_of[video_id] = "oof"
            fold_of[video_id] = run.number

    prior = prior_proba([label_of[v] for v in pool_ids])
    summary["prior"] = [float(p) for p in prior]
    rows_proba = (
        np.stack([proba_of.get(v, prior) for v in all_ids]) if all_ids else np.zeros((0, 2))
    )
    write_predictions(
        predictions_frame(
            all_ids,
            [split_of[v] for v in all_ids],
            rows_proba,
            np.array([v in inputs for v in all_ids]),
            [source_of.get(v, "prior") for v in all_ids],
            [fold_of.get(v, -1) for v in all_ids],
        ),
        outputs.predictions,
    )
    rows = [
        EmbeddingRow(v, emb_of[v])
        if v in emb_of
        else EmbeddingRow.missing(v, reasons.get(v, "no input"))
        for v in all_ids
    ]
    meta = {
        "modality": spec.modality,
        "model": spec.name,
        "kind": spec.kind,
        "oof_folds": sum(run.summary is not None for run in fold_runs),
        "selection": evaluation.selection,
    }
    write_embeddings(outputs.embeddings, rows, int(model.embedding_dim), meta)
    model.save(Path(outputs.model))
    Path(outputs.selection).write_text(json.dumps(summary, indent=2, default=_json) + "\n")
    return summary


def predict_unimodal(
    spec: UnimodalSpec,
    sources: Sequence[str | Path],
    fit: UnimodalOutputs,
    manifest_path: str | Path,
    predictions_out: str | Path,
    embeddings_out: str | Path,
    device: str = "auto",
) -> pd.DataFrame:
    """Every video's prediction and embedding: the training job's rows, the saved model's for the rest.

    ``fit`` names what the training job wrote (its predictions and embeddings
    of the training videos, its selection with the prior, its model). The
    videos of the manifest it has no row for (test, hidden test) are
    predicted here, so adding one reruns this job and never the training.
    """
    from ahrec.corpus.manifest import read_manifest
    from ahrec.device import select_device
    from ahrec.embeddings.table import read_embeddings
    from ahrec.unimodal.base import load_unimodal

    fit_predictions = read_predictions(fit.predictions)
    fit_table = read_embeddings(fit.embeddings)
    prior = json.loads(Path(fit.selection).read_text())["prior"]
    videos = read_manifest(manifest_path)[["video_id", "split"]]
    trained = set(fit_predictions["video_id"])
    rest = sorted(v for v in videos["video_id"] if v not in trained)
    inputs, reasons, _ = load_inputs(spec.input, sources)
    present = [v for v in rest if v in inputs]
    proba_of: dict[str, np.ndarray] = {}
    emb_of: dict[str, np.ndarray] = {}
    if present:
        model = load_unimodal(Path(fit.model), select_device(device))
        proba, embeddings = model.predict(_items(present, inputs, {}))
        proba_of = dict(zip(present, proba, strict=True))
        emb_of = dict(zip(present, embeddings, strict=True))
    frame = complete_predictions(fit_predictions, videos, proba_of, prior)
    write_predictions(frame, predictions_out)
    rows = [
        EmbeddingRow(v, fit_table.vectors[i])
        if fit_table.available[i]
        else EmbeddingRow.missing(v, fit_table.reasons[i] or "no input")
        for i, v in enumerate(fit_table.video_ids)
    ]
    rows += [
        EmbeddingRow(v, emb_of[v])
        if v in emb_of
        else EmbeddingRow.missing(v, reasons.get(v, "no input"))
        for v in rest
    ]
    rows.sort(key=lambda row: row.video_id)
    write_embeddings(embeddings_out, rows, fit_table.dim, fit_table.meta)
    LOG.info(
        "%s: %d videos from training, %d predicted by the saved model (%d without input: prior)",
        spec.name,
        len(trained),
        len(rest),
        len(rest) - len(present),
    )
    return frame


@dataclass
class FoldRun:
    """What one fold model did: its selection, and its outputs on held-out and anchor videos."""

    number: int
    heldout_ids: list[str]
    anchor_ids: list[str]
    summary: dict[str, Any] | None = None
    heldout_proba: np.ndarray | None = None
    heldout_embeddings: np.ndarray | None = None
    anchor_embeddings: np.ndarray | None = None
    skipped: str | None = None

    def record(self) -> dict[str, Any]:
        if self.summary is None:
            return {"fold": self.number, "skipped": self.skipped}
        return {"fold": self.number, "heldout": len(self.heldout_ids), **_brief(self.summary)}


def _run_folds(
    folds: Sequence[Fold],
    items: Any,
    new_model: Any,
    validation_of: Any,
    extra_anchors: Sequence[str],
) -> list[FoldRun]:
    """Train one model per fold; each embeds its held-out videos and its anchors.

    ``validation_of(fold)`` is what the fold model selects on: the validation
    split (split mode) or its own held-out fold (cv). Anchors are the videos
    both it and the final model embed: its training videos (and
    ``extra_anchors``, the validation videos in split mode).
    """
    runs = []
    for fold in folds:
        heldout = [item["video_id"] for item in items(fold.heldout_ids)]
        anchors = [item["video_id"] for item in items(list(fold.fit_ids) + list(extra_anchors))]
        run = FoldRun(fold.number, heldout, anchors)
        fit_items = items(fold.fit_ids)
        if len({item["label"] for item in fit_items}) < 2:
            LOG.warning(
                "fold %d: its training part holds one class only; its %d held-out videos keep "
                "the final model's (in-sample) embeddings",
                fold.number,
                len(heldout),
            )
            run.skipped = "one class"
            runs.append(run)
            continue
        model = new_model()
        run.summary = model.fit(fit_items, items(validation_of(fold)))
        proba, embeddings = model.predict(items(heldout + anchors))
        run.heldout_proba, run.heldout_embeddings = (
            proba[: len(heldout)],
            embeddings[: len(heldout)],
        )
        run.anchor_embeddings = embeddings[len(heldout) :]
        runs.append(run)
        LOG.info("fold %d: %d held-out videos embedded out of fold", fold.number, len(heldout))
    return runs


def _brief(fit_summary: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in fit_summary.items() if k != "history"}


def _json(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)
