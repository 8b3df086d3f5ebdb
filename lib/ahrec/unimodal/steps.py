"""Step: train one unimodal model; write its predictions, embeddings and checkpoint.

The full model trains on the training split (early stopping on validation)
and predicts and embeds every video. With out-of-fold embeddings on (the
default), the training videos' embeddings and predictions come instead from
fold models that never saw them, mapped into the full model's embedding
space, so the fusion trains on honest inputs.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ahrec.embeddings.table import EmbeddingRow, write_embeddings
from ahrec.training.labels import participant_folds, prior_proba, read_labels, ridge_map
from ahrec.training.predictions import predictions_frame, write_predictions
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
    oof_folds: int = 5,
    align_alpha: float | None = 1.0,
    device: str = "auto",
) -> dict[str, Any]:
    """Fit, predict, embed; returns the selection summary (also written as selection.json)."""
    from ahrec.device import select_device
    from ahrec.unimodal.base import build_unimodal

    torch_device = select_device(device)
    labels = read_labels(labels_path)
    known = labels[labels["label"].notna()]
    label_of = dict(zip(known["video_id"], known["label"].astype(int), strict=True))
    inputs, reasons, input_dim = load_inputs(spec.input, sources)
    split_of = dict(zip(labels["video_id"], labels["split"], strict=True))
    train_ids = sorted(known.loc[known["split"] == "train", "video_id"])
    val_ids = sorted(known.loc[known["split"] == "val", "video_id"])
    all_ids = sorted(labels["video_id"])
    LOG.info(
        "%s (%s, %s): %d/%d videos have input; train %d, val %d",
        spec.name,
        spec.modality,
        spec.kind,
        len(inputs),
        len(all_ids),
        len(train_ids),
        len(val_ids),
    )

    def new_model() -> Any:
        return build_unimodal(spec.kind, spec.options, input_dim, torch_device)

    train_classes = {label_of[v] for v in train_ids if v in inputs}
    if len(train_classes) < 2:
        raise ValueError(
            f"{spec.name}: the training videos with {spec.modality} input hold "
            f"{'no labels' if not train_classes else 'one class only'}; a classifier needs both"
        )
    model = new_model()
    summary: dict[str, Any] = {"name": spec.name, "kind": spec.kind, "modality": spec.modality}
    summary["full"] = model.fit(
        _items(train_ids, inputs, label_of), _items(val_ids, inputs, label_of)
    )
    available_ids = [v for v in all_ids if v in inputs]
    proba, embeddings = model.predict(_items(available_ids, inputs, label_of))
    position = {v: i for i, v in enumerate(available_ids)}
    proba_of = {v: proba[position[v]] for v in available_ids}
    emb_of = {v: embeddings[position[v]] for v in available_ids}
    source_of = {v: "model" for v in available_ids}

    folds = (
        participant_folds(labels, oof_folds, seed=getattr(spec.options, "seed", 0))
        if oof_folds
        else []
    )
    summary["folds"] = []
    for fold in folds:
        fit_items = _items(fold.fit_ids, inputs, label_of)
        if len({item["label"] for item in fit_items}) < 2:
            LOG.warning(
                "fold %d: its training part holds one class only; its %d held-out videos keep "
                "the full model's (in-sample) embeddings",
                fold.number,
                len(fold.heldout_ids),
            )
            summary["folds"].append({"fold": fold.number, "skipped": "one class"})
            continue
        fold_model = new_model()
        fold_summary = fold_model.fit(fit_items, _items(val_ids, inputs, label_of))
        heldout = [v for v in fold.heldout_ids if v in inputs]
        anchors = [v for v in fold.fit_ids + val_ids if v in inputs]
        fold_proba, fold_emb = fold_model.predict(_items(heldout + anchors, inputs, label_of))
        mapped = fold_emb[: len(heldout)]
        if align_alpha is not None and anchors:
            target = np.stack([emb_of[v] for v in anchors])
            mapped = ridge_map(fold_emb[len(heldout) :], target, align_alpha)(mapped)
        for i, video_id in enumerate(heldout):
            proba_of[video_id] = fold_proba[i]
            emb_of[video_id] = mapped[i]
            source_of[video_id] = "oof"
        summary["folds"].append(
            {"fold": fold.number, "heldout": len(heldout), **_brief(fold_summary)}
        )
        LOG.info(
            "fold %d: %d held-out training videos embedded out of fold", fold.number, len(heldout)
        )
    if oof_folds and not folds:
        LOG.warning("fewer than two training participants: training embeddings are in-sample")

    prior = prior_proba([label_of[v] for v in train_ids])
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
        "oof_folds": len(folds),
    }
    write_embeddings(outputs.embeddings, rows, int(model.embedding_dim), meta)
    model.save(Path(outputs.model))
    Path(outputs.selection).write_text(json.dumps(summary, indent=2, default=_json) + "\n")
    return summary


def _brief(fit_summary: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in fit_summary.items() if k != "history"}


def _json(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)
