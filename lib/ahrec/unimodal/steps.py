"""Step: train one unimodal model; write its predictions, embeddings and checkpoint.

Two ways to select, one job (``evaluation.selection``; which videos fit, select
and are held out is the protocol of ``training/selection.py``):

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
from ahrec.training.labels import Fold, read_labels, ridge_map
from ahrec.training.predictions import (
    complete_predictions,
    read_predictions,
    write_predictions,
)
from ahrec.training.selection import HeldOut, run_selection, selection_plan, selection_predictions
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
    """Fit, predict, embed; returns the selection summary (also written as selection.json).

    Which videos fit, select and are predicted out of fold is the selection
    protocol's (``training/selection.py``); this step adds the embeddings:
    each fold model's are mapped into the final model's space.
    """
    from ahrec.device import select_device
    from ahrec.unimodal.base import build_unimodal, model_class

    evaluation = evaluation or EvaluationSettings()
    torch_device = select_device(device)
    labels = read_labels(labels_path)
    inputs, reasons, input_dim = load_inputs(spec.input, sources)
    split_of = dict(zip(labels["video_id"], labels["split"], strict=True))
    all_ids = sorted(labels["video_id"])
    plan = selection_plan(labels, evaluation, out_of_fold=True)
    LOG.info(
        "%s (%s, %s): %d/%d videos have input; train %d, val %d; selection: %s",
        spec.name,
        spec.modality,
        spec.kind,
        len(inputs),
        len(all_ids),
        len(plan.train),
        len(plan.val),
        evaluation.selection,
    )
    pool_classes = {plan.label_of[v] for v in plan.pool if v in inputs}
    if len(pool_classes) < 2:
        raise ValueError(
            f"{spec.name}: the training videos with {spec.modality} input hold "
            f"{'no labels' if not pool_classes else 'one class only'}; a classifier needs both"
        )

    def items(ids: Sequence[str]) -> list[dict[str, Any]]:
        return _items(ids, inputs, plan.label_of)

    def fit(fit_ids: list[str], select_ids: list[str], options: Any) -> tuple[Any, Any]:
        model = build_unimodal(spec.kind, options or spec.options, input_dim, torch_device)
        return model, model.fit(items(fit_ids), items(select_ids))

    def fold_step(fold: Fold, select_ids: list[str]) -> HeldOut:
        """A fold model's held-out outputs, and its embeddings of the anchors: the videos
        both it and the final model fit or select on (its training part; in split
        mode the validation split too)."""
        heldout = [item["video_id"] for item in items(fold.heldout_ids)]
        anchor_ids = list(fold.fit_ids) + ([] if plan.cv else select_ids)
        anchors = [item["video_id"] for item in items(anchor_ids)]
        fit_items = items(fold.fit_ids)
        if len({item["label"] for item in fit_items}) < 2:
            LOG.warning(
                "fold %d: its training part holds one class only; its %d held-out videos keep "
                "the final model's (in-sample) embeddings",
                fold.number,
                len(heldout),
            )
            return HeldOut(fold.number, heldout, skipped="one class")
        model, summary = fit(list(fold.fit_ids), select_ids, None)
        proba, embeddings = model.predict(items(heldout + anchors))
        LOG.info("fold %d: %d held-out videos embedded out of fold", fold.number, len(heldout))
        return HeldOut(
            fold.number,
            heldout,
            proba[: len(heldout)],
            summary,
            extra=(embeddings[: len(heldout)], anchors, embeddings[len(heldout) :]),
        )

    selected = run_selection(
        plan,
        fit,
        fold_step,
        lambda summaries: model_class(spec.kind).refit_spec(spec.options, summaries),
    )
    model = selected.model
    summary: dict[str, Any] = {
        "name": spec.name,
        "kind": spec.kind,
        "modality": spec.modality,
        "selection": evaluation.selection,
        "full": selected.summary,
    }
    if plan.cv:
        summary["refit"] = {
            k: v for k, v in vars(selected.refit).items() if v != getattr(spec.options, k)
        }
    summary["folds"] = [fold.record() for fold in selected.folds]

    available_ids = [v for v in all_ids if v in inputs]
    proba, embeddings = model.predict(items(available_ids))
    final_emb = dict(zip(available_ids, embeddings, strict=True))
    emb_of = dict(final_emb)
    label_free = bool(getattr(model, "label_free_embedding", False))
    if label_free and selected.folds:
        LOG.info("%s: its embedding uses no label: every video keeps the final model's", spec.name)
    for fold in [] if label_free else selected.fitted_folds():
        mapped, anchor_ids, anchor_embeddings = fold.extra
        if evaluation.align_alpha is not None and anchor_ids:
            # the final model's own embeddings: one space for every fold's mapping
            target = np.stack([final_emb[v] for v in anchor_ids])
            mapped = ridge_map(anchor_embeddings, target, evaluation.align_alpha)(mapped)
        emb_of.update(zip(fold.ids, mapped, strict=True))

    prior = plan.prior()
    summary["prior"] = [float(p) for p in prior]
    frame = selection_predictions(
        all_ids,
        [split_of[v] for v in all_ids],
        [v in inputs for v in all_ids],
        dict(zip(available_ids, proba, strict=True)),
        selected.folds,
        prior,
    )
    write_predictions(frame, outputs.predictions)
    # the log-odds beside each embedding: the same (out-of-fold) model's call as the table's
    logodds_of = logodds_by_video(frame)
    rows = [
        EmbeddingRow(v, emb_of[v], logodds=logodds_of[v])
        if v in emb_of
        else EmbeddingRow.missing(v, reasons.get(v, "no input"))
        for v in all_ids
    ]
    meta = {
        "modality": spec.modality,
        "model": spec.name,
        "kind": spec.kind,
        "oof_folds": len(selected.fitted_folds()),
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
    from ahrec.unimodal.base import load_unimodal, predict_each

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
        proba, embeddings = predict_each(model, _items(present, inputs, {}))
        proba_of = dict(zip(present, proba, strict=True))
        emb_of = dict(zip(present, embeddings, strict=True))
    frame = complete_predictions(fit_predictions, videos, proba_of, prior)
    write_predictions(frame, predictions_out)
    logodds_of = logodds_by_video(frame)
    rows = [
        EmbeddingRow(v, fit_table.vectors[i], logodds=logodds_of[v])
        if fit_table.available[i]
        else EmbeddingRow.missing(v, fit_table.reasons[i] or "no input")
        for i, v in enumerate(fit_table.video_ids)
    ]
    rows += [
        EmbeddingRow(v, emb_of[v], logodds=logodds_of[v])
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


def logodds_by_video(frame: pd.DataFrame) -> dict[str, float]:
    """Each available video's log-odds of A/H, from a predictions table's probabilities.

    Computed in float64 from the stored float32 probability, so that the
    fusion reads exactly the call the predictions table records.
    """
    from ahrec.unimodal.base import logit

    rows = frame.loc[frame["available"].astype(bool)]
    values = logit(rows["proba_1"].to_numpy(dtype=np.float64))
    return dict(zip(rows["video_id"], (float(v) for v in values), strict=True))


def _json(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)
