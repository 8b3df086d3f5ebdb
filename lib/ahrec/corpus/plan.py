"""What each job needs, read off the manifest: the logic of the input functions.

Snakemake's input and params functions call these with the manifest table,
so the rules stay declarative and the planning logic is unit-tested here.
Params built from these values are part of Snakemake's rerun trigger: a job
reruns when its slice of the manifest changes, and only then.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from ahrec.corpus.manifest import shard_members


def cell(value: Any) -> Any:
    """A manifest cell as a plain Python value, None where missing."""
    if value is None or (not isinstance(value, str | bytes) and pd.isna(value)):
        return None
    return value.item() if hasattr(value, "item") else value


def video_row(manifest: pd.DataFrame, video_id: str) -> pd.Series:
    match = manifest[manifest["video_id"] == video_id]
    if match.empty:
        raise KeyError(f"video id {video_id!r} is not in the manifest")
    return match.iloc[0]


def shard_video_ids(manifest: pd.DataFrame, shard: int | str) -> list[str]:
    return list(shard_members(manifest, int(shard))["video_id"])


def needs_asr(row: pd.Series, asr_kind: str) -> bool:
    """Speech recognition runs for videos whose corpus gives no transcript."""
    text = cell(row["transcript"])
    return asr_kind != "none" and not (text or "").strip()


def asr_video_ids(manifest: pd.DataFrame, shard: int | str, asr_kind: str) -> list[str]:
    rows = shard_members(manifest, int(shard))
    return [row["video_id"] for _, row in rows.iterrows() if needs_asr(row, asr_kind)]


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


def audio_reasons(manifest: pd.DataFrame, shard: int | str) -> dict[str, str | None]:
    """Why each video of a shard has no audio; None for those that have it."""
    reasons: dict[str, str | None] = {}
    for _, row in shard_members(manifest, int(shard)).iterrows():
        if not bool(row["readable"]):
            reasons[row["video_id"]] = cell(row["problem"]) or "unreadable video"
        elif not bool(row["has_audio"]):
            reasons[row["video_id"]] = "no audio track"
        else:
            reasons[row["video_id"]] = None
    return reasons


def split_ids(manifest: pd.DataFrame, split: str) -> list[str]:
    return sorted(manifest.loc[manifest["split"] == split, "video_id"])
