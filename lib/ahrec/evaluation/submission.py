"""The challenge submission: one row per listed test (or hidden-test) video, in list order."""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from ahrec.corpus.manifest import read_manifest
from ahrec.io import write_csv
from ahrec.training.predictions import read_predictions

LOG = logging.getLogger(__name__)

SUBMISSION_COLUMNS = ["video_path", "label", "prob_no_ah", "prob_ah"]


def submission(
    predictions: str | Path, manifest: str | Path, split: str, out: str | Path, header: bool = True
) -> pd.DataFrame:
    """One row per video of the list, in the list's order, with its own video_path.

    Every listed video gets exactly one row; a video the models could not see
    at all would carry the training prior (its predictions row says so).
    """
    listed = read_manifest(manifest)
    listed = listed[listed["split"] == split].sort_values("list_order")
    if listed.empty:
        raise ValueError(f"the manifest has no {split!r} videos to submit")
    frame = read_predictions(predictions).set_index("video_id")
    missing = sorted(set(listed["video_id"]) - set(frame.index))
    if missing:
        raise ValueError(f"{len(missing)} {split} videos have no prediction, e.g. {missing[0]}")
    rows = frame.loc[listed["video_id"]]
    table = pd.DataFrame(
        {
            "video_path": listed["video_path"].to_numpy(),
            "label": rows["prediction"].astype(int).to_numpy(),
            "prob_no_ah": rows["proba_0"].round(6).to_numpy(),
            "prob_ah": rows["proba_1"].round(6).to_numpy(),
        },
        columns=SUBMISSION_COLUMNS,
    )
    write_csv(table, out, header=header)
    unavailable = int((~rows["available"].astype(bool)).sum())
    LOG.info(
        "%d %s videos submitted (%d predicted A/H); %d without any modality got the prior",
        len(table),
        split,
        int(table["label"].sum()),
        unavailable,
    )
    return table
