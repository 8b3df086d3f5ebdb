"""The selection protocol every trained model of the method follows: which videos fit, which select.

One module decides, for the unimodal models, the fusion seeds and the search
alike (``evaluation.selection``):

* ``split``: the model fits on the training split and selects (early
  stopping, grids, the search's objective) on the validation split. Asked for
  out-of-fold outputs (the unimodal models, ``evaluation.folds``), fold models
  fit on participant-grouped folds of the training split, each still selecting
  on the validation split, and predict the fold they did not see.
* ``cv``: participant-grouped folds over train + val. Each fold model fits on
  the other folds and selects on its own held-out fold, which it predicts (the
  out-of-fold predictions); the final model is refit on train + val (the
  pool) with the folds' selections combined (``refit``: the median of their
  best epochs for a trained network, ``median_epochs``).

The prior (the prediction for a video the model has no input for) is the
class frequencies of the pool: the training split, or train + val under CV.
Every model and seed of a run shares the participant-to-fold assignment
(``training/labels.py: participant_folds``). The callers keep only what is
theirs: what a fit is, what it predicts, and what else it writes.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import numpy as np
import pandas as pd

from ahrec.evaluation.settings import EvaluationSettings
from ahrec.training.labels import Fold, participant_folds, prior_proba
from ahrec.training.predictions import predictions_frame

LOG = logging.getLogger(__name__)

Model = TypeVar("Model")


@dataclass(frozen=True)
class SelectionPlan:
    """The videos each fit of one model sees: training, validation, the folds, the pool.

    Every list holds video ids in sorted order (the order fits see them in).
    """

    cv: bool
    train: list[str]  # labelled training videos
    val: list[str]  # labelled validation videos
    folds: tuple[Fold, ...]  # CV folds (cv), or out-of-fold folds of train (split)
    label_of: Mapping[str, int]  # the label of every video above

    @property
    def pool(self) -> list[str]:
        """What the final model fits on under CV and what the prior counts: train (+ val)."""
        return sorted(self.train + self.val) if self.cv else self.train

    def final(self) -> tuple[list[str], list[str]]:
        """(fit, select) of the final model: (train, val), or (pool, nothing) refit under CV."""
        return (self.pool, []) if self.cv else (self.train, self.val)

    def select_of(self, fold: Fold) -> list[str]:
        """What a fold model selects on: its own held-out fold (cv), the validation split (split)."""
        return list(fold.heldout_ids) if self.cv else self.val

    def scored(self) -> list[tuple[list[str], list[str]]]:
        """The (fit, select) pairs whose selection scores measure a setting (the search's objective).

        The validation split (split), or each CV fold's held-out part (cv).
        """
        if self.cv:
            return [(list(fold.fit_ids), list(fold.heldout_ids)) for fold in self.folds]
        return [(self.train, self.val)]

    def prior(self) -> np.ndarray:
        """The class frequencies of the pool: the prediction where a model has no input."""
        return prior_proba([self.label_of[v] for v in self.pool])


def selection_plan(
    labels: pd.DataFrame,
    evaluation: EvaluationSettings,
    out_of_fold: bool = False,
    usable: Collection[str] | None = None,
) -> SelectionPlan:
    """The plan of one model from the training labels (video_id, split, participant, label).

    ``out_of_fold``: in split mode too, folds of the training split whose
    models predict the videos they did not see (``evaluation.folds``; 0: none).
    ``usable``: the videos the model can take at all (the fusion's: those with
    at least one modality); the folds are drawn over every labelled video
    first, so that every model of a run shares them, then reduced to these.
    Without it the caller's fits skip what they cannot take themselves.
    """
    known = labels[labels["label"].notna()]

    def keep(ids: Iterable[str]) -> list[str]:
        return sorted(v for v in ids if usable is None or v in usable)

    if evaluation.cv:
        splits: tuple[str, ...] | None = ("train", "val")
    elif out_of_fold and evaluation.folds:
        splits = ("train",)
    else:
        splits = None
    folds = (
        participant_folds(labels, evaluation.folds, evaluation.fold_seed, splits) if splits else []
    )
    if evaluation.cv and not folds:
        raise ValueError(
            "evaluation.selection: cv needs labelled videos of at least two participants in "
            f"train + val, these training labels have {known['participant'].nunique()}; "
            "select on the validation split instead (selection: split)"
        )
    if splits and not folds:
        LOG.warning("fewer than two training participants: training embeddings are in-sample")
    if usable is not None:
        folds = [Fold(fold.number, keep(fold.fit_ids), keep(fold.heldout_ids)) for fold in folds]
    return SelectionPlan(
        cv=evaluation.cv,
        train=keep(known.loc[known["split"] == "train", "video_id"]),
        val=keep(known.loc[known["split"] == "val", "video_id"]),
        folds=tuple(folds),
        label_of=dict(zip(known["video_id"], known["label"].astype(int), strict=True)),
    )


@dataclass
class HeldOut:
    """What one fold model gave: its selection summary and its predictions of the held-out videos.

    ``summary`` is None for a fold that was not fitted (``skipped`` says why);
    its held-out videos then keep the final model's predictions. ``extra``
    carries what else the caller's fold step kept (embeddings...).
    """

    fold: int
    ids: list[str]
    proba: np.ndarray | None = None
    summary: Mapping[str, Any] | None = None
    skipped: str | None = None
    extra: Any = None

    def record(self, keys: Sequence[str] | None = None) -> dict[str, Any]:
        """The fold's entry in a selection.json: why it was skipped, or its selection
        (``keys`` of its summary; without them, its size and every entry but the history)."""
        if self.summary is None:
            return {"fold": self.fold, "skipped": self.skipped}
        if keys is not None:
            return {"fold": self.fold, **{key: self.summary[key] for key in keys}}
        brief = {k: v for k, v in self.summary.items() if k != "history"}
        return {"fold": self.fold, "heldout": len(self.ids), **brief}


@dataclass
class Selected(Generic[Model]):
    """The outcome of the protocol: the final model, its fit's summary, the folds' outputs."""

    model: Model
    summary: Any
    folds: list[HeldOut]
    refit: Any = None  # the settings the final model was refit with (cv), else None

    def fitted_folds(self) -> list[HeldOut]:
        return [fold for fold in self.folds if fold.summary is not None]


# fit(fit ids, select ids, settings or None for the model's own) -> (model, summary)
FitStep = Callable[[list[str], list[str], Any], tuple[Model, Any]]
# fold_step(fold, select ids) -> the fold model's held-out outputs
FoldStep = Callable[[Fold, list[str]], HeldOut]


def heldout_step(fit: FitStep[Any], predict: Callable[[Any, list[str]], np.ndarray]) -> FoldStep:
    """The usual fold step: fit on the fold's fit part, select on ``select``, predict its held-out part.

    ``fit`` returns (model, summary) with the summary a mapping that holds at
    least ``best_epoch`` (what ``refit_epochs`` reads).
    """

    def step(fold: Fold, select: list[str]) -> HeldOut:
        model, summary = fit(list(fold.fit_ids), select, None)
        heldout = list(fold.heldout_ids)
        proba = predict(model, heldout) if heldout else np.zeros((0, 2), np.float32)
        return HeldOut(fold.number, heldout, proba, summary)

    return step


def refit_epochs(settings: Any, summaries: Sequence[Mapping[str, Any]]) -> Any:
    """``settings`` with ``epochs`` the median of the folds' best epochs (no early stopping left)."""
    from ahrec.training.loop import median_epochs  # torch: only where a network trains

    return dataclasses.replace(settings, epochs=median_epochs(summaries, settings.epochs))


def run_selection(
    plan: SelectionPlan,
    fit: FitStep[Model],
    fold_step: FoldStep,
    refit: Callable[[list[Mapping[str, Any]]], Any],
) -> Selected[Model]:
    """Fit the folds and the final model in the protocol's order; return all they gave.

    Split: the final model fits on train selecting on val, then each
    out-of-fold model (if any) fits and predicts its held-out fold. CV: each
    fold model fits and selects on its held-out fold, then ``refit`` turns
    the fitted folds' summaries into the settings the final model is refit
    with on the pool.
    """
    fit_ids, select_ids = plan.final()
    if not plan.cv:
        model, summary = fit(fit_ids, select_ids, None)
        folds = [fold_step(fold, plan.select_of(fold)) for fold in plan.folds]
        return Selected(model, summary, folds)
    folds = [fold_step(fold, plan.select_of(fold)) for fold in plan.folds]
    settings = refit([fold.summary for fold in folds if fold.summary is not None])
    model, summary = fit(fit_ids, select_ids, settings)
    return Selected(model, summary, folds, settings)


def selection_predictions(
    video_ids: Sequence[str],
    splits: Sequence[str],
    available: Sequence[bool] | np.ndarray,
    proba_of: Mapping[str, np.ndarray],
    folds: Sequence[HeldOut],
    prior: np.ndarray,
) -> pd.DataFrame:
    """One row per video: out of fold where a fold model held it out, the final model's where
    it has input (``proba_of``), the prior elsewhere; with its source and fold columns."""
    proba = dict(proba_of)
    source = dict.fromkeys(proba_of, "model")
    fold_of: dict[str, int] = {}
    for fold in folds:
        if fold.proba is None:
            continue
        for i, video_id in enumerate(fold.ids):
            proba[video_id] = fold.proba[i]
            source[video_id] = "oof"
            fold_of[video_id] = fold.fold
    rows = np.stack([proba.get(v, prior) for v in video_ids]) if video_ids else np.zeros((0, 2))
    return predictions_frame(
        list(video_ids),
        list(splits),
        rows,
        np.asarray(available, dtype=bool),
        [source.get(v, "prior") for v in video_ids],
        [fold_of.get(v, -1) for v in video_ids],
    )
