"""The challenge metric and its companions.

Macro F1 over the two classes on argmax predictions (sklearn's
``f1_score(average="macro")``), as the ABAW A/H challenge scores it.

Computed from the 2 x 2 confusion counts with numpy, to the bit what sklearn
computes (tested against it), once for a prediction and vectorised for the
bootstrap's resamples: every training loop scores its validation split once
per epoch, and importing scikit-learn cost each training job 0.8 s, more
than a demo fusion fit.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def macro_f1(labels: Sequence[int] | np.ndarray, predictions: Sequence[int] | np.ndarray) -> float:
    """Macro F1 over classes 0 and 1 (both counted even if one is absent)."""
    labels = np.asarray(labels, dtype=int)
    predictions = np.asarray(predictions, dtype=int)
    if labels.size == 0:
        return float("nan")
    return float(mf1_from_confusion(confusion(labels, predictions).ravel()))


def confusion(labels: np.ndarray, predictions: np.ndarray) -> np.ndarray:
    """The 2 x 2 confusion matrix, rows true class, columns predicted (sklearn's layout)."""
    labels = np.asarray(labels, dtype=int)
    predictions = np.asarray(predictions, dtype=int)
    outside = ~np.isin(labels, (0, 1)) | ~np.isin(predictions, (0, 1))
    if outside.any():
        raise ValueError("labels and predictions must be 0 or 1")
    return np.bincount(2 * labels + predictions, minlength=4).reshape(2, 2)


def mf1_from_confusion(confusion: np.ndarray) -> np.ndarray:
    """Macro F1 of confusion rows ``(..., 4)`` -> ``(...)``, vectorised.

    Exactly sklearn's ``f1_score(average="macro", labels=[0, 1],
    zero_division=0)``: per class ``F1 = 2 tp / (n_true + n_predicted)``, 0
    when the class is absent from both truth and prediction, and the unweighted
    mean of the two classes (an absent class still counts, with F1 0). NaN
    where a row has no videos at all: there is nothing to score.
    """
    c = np.asarray(confusion, dtype=np.float64)
    if c.ndim == 0 or c.shape[-1] != 4:
        raise ValueError(f"confusion must have a last axis of 4 counts, got shape {c.shape}")
    tn, fp, fn, tp = c[..., 0], c[..., 1], c[..., 2], c[..., 3]
    f1 = _f1(tp, true=fn + tp, predicted=fp + tp)
    f0 = _f1(tn, true=tn + fp, predicted=tn + fn)
    mf1 = (f0 + f1) / 2
    return np.where(c.sum(axis=-1) > 0, mf1, np.nan)


def _f1(hits: np.ndarray, true: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """One class's F1 as sklearn computes it: 2 tp / (n_true + n_predicted), 0 for 0/0."""
    denominator = 1.0 * true + predicted
    out = np.zeros(np.broadcast(hits, denominator).shape)
    np.divide(2.0 * hits, denominator, out=out, where=denominator > 0)
    return out


def predictions_from_proba(proba: np.ndarray) -> np.ndarray:
    """Argmax over the two class probabilities (ties go to class 0, as argmax does)."""
    return np.asarray(proba).argmax(axis=1).astype(int)


def summary(labels: np.ndarray, proba: np.ndarray) -> dict[str, Any]:
    """MF1, accuracy, confusion matrix and counts of one labelled set."""
    labels = np.asarray(labels, dtype=int)
    predictions = predictions_from_proba(proba)
    if labels.size == 0:
        return {"n": 0, "mf1": None, "accuracy": None, "confusion": None}
    return {
        "n": int(labels.size),
        "mf1": macro_f1(labels, predictions),
        "accuracy": float(np.mean(labels == predictions)),
        "confusion": confusion(labels, predictions).tolist(),
    }
