"""A compact, pickle-free container for sampled frames and face crops.

Frames are JPEG-encoded (raw frames of a corpus would not fit on a laptop)
and packed into one ``.npz`` per video or per shard: a byte buffer, offsets,
and per-frame metadata. ``np.load(allow_pickle=False)`` reads it, so a file
from someone else cannot run code.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from ahrec.io import atomic_path


@dataclass
class FrameSet:
    """The frames of one video (RGB, uint8, H x W x 3) and why they may be missing."""

    video_id: str
    frames: list[np.ndarray]
    frame_index: np.ndarray
    reason: str | None = None
    extras: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def available(self) -> bool:
        return self.reason is None and len(self.frames) > 0


def encode_jpeg(rgb: np.ndarray, quality: int) -> bytes:
    ok, buffer = cv2.imencode(
        ".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality]
    )
    if not ok:
        raise ValueError("JPEG encoding failed")
    return buffer.tobytes()


def decode_jpeg(data: bytes | np.ndarray) -> np.ndarray:
    array = np.frombuffer(data, dtype=np.uint8) if isinstance(data, bytes) else data
    bgr = cv2.imdecode(array, cv2.IMREAD_COLOR)
    if bgr is None:
        raise ValueError("JPEG decoding failed")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def save_frame_sets(path: str | Path, sets: Iterable[FrameSet], quality: int = 95) -> None:
    """Write frame sets atomically (a half-written file must never look complete)."""
    sets = list(sets)
    blobs: list[bytes] = []
    owner: list[int] = []
    frame_index: list[int] = []
    extras: dict[str, list[np.ndarray]] = {}
    for number, frame_set in enumerate(sets):
        if len(frame_set.frames) != len(frame_set.frame_index):
            raise ValueError(f"{frame_set.video_id}: frames and frame_index differ in length")
        for position, frame in enumerate(frame_set.frames):
            blobs.append(encode_jpeg(frame, quality))
            owner.append(number)
            frame_index.append(int(frame_set.frame_index[position]))
        for key, values in frame_set.extras.items():
            extras.setdefault(key, []).append(np.asarray(values))
    for key, chunks in extras.items():
        if sum(len(c) for c in chunks) != len(owner):
            raise ValueError(f"extra '{key}' must hold one value per frame")
    offsets = np.zeros(len(blobs) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(b) for b in blobs]) if blobs else []
    arrays: dict[str, np.ndarray] = {
        "video_ids": np.array([s.video_id for s in sets], dtype=np.str_),
        "reasons": np.array([s.reason or "" for s in sets], dtype=np.str_),
        "owner": np.array(owner, dtype=np.int32),
        "frame_index": np.array(frame_index, dtype=np.int64),
        "offsets": offsets,
        "data": np.frombuffer(b"".join(blobs), dtype=np.uint8),
    }
    for key, chunks in extras.items():
        arrays[f"extra_{key}"] = np.concatenate(chunks) if chunks else np.array([])
    with atomic_path(path) as temporary:
        np.savez(temporary, **arrays)


def load_frame_sets(path: str | Path) -> list[FrameSet]:
    """Read every frame set of a file, frames decoded to RGB arrays."""
    with np.load(path, allow_pickle=False) as archive:
        arrays: Mapping[str, np.ndarray] = {k: archive[k] for k in archive.files}
    video_ids = [str(v) for v in arrays["video_ids"]]
    reasons = [str(r) or None for r in arrays["reasons"]]
    owner, offsets, data = arrays["owner"], arrays["offsets"], arrays["data"]
    extra_keys = [k for k in arrays if k.startswith("extra_")]
    sets: list[FrameSet] = []
    for number, video_id in enumerate(video_ids):
        positions = np.flatnonzero(owner == number)
        frames = [decode_jpeg(data[offsets[p] : offsets[p + 1]]) for p in positions]
        sets.append(
            FrameSet(
                video_id=video_id,
                frames=frames,
                frame_index=arrays["frame_index"][positions],
                reason=reasons[number],
                extras={k[len("extra_") :]: arrays[k][positions] for k in extra_keys},
            )
        )
    return sets


def load_frame_set(path: str | Path) -> FrameSet:
    """The single frame set of a per-video file."""
    sets = load_frame_sets(path)
    if len(sets) != 1:
        raise ValueError(f"{path}: expected frames of one video, found {len(sets)}")
    return sets[0]
