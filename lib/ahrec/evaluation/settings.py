"""How models are selected and how scores are reported: the ``evaluation:`` section.

Light (no torch): the Snakefile validates the configuration with it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ahrec.kinds import choice, count, number, random_seed

SELECTIONS = ("split", "cv")


@dataclass(frozen=True)
class EvaluationSettings:
    """Selection on the validation split or by cross-validation, and the bootstrap of every score.

    ``split`` (the default, the paper's protocol): early stopping, grids, the
    Optuna objective and the choice among runs look at the validation split.
    ``cv``: they look at participant-grouped ``folds``-fold cross-validation
    over train + val instead, and the final models are refit on train + val
    with the selected settings, so that a small validation split does not
    decide alone.
    """

    selection: str = choice(
        "split",
        SELECTIONS,
        "split: select on the validation split; cv: on k-fold CV over train + val",
    )
    folds: int = count(
        5,
        "participant-grouped folds: out-of-fold training embeddings for the fusion (split; 0 turns them off) or the CV folds (cv; at least 2)",
        low=0,
        high=50,
    )
    fold_seed: int = random_seed(
        42, "seed of the assignment of participants to folds (shared by every model)"
    )
    align_alpha: float | None = number(
        1.0,
        "ridge strength mapping fold models' embeddings into the final model's space (null: no mapping)",
    )
    bootstrap: int = count(
        2000,
        "participant bootstrap resamples behind every interval and paired comparison",
        low=100,
        high=100000,
    )
    bootstrap_seed: int = random_seed(
        0, "seed of the bootstrap resamples (the same for every system: comparisons are paired)"
    )
    level: float = number(0.95, "coverage of the intervals", low=0.5, high=1.0, high_open=True)

    def __post_init__(self) -> None:
        if self.selection == "cv" and self.folds < 2:
            raise ValueError("selection: cv needs at least 2 folds")

    @property
    def cv(self) -> bool:
        return self.selection == "cv"


# The ``calibration:`` section (defaults and bounds in schemas/config.schema.yaml; the maps:
# ahrec.evaluation.calibration).
METHODS = ("temperature", "platt", "isotonic", "none")
THRESHOLDS = ("argmax", "validation")


@dataclass(frozen=True)
class CalibrationSettings:
    """The ``calibration:`` section (defaults and bounds in schemas/config.schema.yaml)."""

    method: str = "temperature"
    threshold: str = "argmax"
    bins: int = 10
    min_videos: int = 20
    isotonic_min: int = 200

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"calibration.method must be one of {', '.join(METHODS)}")
        if self.threshold not in THRESHOLDS:
            raise ValueError(f"calibration.threshold must be one of {', '.join(THRESHOLDS)}")

    @classmethod
    def from_config(cls, values: Mapping[str, Any] | None) -> CalibrationSettings:
        return cls(**dict(values or {}))
