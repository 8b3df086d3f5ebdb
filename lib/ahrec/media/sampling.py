"""Which frames of a video each modality looks at."""

from __future__ import annotations

import numpy as np


def evenly_spaced(n_available: int, n_wanted: int) -> np.ndarray:
    """``n_wanted`` frame indices spread evenly over ``[0, n_available - 1]``.

    First and last frames included, as VideoMAE's samplers do. A video with
    fewer frames than wanted repeats frames rather than giving fewer: every
    model downstream expects a fixed count.
    """
    if n_available < 1:
        raise ValueError("a video needs at least one frame to sample from")
    if n_wanted < 1:
        raise ValueError("at least one frame must be wanted")
    return np.linspace(0, n_available - 1, n_wanted).round().astype(np.int64)
