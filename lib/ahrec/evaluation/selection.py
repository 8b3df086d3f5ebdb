"""The choice among fusion runs: which ensemble is submitted, and what the table compares with.

``fusion.submission: auto`` submits the run with the best selection score:
the validation MF1 (split selection) or the mean MF1 of the CV folds'
held-out videos (cv selection). The score is computed here from the
predictions and the *training* labels, which hold no test label, so the
choice cannot see the test split even by accident; a named run is taken as
it is, its score recorded beside the others.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from ahrec.evaluation.settings import EvaluationSettings
from ahrec.metrics import macro_f1
from ahrec.training.labels import read_labels
from ahrec.training.predictions import read_predictions

LOG = logging.getLogger(__name__)
AUTO = "auto"


def selection_rows(
    predictions: pd.DataFrame, labels: pd.DataFrame, settings: EvaluationSettings
) -> pd.DataFrame:
    """The labelled rows selection may look at: validation (split) or the CV folds' held-out
    videos of train + val (cv). Also what a calibration map is fitted on; never a test row."""
    frame = predictions.merge(labels[["video_id", "label"]], on="video_id")
    frame = frame[frame["label"].notna()]
    if settings.cv:
        return frame[frame["split"].isin(["train", "val"]) & (frame["fold"] >= 0)]
    return frame[frame["split"] == "val"]


def selection_score(
    predictions: pd.DataFrame, labels: pd.DataFrame, settings: EvaluationSettings
) -> float | None:
    """Validation MF1 (split) or the mean of the CV folds' MF1 (cv), from training labels only."""
    rows = selection_rows(predictions, labels, settings)
    if settings.cv:
        scores = [
            macro_f1(group["label"].astype(int).to_numpy(), group["prediction"].to_numpy())
            for _, group in rows.groupby("fold", sort=True)
        ]
        return sum(scores) / len(scores) if scores else None
    return (
        macro_f1(rows["label"].astype(int).to_numpy(), rows["prediction"].to_numpy())
        if len(rows)
        else None
    )


def select_run(
    candidates: Mapping[str, str | Path],
    labels_path: str | Path,
    out: str | Path,
    submission: str | None,
    settings: EvaluationSettings | None = None,
) -> str | None:
    """The run to submit (``submission``, or the best-scoring candidate when ``auto``); writes why.

    With no ``submission`` configured, nothing is chosen (``run: null``): the
    table then has no reference run, and asking for the submission says so.
    """
    settings = settings or EvaluationSettings()
    labels = read_labels(labels_path)
    scores = {
        run: selection_score(read_predictions(path), labels, settings)
        for run, path in candidates.items()
    }
    if submission == AUTO:
        scored = [run for run in candidates if scores[run] is not None]
        if not scored:
            raise ValueError(
                "fusion.submission: auto needs labelled validation videos (or CV folds) to choose by"
            )
        chosen = max(scored, key=lambda run: scores[run])  # the first of equals: config order
    elif submission is None:
        chosen = None
    elif submission in candidates:
        chosen = submission
    else:
        raise ValueError(f"fusion.submission: no fusion run named {submission!r}")
    record: dict[str, Any] = {
        "run": chosen,
        "rule": {AUTO: "best selection score", None: "fusion.submission is not set"}.get(
            submission, "named in fusion.submission"
        ),
        "score": "cv MF1" if settings.cv else "validation MF1",
        "scores": scores,
    }
    Path(out).write_text(json.dumps(record, indent=2) + "\n")
    LOG.info("submitting %s (%s); scores: %s", chosen, record["rule"], scores)
    return chosen


def read_selected_run(path: str | Path) -> str | None:
    return json.loads(Path(path).read_text())["run"]


def submitted_predictions(candidates: Mapping[str, str | Path], selected: str | Path) -> str | Path:
    """The predictions of the run ``select_run`` chose (one message when none is configured)."""
    run = read_selected_run(selected)
    if run is None:
        raise ValueError(
            "fusion.submission is not set: name the fusion run whose ensemble to submit, or auto"
        )
    return candidates[run]
