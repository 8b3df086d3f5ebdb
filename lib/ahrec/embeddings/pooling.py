"""Statistical pooling of per-frame features (the paper's face representation)."""

from __future__ import annotations

import numpy as np


def stat_pool(features: np.ndarray) -> np.ndarray:
    """(frames, F) -> (2F,): mean then population std over frames, float32.

    Population std (ddof=0) as in the paper, so a one-frame video gets zeros
    rather than NaN.
    """
    features = _frames(features, "stat_pool")
    return np.concatenate([features.mean(axis=0), features.std(axis=0)]).astype(np.float32)


def delta_pool(features: np.ndarray) -> np.ndarray:
    """(frames, F) -> (F,): mean absolute change between consecutive frames, float32.

    The mean and std of a feature ignore the order of the frames; this is the
    part of the spread that comes from movement. A one-frame video gets zeros.
    """
    features = _frames(features, "delta_pool")
    if features.shape[0] == 1:
        return np.zeros(features.shape[1], dtype=np.float32)
    return np.abs(np.diff(features, axis=0)).mean(axis=0).astype(np.float32)


def _frames(features: np.ndarray, name: str) -> np.ndarray:
    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 2 or features.shape[0] == 0:
        raise ValueError(
            f"{name} expects a non-empty (frames, features) array, got {features.shape}"
        )
    return features
