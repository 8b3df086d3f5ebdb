"""Per-video predictions of a model: one Parquet row per video of the corpus.

Every model (unimodal, fusion seed, ensemble) writes the same table, so the
evaluation, the results table, the ensemble and the submission read one
format. A video the model had no input for still gets a row (the training
prior, ``available = false``): nothing is silently dropped. ``fold`` is the
cross-validation fold that held a video out when its prediction comes from a
fold model (``source = oof``), and -1 otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ahrec.io import write_parquet

COLUMNS = ["video_id", "split", "proba_0", "proba_1", "prediction", "available", "source", "fold"]


def predictions_frame(
    video_ids: list[str],
    splits: list[str],
    proba: np.ndarray,
    available: np.ndarray,
    source: list[str],
    fold: Sequence[int] | None = None,
) -> pd.DataFrame:
    proba = np.asarray(proba, dtype=np.float32)
    frame = pd.DataFrame(
        {
            "video_id": video_ids,
            "split": splits,
            "proba_0": proba[:, 0],
            "proba_1": proba[:, 1],
            "prediction": proba.argmax(axis=1).astype(np.int8),
            "available": np.asarray(available, dtype=bool),
            "source": source,
            "fold": np.asarray(fold if fold is not None else [-1] * len(video_ids), dtype=np.int16),
        },
        columns=COLUMNS,
    )
    return frame.sort_values("video_id").reset_index(drop=True)


def write_predictions(frame: pd.DataFrame, path: str | Path) -> None:
    write_parquet(frame[COLUMNS], path)


def read_predictions(path: str | Path) -> pd.DataFrame:
    return pd.read_parquet(path)[COLUMNS]


def proba_matrix(frame: pd.DataFrame) -> np.ndarray:
    return frame[["proba_0", "proba_1"]].to_numpy(dtype=np.float32)


def complete_predictions(
    fit: pd.DataFrame,
    videos: pd.DataFrame,
    proba_of: Mapping[str, np.ndarray],
    prior: Sequence[float],
) -> pd.DataFrame:
    """A model's rows for every video: the training job's, then the trained model's for the rest.

    The training job predicts the videos it trained and selected on (train,
    val: out of fold where so); the videos of ``videos`` (video_id, split)
    it has no row for are only predicted, by the saved model (``proba_of``),
    or get the training ``prior`` where the model has no input for them.
    Training and predicting are separate jobs so that adding a test video
    reruns the prediction only.
    """
    rest = videos.loc[~videos["video_id"].isin(set(fit["video_id"]))].sort_values("video_id")
    ids = list(rest["video_id"])
    prior_row = np.asarray(prior, dtype=np.float32)
    proba = (
        np.stack([np.asarray(proba_of.get(v, prior_row), dtype=np.float32) for v in ids])
        if ids
        else np.zeros((0, 2), np.float32)
    )
    predicted = predictions_frame(
        ids,
        list(rest["split"]),
        proba,
        np.array([v in proba_of for v in ids], dtype=bool),
        ["model" if v in proba_of else "prior" for v in ids],
    )
    frame = pd.concat([fit[COLUMNS], predicted[COLUMNS]], ignore_index=True)
    frame["fold"] = frame["fold"].astype(np.int16)
    frame["prediction"] = frame["prediction"].astype(np.int8)
    return frame.sort_values("video_id").reset_index(drop=True)
