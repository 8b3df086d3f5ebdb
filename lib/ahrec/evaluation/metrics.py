"""The challenge metric and its companions.

Macro F1 over the two classes on argmax predictions (sklearn's
``f1_score(average="macro")``), as the ABAW A/H challenge scores it.

Computed with numpy, to the bit what sklearn computes (tested against it):
every training loop scores its validation split once per epoch, and
importing scikit-learn cost each fusion job 0.8 s, more than a demo fit.
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
    matrix = confusion(labels, predictions)
    true_positives = np.diag(matrix).astype(np.float64)
    # sklearn's form: F1 = 2 tp / (n_true + n_predicted), 0 where both are 0.
    denominator = matrix.sum(axis=1).astype(np.float64) + matrix.sum(axis=0)
    scores = np.divide(
        2.0 * true_positives,
        denominator,
        out=np.zeros(2, dtype=np.float64),
        where=denominator > 0,
    )
    return float(np.mean(scores))


def confusion(labels: np.ndarray, predictions: np.ndarray) -> np.ndarray:
    """The 2 x 2 confusion matrix, rows true class, columns predicted (sklearn's layout)."""
    labels = np.asarray(labels, dtype=int)
    predictions = np.asarray(predictions, dtype=int)
    outside = ~np.isin(labels, (0, 1)) | ~np.isin(predictions, (0, 1))
    if outside.any():
        raise ValueError("labels and predictions must be 0 or 1")
    return np.bincount(2 * labels + predictions, minlength=4).reshape(2, 2)


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
