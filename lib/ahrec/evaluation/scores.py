"""Scores with their uncertainty: a model's predictions against the manifest's labels.

Every MF1 this workflow reports comes from here, with a 95% interval from a
bootstrap over participants (a participant's videos are not independent, so
they are resampled together), and, in CV selection, the mean and interval of
the folds' MF1s. The resamples of a split depend on its participants and the
configured seed only, so every system scored on it shares them and their
differences are paired.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ahrec.evaluation.bootstrap import (
    Estimate,
    Resamples,
    bootstrap_mf1,
    fold_interval,
    participant_resamples,
)
from ahrec.evaluation.settings import EvaluationSettings
from ahrec.metrics import macro_f1

SPLITS = ("train", "val", "test")


def with_truth(predictions: pd.DataFrame, manifest: pd.DataFrame) -> pd.DataFrame:
    """Predictions joined with the manifest's labels and participants (labels may be missing)."""
    truth = manifest.set_index("video_id")[["label", "participant"]]
    return predictions.join(truth, on="video_id")


def labelled(frame: pd.DataFrame, split: str) -> pd.DataFrame:
    return frame[(frame["split"] == split) & frame["label"].notna()]


@dataclass
class Scorer:
    """Shared participant resamples per split, so that every system's estimates are paired."""

    manifest: pd.DataFrame
    settings: EvaluationSettings

    def __post_init__(self) -> None:
        self._resamples: dict[str, Resamples] = {}

    def resamples(self, split: str) -> Resamples:
        if split not in self._resamples:
            rows = self.manifest[(self.manifest["split"] == split) & self.manifest["label"].notna()]
            self._resamples[split] = participant_resamples(
                rows["participant"].astype(str),
                self.settings.bootstrap,
                self.settings.bootstrap_seed,
            )
        return self._resamples[split]

    def estimate(
        self, frame: pd.DataFrame, split: str, predictions: np.ndarray | None = None
    ) -> Estimate:
        """MF1 of ``frame``'s predictions (or of ``predictions``, one per row) on one labelled split."""
        rows = labelled(frame, split)
        guesses = (
            rows["prediction"].to_numpy()
            if predictions is None
            else predictions[rows.index.to_numpy()]
        )
        return bootstrap_mf1(
            rows["label"].astype(int).to_numpy(),
            np.asarray(guesses, dtype=int),
            rows["participant"].astype(str).to_numpy(),
            self.resamples(split),
            self.settings.level,
        )

    def probability(
        self, frame: pd.DataFrame, split: str, proba: np.ndarray | None = None, bins: int = 10
    ) -> dict[str, Estimate]:
        """AUROC, AP, Brier and ECE of P(A/H) (``frame``'s, or ``proba``, one per row) on one
        labelled split, on the same participant resamples as MF1 (paired)."""
        from ahrec.evaluation.probability import bootstrap_probability

        rows = labelled(frame, split)
        values = rows["proba_1"].to_numpy() if proba is None else proba[rows.index.to_numpy()]
        return bootstrap_probability(
            rows["label"].astype(int).to_numpy(),
            np.clip(np.asarray(values, dtype=np.float64), 0.0, 1.0),
            rows["participant"].astype(str).to_numpy(),
            self.resamples(split),
            self.settings.level,
            bins,
        )

    def cv(self, frame: pd.DataFrame) -> dict[str, Any] | None:
        """MF1 of each CV fold's held-out videos, their mean and interval (CV selection only)."""
        if not self.settings.cv:
            return None
        rows = frame[
            frame["split"].isin(["train", "val"]) & frame["label"].notna() & (frame["fold"] >= 0)
        ]
        if rows.empty:
            return None
        folds = [
            macro_f1(group["label"].astype(int).to_numpy(), group["prediction"].to_numpy())
            for _, group in rows.groupby("fold", sort=True)
        ]
        mean, low, high = fold_interval(folds, self.settings.level)
        return {"folds": folds, "mf1": mean, "low": low, "high": high}


def split_summary(estimate: Estimate, rows: pd.DataFrame) -> dict[str, Any]:
    """What a metrics file says about one split: MF1 and its interval, counts, confusion."""
    labels = rows["label"].astype(int).to_numpy()
    predictions = rows["prediction"].to_numpy().astype(int)
    confusion = np.zeros((2, 2), dtype=int)
    np.add.at(confusion, (labels, predictions), 1)
    return {
        "n": estimate.n_videos,
        "participants": estimate.n_participants,
        "mf1": estimate.value,
        "low": estimate.low,
        "high": estimate.high,
        "accuracy": float((labels == predictions).mean()) if len(rows) else None,
        "confusion": confusion.tolist() if len(rows) else None,
        "coverage": float(rows["available"].mean()) if len(rows) else None,
    }


def selection_score(metrics: Mapping[str, Any]) -> float | None:
    """The score model selection may compare systems by: CV MF1 (cv) or validation MF1 (split)."""
    cv = metrics.get("cv")
    return cv["mf1"] if cv else metrics.get("val_mf1")
