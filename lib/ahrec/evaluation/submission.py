"""The challenge submission: one row per listed test (or hidden-test) video, in list order."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from ahrec.corpus.manifest import read_manifest
from ahrec.io import write_csv
from ahrec.training.predictions import read_predictions

LOG = logging.getLogger(__name__)

SUBMISSION_COLUMNS = ["video_path", "label", "prob_no_ah", "prob_ah"]
# beside them in the workflow's own format (with a header): the ensemble's raw P(A/H)
UNCALIBRATED = "prob_ah_uncalibrated"


def submission(
    predictions: str | Path,
    manifest: str | Path,
    split: str,
    out: str | Path,
    header: bool = True,
    calibration: str | Path | None = None,
) -> pd.DataFrame:
    """One row per video of the list, in the list's order, with its own video_path.

    Every listed video gets exactly one row; a video the models could not see
    at all would carry the training prior (its predictions row says so).
    ``calibration`` (the run's map) makes the probabilities calibrated ones,
    and the labels follow its threshold policy (the model's argmax unless
    the user chose one on validation). With a header (the workflow's own
    format) the uncalibrated P(A/H) is kept beside them; the challenge's
    format (no header) has its four columns only.
    """
    from ahrec.evaluation.calibration import CalibrationMap, read_calibration

    fitted = read_calibration(calibration) if calibration else CalibrationMap()
    listed = read_manifest(manifest)
    listed = listed[listed["split"] == split].sort_values("list_order")
    if listed.empty:
        raise ValueError(f"the manifest has no {split!r} videos to submit")
    frame = read_predictions(predictions).set_index("video_id")
    missing = sorted(set(listed["video_id"]) - set(frame.index))
    if missing:
        raise ValueError(f"{len(missing)} {split} videos have no prediction, e.g. {missing[0]}")
    rows = frame.loc[listed["video_id"]]
    no_ah, calibrated = fitted.pair(rows[["proba_0", "proba_1"]].to_numpy())
    table = pd.DataFrame(
        {
            "video_path": listed["video_path"].to_numpy(),
            "label": fitted.labels(rows["prediction"].to_numpy(), calibrated),
            "prob_no_ah": np.round(no_ah, 6),
            "prob_ah": np.round(calibrated, 6),
        },
        columns=SUBMISSION_COLUMNS,
    )
    if header:
        table[UNCALIBRATED] = rows["proba_1"].round(6).to_numpy()
    write_csv(table, out, header=header)
    unavailable = int((~rows["available"].astype(bool)).sum())
    LOG.info(
        "%d %s videos submitted (%d predicted A/H); %d without any modality got the prior; "
        "probabilities: %s map, labels: %s",
        len(table),
        split,
        int(table["label"].sum()),
        unavailable,
        fitted.method,
        "argmax" if fitted.threshold is None else f"P(A/H) >= {fitted.threshold:.4f}",
    )
    return table
