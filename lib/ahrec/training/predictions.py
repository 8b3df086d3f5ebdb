"""Per-video predictions of a model: one Parquet row per video of the corpus.

Every model (unimodal, fusion seed, ensemble) writes the same table, so the
evaluation, the results table, the ensemble and the submission read one
format. A video the model had no input for still gets a row (the training
prior, ``available = false``): nothing is silently dropped. ``fold`` is the
cross-validation fold that held a video out when its prediction comes from a
fold model (``source = oof``), and -1 otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence
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
