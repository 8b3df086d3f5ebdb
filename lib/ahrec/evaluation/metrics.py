"""The challenge metric and its companions.

Macro F1 over the two classes on argmax predictions (sklearn's
``f1_score(average="macro")``), as the ABAW A/H challenge scores it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score


def macro_f1(labels: Sequence[int] | np.ndarray, predictions: Sequence[int] | np.ndarray) -> float:
    """Macro F1 over classes 0 and 1 (both counted even if one is absent)."""
    labels = np.asarray(labels, dtype=int)
    predictions = np.asarray(predictions, dtype=int)
    if labels.size == 0:
        return float("nan")
    return float(f1_score(labels, predictions, average="macro", labels=[0, 1], zero_division=0))


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
        "accuracy": float(accuracy_score(labels, predictions)),
        "confusion": confusion_matrix(labels, predictions, labels=[0, 1]).tolist(),
    }
