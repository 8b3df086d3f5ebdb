"""What each job needs, read off the manifest: the logic of the input functions.

Snakemake's input and params functions call these with the manifest table,
so the rules stay declarative and the planning logic is unit-tested here.
Params built from these values are part of Snakemake's rerun trigger: a job
reruns when its slice of the manifest changes, and only then.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pandas as pd

from ahrec.corpus.manifest import shard_members
from ahrec.media.probe import AUDIO_ONLY

ASR_BASE_MINUTES = 10  # a transcripts job's runtime with nothing to recognise


def cell(value: Any) -> Any:
    """A manifest cell as a plain Python value, None where missing."""
    if value is None or (not isinstance(value, str | bytes) and pd.isna(value)):
        return None
    return value.item() if hasattr(value, "item") else value


def shard_video_ids(manifest: pd.DataFrame, shard: int | str) -> list[str]:
    return list(shard_members(manifest, int(shard))["video_id"])


def needs_asr(row: pd.Series, asr_kind: str) -> bool:
    """Speech recognition runs for videos whose corpus gives no transcript."""
    text = cell(row["transcript"])
    return asr_kind != "none" and not (text or "").strip()


def asr_video_ids(manifest: pd.DataFrame, shard: int | str, asr_kind: str) -> list[str]:
    rows = shard_members(manifest, int(shard))
    return [row["video_id"] for _, row in rows.iterrows() if needs_asr(row, asr_kind)]


def asr_runtime(
    manifest: pd.DataFrame,
    shard: int | str,
    asr_kind: str,
    max_seconds: float | None,
    per_minute: float = 2.0,
) -> int:
    """Minutes a transcripts job may run: a base plus ``per_minute`` per minute of speech to recognise."""
    rows = shard_members(manifest, int(shard))
    need = [row for _, row in rows.iterrows() if needs_asr(row, asr_kind)]
    seconds = sum(min(cell(r["duration"]) or 0.0, max_seconds or float("inf")) for r in need)
    return int(ASR_BASE_MINUTES + math.ceil(per_minute * seconds / 60.0))


def corpus_transcripts(manifest: pd.DataFrame, shard: int | str) -> list[dict[str, Any]]:
    """The corpus's transcript of each video of a shard (None where missing)."""
    return [
        {
            "video_id": row["video_id"],
            "transcript": cell(row["transcript"]),
            "transcript_source": cell(row["transcript_source"]),
        }
        for _, row in shard_members(manifest, int(shard)).iterrows()
    ]


def media_problem(row: Mapping[str, Any], min_seconds: float = 0.0) -> str | None:
    """Why a video gives no frames or audio: unreadable, or shorter than ``media.min_seconds``.

    A clip of a fraction of a second holds a handful of frames and almost no
    speech: whatever its scene, face and audio encoders make of it is out of
    the distribution the models learned from, so with ``min_seconds`` set
    those modalities are masked and the transcript alone decides.
    """
    problem = cell(row["problem"])
    if problem or not bool(row["readable"]):
        return problem or "unreadable video"
    duration = cell(row["duration"])
    if min_seconds and duration is not None and duration < min_seconds:
        return f"too short: {duration:.2f} s (media.min_seconds: {min_seconds:g})"
    return None


def has_video(row: Mapping[str, Any]) -> bool:
    """Whether a manifest row is a video (False: an audio-only recording).

    A manifest written before the column existed (or a row without a value)
    counts as video, as every listed file did then.
    """
    value = cell(row.get("has_video"))
    return True if value is None else bool(value)


def frames_problem(row: Mapping[str, Any], min_seconds: float = 0.0) -> str | None:
    """Why a video gives no frames: ``media_problem``, or ``AUDIO_ONLY`` for an audio-only
    recording, whose audio (and text) are still used."""
    problem = media_problem(row, min_seconds)
    if problem is None and not has_video(row):
        return AUDIO_ONLY
    return problem


def audio_reasons(
    manifest: pd.DataFrame, shard: int | str, min_seconds: float = 0.0
) -> dict[str, str | None]:
    """Why each video of a shard has no audio; None for those that have it."""
    reasons: dict[str, str | None] = {}
    for _, row in shard_members(manifest, int(shard)).iterrows():
        problem = media_problem(row, min_seconds)
        if problem:
            reasons[row["video_id"]] = problem
        elif not bool(row["has_audio"]):
            reasons[row["video_id"]] = "no audio track"
        else:
            reasons[row["video_id"]] = None
    return reasons


def split_ids(manifest: pd.DataFrame, split: str) -> list[str]:
    return sorted(manifest.loc[manifest["split"] == split, "video_id"])


def shard_media(
    manifest: pd.DataFrame, shard: int | str, kind: str, min_seconds: float = 0.0
) -> list[dict[str, Any]]:
    """The manifest values a media shard job reads, per video (they are part of its params).

    ``kind`` is ``frames`` (the hint of the frame count, the frame rate, why the
    video gives none: ``frames_problem``) or ``audio`` (whether it has a track).
    A change to a video's values reruns its shard's job, which re-extracts that
    video only.
    """
    videos = []
    for row in shard_members(manifest, int(shard)).to_dict("records"):
        video: dict[str, Any] = {"video_id": row["video_id"], "path": row["path"]}
        if "digest" in row:  # the content a media file is keyed by (and checked against)
            video["digest"] = cell(row["digest"])
        if kind == "audio":
            video["has_audio"] = bool(row["has_audio"])
        else:
            video["n_frames_hint"] = cell(row["n_frames"])
            video["fps"] = cell(row["fps"])
            video["problem"] = frames_problem(row, min_seconds)
        videos.append(video)
    return videos


def shard_media_runtime(
    manifest: pd.DataFrame,
    shard: int | str,
    max_seconds: float | None,
    per_minute: float,
    threads: int = 1,
    base: int = 5,
) -> int:
    """Minutes a media shard job may run: a base plus ``per_minute`` per minute of its videos,
    shared by its threads."""
    durations = shard_members(manifest, int(shard))["duration"].astype("float64").fillna(0.0)
    if max_seconds:
        durations = durations.clip(upper=max_seconds)
    return int(base + math.ceil(per_minute * float(durations.sum()) / 60.0 / max(1, threads)))
