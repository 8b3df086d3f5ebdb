"""Decoding a video once for the frames every visual modality needs.

Decoding dominates the cost of the media stage, so one sequential pass
collects the union of the frames the scene and face models want; each
modality then gets its own, separately stored, set.

OpenCV decodes with its own copy of FFmpeg, which would otherwise open
whatever it recognises (text rendered as frames, images, playlists that
point anywhere on the machine). ``OPENCV_FFMPEG_CAPTURE_OPTIONS`` (read by
OpenCV at every open) gives it the probe's protocol and container
whitelists (the video containers only: an audio-only recording has no frames
to decode), and the FFmpeg backend is the only one tried: OpenCV's image
sequence backend would open a PNG.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ahrec.media.probe import PROTOCOL_WHITELIST, VIDEO_FORMAT_WHITELIST, media_url
from ahrec.media.sampling import evenly_spaced

CAPTURE_OPTIONS_ENV = "OPENCV_FFMPEG_CAPTURE_OPTIONS"


class DecodeError(Exception):
    """The video could not be decoded (the message is the user-facing reason)."""


@dataclass(frozen=True)
class Sampled:
    """Frames (RGB) of one modality with the original frame numbers."""

    frames: list[np.ndarray]
    frame_index: np.ndarray
    cut_at: float | None = None  # seconds: frames were sampled before this point only


def capture_options(existing: str | None = None) -> str:
    """OpenCV's FFmpeg options (``key;value|key;value``) with the whitelists set.

    A user's own options (``existing``, e.g. a hardware decoder) are kept;
    the two whitelists always win.
    """
    pairs: dict[str, str] = {}
    for item in (existing or "").split("|"):
        key, _, value = item.partition(";")
        if key.strip():
            pairs[key.strip()] = value
    pairs["protocol_whitelist"] = PROTOCOL_WHITELIST
    pairs["format_whitelist"] = VIDEO_FORMAT_WHITELIST
    return "|".join(f"{key};{value}" for key, value in pairs.items())


def _open(path: Path) -> cv2.VideoCapture:
    os.environ[CAPTURE_OPTIONS_ENV] = capture_options(os.environ.get(CAPTURE_OPTIONS_ENV))
    capture = cv2.VideoCapture(media_url(path), cv2.CAP_FFMPEG)
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


def _count_frames(path: Path, stop: int | None = None) -> int:
    """Frames in the stream, counting no further than ``stop``."""
    capture = _open(path)
    count = 0
    try:
        while (stop is None or count < stop) and capture.grab():
            count += 1
    finally:
        capture.release()
    return count


def _frame_rate(path: Path) -> float | None:
    capture = _open(path)
    try:
        fps = float(capture.get(cv2.CAP_PROP_FPS))
    finally:
        capture.release()
    return fps if math.isfinite(fps) and fps > 0 else None


def sample_frames(
    path: str | Path,
    counts: Mapping[str, int],
    n_frames_hint: int | None = None,
    max_seconds: float | None = None,
    fps: float | None = None,
) -> dict[str, Sampled]:
    """Evenly spaced frames for each named modality, decoding the video once.

    ``n_frames_hint`` is the container's frame count (from the manifest); when
    it is wrong (truncated or oddly muxed files), the stream ends early and a
    second pass samples over the frames that really exist.

    ``max_seconds`` samples within the first seconds of a longer video (the
    rest is never decoded); each ``Sampled.cut_at`` then says where the cut
    was. ``fps`` (the manifest's) turns seconds into frames; without it the
    stream's own rate is asked for.
    """
    path = Path(path)
    if max_seconds is not None and not max_seconds > 0:
        raise ValueError(f"max_seconds must be positive or None, got {max_seconds!r}")
    total = n_frames_hint if n_frames_hint and n_frames_hint > 0 else None
    limit: int | None = None
    if max_seconds is not None:
        rate = fps if fps and fps > 0 and math.isfinite(fps) else _frame_rate(path)
        if rate is None:
            raise DecodeError("the video has no frame rate, so max_seconds cannot be applied")
        limit = max(1, math.floor(max_seconds * rate + 1e-9))
    if total is None:
        total = _count_frames(path, stop=None if limit is None else limit + 1)
    cut_at: float | None = None
    if limit is not None and total > limit:
        total, cut_at = limit, float(max_seconds)  # type: ignore[arg-type]
    for _attempt in range(2):
        if total < 1:
            raise DecodeError("the video has no decodable frames")
        plans = {name: evenly_spaced(total, count) for name, count in counts.items()}
        union = np.unique(np.concatenate(list(plans.values())))
        kept, decoded = _decode_indices(path, union)
        if all(int(i) in kept for i in union):
            return {
                name: Sampled([kept[int(i)] for i in plan], plan, cut_at)
                for name, plan in plans.items()
            }
        if decoded >= total:
            break
        # The stream ended before the announced frame count: sample again over
        # the frames that really exist (fewer than max_seconds holds: no cut).
        total = decoded
        cut_at = None
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
