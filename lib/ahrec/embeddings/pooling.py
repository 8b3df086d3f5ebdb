"""Statistical pooling of per-frame features (the paper's face representation)."""

from __future__ import annotations

import numpy as np


def stat_pool(features: np.ndarray) -> np.ndarray:
    """(frames, F) -> (2F,): mean then population std over frames, float32.

    Population std (ddof=0) as in the paper, so a one-frame video gets zeros
    rather than NaN.
    """
    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 2 or features.shape[0] == 0:
        raise ValueError(
            f"stat_pool expects a non-empty (frames, features) array, got {features.shape}"
        )
    return np.concatenate([features.mean(axis=0), features.std(axis=0)]).astype(np.float32)
