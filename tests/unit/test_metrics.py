"""The challenge metric equals scikit-learn's to the bit (it replaced sklearn in the training loop)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score

from ahrec.metrics import confusion, macro_f1, summary


def cases() -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(7)
    found = [
        (np.array([0, 0, 0]), np.array([0, 0, 0])),  # one class only: the other's F1 is 0
        (np.array([1, 1]), np.array([0, 0])),  # nothing right
        (np.array([0, 1]), np.array([0, 1])),
        (np.array([1]), np.array([1])),
    ]
    for n in (2, 3, 7, 15, 42, 110, 392, 1118):
        for bias in (0.1, 0.45, 0.9):
            labels = (rng.random(n) < bias).astype(int)
            predictions = (rng.random(n) < rng.random()).astype(int)
            found.append((labels, predictions))
    return found


@pytest.mark.parametrize("labels, predictions", cases())
def test_macro_f1_is_sklearns_to_the_bit(labels: np.ndarray, predictions: np.ndarray) -> None:
    expected = f1_score(labels, predictions, average="macro", labels=[0, 1], zero_division=0)
    assert macro_f1(labels, predictions) == expected
    assert confusion(labels, predictions).tolist() == (
        confusion_matrix(labels, predictions, labels=[0, 1]).tolist()
    )


def test_summary_accuracy_and_confusion_are_sklearns() -> None:
    labels = np.array([0, 1, 1, 0, 1, 1, 0])
    proba = np.array(
        [[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7], [0.1, 0.9], [0.5, 0.5]] + [[1, 0]]
    )
    found = summary(labels, proba)
    predictions = proba.argmax(axis=1)
    assert found["accuracy"] == accuracy_score(labels, predictions)
    assert found["confusion"] == confusion_matrix(labels, predictions, labels=[0, 1]).tolist()
    assert found["mf1"] == f1_score(labels, predictions, average="macro", zero_division=0)
    assert found["n"] == 7


def test_an_empty_set_has_no_score_and_a_foreign_label_is_refused() -> None:
    assert np.isnan(macro_f1([], []))
    with pytest.raises(ValueError, match="0 or 1"):
        macro_f1([0, -1], [0, 1])
