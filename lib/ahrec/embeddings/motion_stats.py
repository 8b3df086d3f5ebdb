"""Scene default: appearance and motion statistics of the sampled frames.

No video model's weights install from a package registry, so the offline
default describes the scene with classical measurements instead of
VideoMAE: colour and brightness histograms, edge density, frame differences
and dense optical flow (Farneback) between consecutive sampled frames,
each summarised by its mean and spread over time. It captures camera and
background motion and lighting changes — the scene cues VideoMAE picks up —
and makes no claim to more.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

import cv2
import numpy as np

from ahrec.embeddings.base import encode_frame_sets
from ahrec.embeddings.kinds import MotionStatsSpec
from ahrec.embeddings.table import EmbeddingRow
from ahrec.media.framestore import FrameSet


def _resize_short(gray: np.ndarray, short_side: int) -> np.ndarray:
    height, width = gray.shape[:2]
    scale = short_side / min(height, width)
    size = (max(8, round(width * scale)), max(8, round(height * scale)))
    return cv2.resize(gray, size, interpolation=cv2.INTER_AREA)


class MotionStatsEncoder:
    """Per-video vector: appearance (mean, std over frames) and motion (mean, std, max)."""

    N_SCALAR_APPEARANCE = 4  # brightness mean, brightness std, edge density, colourfulness
    N_SCALAR_MOTION = 6  # abs diff mean, changed fraction, flow mean, flow std, flow p95, global

    def __init__(self, spec: MotionStatsSpec) -> None:
        self.spec = spec
        bins = spec.histogram_bins
        self.appearance_dim = 3 * bins + self.N_SCALAR_APPEARANCE
        self.motion_dim = bins + self.N_SCALAR_MOTION
        self.dim = 2 * self.appearance_dim + 3 * self.motion_dim

    def appearance(self, rgb: np.ndarray) -> np.ndarray:
        bins = self.spec.histogram_bins
        small = _resize_short(rgb, self.spec.flow_size)
        hsv = cv2.cvtColor(small, cv2.COLOR_RGB2HSV)
        hists = []
        for channel, upper in ((0, 180), (1, 256), (2, 256)):
            hist = cv2.calcHist([hsv], [channel], None, [bins], [0, upper]).ravel()
            hists.append(hist / max(hist.sum(), 1.0))
        gray = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY)
        edges = cv2.Canny(gray, 100, 200)
        rg = small[..., 0].astype(np.float32) - small[..., 1]
        yb = 0.5 * (small[..., 0].astype(np.float32) + small[..., 1]) - small[..., 2]
        colourfulness = np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean())
        scalars = np.array(
            [gray.mean() / 255, gray.std() / 255, (edges > 0).mean(), colourfulness / 255],
            dtype=np.float32,
        )
        return np.concatenate([*hists, scalars]).astype(np.float32)

    def motion(self, previous: np.ndarray, current: np.ndarray) -> np.ndarray:
        bins = self.spec.histogram_bins
        a = cv2.cvtColor(_resize_short(previous, self.spec.flow_size), cv2.COLOR_RGB2GRAY)
        b = cv2.cvtColor(_resize_short(current, self.spec.flow_size), cv2.COLOR_RGB2GRAY)
        if a.shape != b.shape:
            b = cv2.resize(b, (a.shape[1], a.shape[0]), interpolation=cv2.INTER_AREA)
        diff = np.abs(a.astype(np.float32) - b.astype(np.float32)) / 255
        flow = cv2.calcOpticalFlowFarneback(a, b, None, 0.5, 3, 15, 3, 5, 1.2, 0)
        magnitude, angle = cv2.cartToPolar(flow[..., 0], flow[..., 1])
        scale = float(min(a.shape))  # flow in fractions of the frame: resolution independent
        magnitude = magnitude / scale
        direction = np.histogram(angle, bins=bins, range=(0, 2 * np.pi), weights=magnitude)[
            0
        ].astype(np.float32)
        direction /= max(float(direction.sum()), 1e-8)
        global_motion = float(np.hypot(flow[..., 0].mean(), flow[..., 1].mean()) / scale)
        scalars = np.array(
            [
                diff.mean(),
                (diff > 0.1).mean(),
                magnitude.mean(),
                magnitude.std(),
                np.percentile(magnitude, 95),
                global_motion,
            ],
            dtype=np.float32,
        )
        return np.concatenate([direction, scalars]).astype(np.float32)

    def encode_one(self, frames: Sequence[np.ndarray]) -> np.ndarray:
        appearance = np.stack([self.appearance(f) for f in frames])
        if len(frames) > 1:
            motion = np.stack([self.motion(p, c) for p, c in pairwise(frames)])
        else:
            motion = np.zeros((1, self.motion_dim), dtype=np.float32)
        return np.concatenate(
            [
                appearance.mean(axis=0),
                appearance.std(axis=0),
                motion.mean(axis=0),
                motion.std(axis=0),
                motion.max(axis=0),
            ]
        ).astype(np.float32)

    def encode(self, frame_sets: Sequence[FrameSet]) -> list[EmbeddingRow]:
        return encode_frame_sets(frame_sets, self.encode_one)
