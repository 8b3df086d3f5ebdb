"""Decoding a video once for the frames every visual modality needs.

Decoding dominates the cost of the media stage, so one sequential pass
collects the union of the frames the scene and face models want; each
modality then gets its own, separately stored, set.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ahrec.media.sampling import evenly_spaced


class DecodeError(Exception):
    """The video could not be decoded (the message is the user-facing reason)."""


@dataclass(frozen=True)
class Sampled:
    """Frames (RGB) of one modality with the original frame numbers."""

    frames: list[np.ndarray]
    frame_index: np.ndarray


def _open(path: Path) -> cv2.VideoCapture:
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        raise DecodeError("the video cannot be opened for decoding")
    return capture


def _decode_indices(path: Path, wanted: np.ndarray) -> tuple[dict[int, np.ndarray], int]:
    """One sequential pass: keep the wanted frames, count all frames decoded."""
    targets = set(int(i) for i in wanted)
    last = max(targets) if targets else -1
    kept: dict[int, np.ndarray] = {}
    capture = _open(path)
    decoded = 0
    try:
        while decoded <= last:
            if not capture.grab():
                break
            if decoded in targets:
                ok, bgr = capture.retrieve()
                if ok and bgr is not None:
                    kept[decoded] = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            decoded += 1
    finally:
        capture.release()
    return kept, decoded


def _count_frames(path: Path) -> int:
    capture = _open(path)
    count = 0
    try:
        while capture.grab():
            count += 1
    finally:
        capture.release()
    return count


def sample_frames(
    path: str | Path, counts: Mapping[str, int], n_frames_hint: int | None = None
) -> dict[str, Sampled]:
    """Evenly spaced frames for each named modality, decoding the video once.

    ``n_frames_hint`` is the container's frame count (from the manifest); when
    it is wrong (truncated or oddly muxed files), the stream ends early and a
    second pass samples over the frames that really exist.
    """
    path = Path(path)
    total = n_frames_hint if n_frames_hint and n_frames_hint > 0 else None
    if total is None:
        total = _count_frames(path)
    for _attempt in range(2):
        if total < 1:
            raise DecodeError("the video has no decodable frames")
        plans = {name: evenly_spaced(total, count) for name, count in counts.items()}
        union = np.unique(np.concatenate(list(plans.values())))
        kept, decoded = _decode_indices(path, union)
        if all(int(i) in kept for i in union):
            return {
                name: Sampled([kept[int(i)] for i in plan], plan) for name, plan in plans.items()
            }
        if decoded >= total:
            break
        # The stream ended before the announced frame count: sample again over
        # the frames that really exist.
        total = decoded
    raise DecodeError("frames could not be decoded (the file may be truncated or corrupt)")


def resize_short_side(rgb: np.ndarray, short_side: int) -> np.ndarray:
    """Resize so that the shorter side equals ``short_side`` (keeps aspect ratio)."""
    height, width = rgb.shape[:2]
    scale = short_side / min(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    return cv2.resize(rgb, size, interpolation=interpolation)


def limit_long_side(rgb: np.ndarray, max_side: int) -> np.ndarray:
    """Shrink so that the longer side is at most ``max_side``; never enlarge."""
    height, width = rgb.shape[:2]
    if max(height, width) <= max_side:
        return rgb
    scale = max_side / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
