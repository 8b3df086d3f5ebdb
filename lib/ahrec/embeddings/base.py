"""What every encoder looks like to the rules that run it.

An encoder is built once per shard (model loaded once), knows its output
size before it sees data (so a shard whose videos are all unusable still
writes a well-formed table), and turns a batch of per-video inputs into one
``EmbeddingRow`` per input, in order, marking unusable inputs with a reason
instead of raising.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

import numpy as np

from ahrec.embeddings.table import EmbeddingRow
from ahrec.media.framestore import FrameSet


@dataclass(frozen=True)
class AudioItem:
    """One video's waveform (mono float32 in [-1, 1]) or why there is none."""

    video_id: str
    samples: np.ndarray
    sample_rate: int
    reason: str | None = None


@dataclass(frozen=True)
class TextItem:
    """One video's transcript, or why there is none."""

    video_id: str
    text: str | None
    reason: str | None = None


class FrameEncoder(Protocol):
    """Scene encoders (sampled frames) and face encoders (face crops)."""

    dim: int

    def encode(self, frame_sets: Sequence[FrameSet]) -> list[EmbeddingRow]: ...


class AudioEncoder(Protocol):
    dim: int
    seq_dim: int

    def encode(self, items: Sequence[AudioItem]) -> list[EmbeddingRow]: ...


class TextEncoder(Protocol):
    dim: int

    def encode(self, items: Sequence[TextItem]) -> list[EmbeddingRow]: ...


def unavailable_frames(frame_set: FrameSet) -> EmbeddingRow | None:
    """The row for a video without usable frames, or None when it has some."""
    if frame_set.available:
        return None
    return EmbeddingRow.missing(frame_set.video_id, frame_set.reason or "no frames")


def encode_frame_sets(
    frame_sets: Sequence[FrameSet], embed: Callable[[list[np.ndarray]], np.ndarray]
) -> list[EmbeddingRow]:
    """One row per frame set, in order: ``embed(frames)`` where frames exist, a reason where not."""
    rows = []
    for frame_set in frame_sets:
        missing = unavailable_frames(frame_set)
        rows.append(missing or EmbeddingRow(frame_set.video_id, embed(frame_set.frames)))
    return rows


def unavailable_audio(item: AudioItem, min_samples: int = 1) -> EmbeddingRow | None:
    if item.reason:
        return EmbeddingRow.missing(item.video_id, item.reason)
    if item.samples.size < min_samples:
        return EmbeddingRow.missing(item.video_id, "audio too short")
    return None


def unavailable_text(item: TextItem) -> EmbeddingRow | None:
    if item.reason:
        return EmbeddingRow.missing(item.video_id, item.reason)
    if item.text is None:
        return EmbeddingRow.missing(item.video_id, "no transcript")
    if not item.text.strip():
        return EmbeddingRow.missing(item.video_id, "empty transcript")
    return None


Input = TypeVar("Input")


def each_video(
    items: Sequence[Input],
    unavailable: Callable[[Input], EmbeddingRow | None],
    embed: Callable[[Input], EmbeddingRow],
) -> list[EmbeddingRow]:
    """One row per video, in order: its reason where it has no input, else ``embed`` of it alone.

    ``embed`` sees one video at a time, so no forward pass mixes videos: padded
    or batched with others, a video's embedding would change in its last bits
    with the videos that share its shard or predict batch.
    """
    rows: list[EmbeddingRow] = []
    for item in items:
        missing = unavailable(item)
        rows.append(missing if missing is not None else embed(item))
    return rows
