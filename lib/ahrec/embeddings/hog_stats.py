"""Face default: HOG descriptors of the face crops, statistically pooled.

No facial-expression network ships its weights in a package registry (see
the offline-models reference), and features of a randomly initialised
network would be noise dressed up as "emotion embeddings". The honest
offline stand-in for EmotionEfficientNetB0 is a classical shape
descriptor: the histogram of oriented gradients of each grey-level crop
(mouth, brows and head pose change it), pooled over frames with the
paper's statistics (mean and population standard deviation), so that
expression *changes* over time show up in the spread; ``deltas`` adds the mean
change between consecutive frames, which tells movement from mere variety.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from ahrec.embeddings.base import encode_frame_sets
from ahrec.embeddings.kinds import HogStatsSpec
from ahrec.embeddings.pooling import delta_pool, stat_pool
from ahrec.embeddings.table import EmbeddingRow
from ahrec.media.framestore import FrameSet


class HogStatsEncoder:
    def __init__(self, spec: HogStatsSpec) -> None:
        if spec.size % spec.cell or spec.size < 2 * spec.cell:
            raise ValueError(
                f"hog_stats: size ({spec.size}) must be a multiple of cell ({spec.cell}) "
                "and at least two cells"
            )
        self.spec = spec
        cell = (spec.cell, spec.cell)
        block = (2 * spec.cell, 2 * spec.cell)
        self._hog = cv2.HOGDescriptor((spec.size, spec.size), block, cell, cell, spec.bins)
        self.frame_dim = int(self._hog.getDescriptorSize())
        self.dim = (3 if spec.deltas else 2) * self.frame_dim

    def frame_features(self, crop: np.ndarray) -> np.ndarray:
        gray = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY)
        gray = cv2.resize(gray, (self.spec.size, self.spec.size), interpolation=cv2.INTER_AREA)
        return self._hog.compute(gray).reshape(-1).astype(np.float32)

    def encode(self, frame_sets: Sequence[FrameSet]) -> list[EmbeddingRow]:
        return encode_frame_sets(frame_sets, self._pool)

    def _pool(self, crops: list[np.ndarray]) -> np.ndarray:
        features = np.stack([self.frame_features(c) for c in crops])
        if not self.spec.deltas:
            return stat_pool(features)
        return np.concatenate([stat_pool(features), delta_pool(features)])
