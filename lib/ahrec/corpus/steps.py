"""Steps: a corpus, or a batch of new videos, -> ``manifest.parquet`` and its report.

The manifest is the table every later step plans from; the report lists, video
by video, what a corpus lacks (unreadable files, no video stream, no audio, no
transcript) and what the workflow does about it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from ahrec.corpus.formats import read_corpus
from ahrec.corpus.manifest import build_manifest, write_manifest
from ahrec.corpus.new_videos import read_new_videos
from ahrec.corpus.probe_cache import ProbeCache
from ahrec.corpus.records import VideoRecord
from ahrec.io import atomic_path, write_csv

LOG = logging.getLogger(__name__)


BATCH_NAME = "predict batch (new videos)"  # how logs name a batch's rows (split "hidden")


def _flag(group: pd.DataFrame, column: str) -> pd.Series:
    """A boolean manifest column; a manifest written before it existed counts as True."""
    if column not in group:
        return pd.Series(True, index=group.index)
    return group[column].astype("boolean").fillna(True).astype(bool)


def summarise(manifest: pd.DataFrame, new_videos: bool = False) -> str:
    """A short, human-readable account of the manifest for the job's log.

    A batch of new videos (``new_videos``) is named as such: its rows sit in
    the ``hidden`` split (no label) only so that the corpus's code serves
    them, and a batch has neither labels nor splits to show.
    """
    lines = [f"{len(manifest)} videos, {manifest['participant'].nunique()} participants"]
    for split, group in manifest.groupby("split", sort=False):
        readable = _flag(group, "readable")
        counts = (
            f"without transcript {int(group['transcript'].isna().sum())}, "
            f"unreadable {int((~readable).sum())}, "
            f"audio-only {int((readable & ~_flag(group, 'has_video')).sum())}, "
            f"without audio {int((~_flag(group, 'has_audio')).sum())}"
        )
        if new_videos:
            lines.append(
                f"  {BATCH_NAME}: {len(group)} videos, "
                f"{group['participant'].nunique()} participants, {counts}"
            )
            continue
        labels = group["label"].value_counts(dropna=False).to_dict()
        lines.append(
            f"  {split}: {len(group)} videos, {group['participant'].nunique()} participants, "
            f"labels {labels}, {counts}"
        )
    for row in manifest[~manifest["readable"].astype(bool)].itertuples():
        lines.append(f"  unreadable: {row.video_path} ({row.problem})")
    return "\n".join(lines)


REPORT_COLUMNS = ["video_path", "split", "source", "issue", "consequence"]
AUDIO_ONLY_ISSUE = "audio-only recording (no video stream)"
ASR_CONSEQUENCE = (
    "speech recognition (text available only if the voice-activity detector finds speech; "
    "see availability.csv)"
)


def _present(value: object, default: bool = True) -> bool:
    """A manifest flag as a bool; missing (an older manifest, a null) as ``default``."""
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return default
    return bool(value)


def video_issues(row: object, new_videos: bool = False) -> list[tuple[str, str]]:
    """What one video lacks and what the workflow does about it, as ``(issue, consequence)``.

    Each modality is spoken for once, so that no two rows of a video
    contradict each other: an unreadable file is one row (text from its
    listed transcript, or nothing); otherwise the picture (an audio-only
    recording: scene and face unavailable) and the sound and text together
    (no audio track, no transcript, or both). A missing transcript is listed
    for a corpus, where transcripts are expected; in a batch of new videos
    (``new_videos``) speech recognition is the normal path and is not
    listed, unless there is no audio to recognise.
    """
    transcript = getattr(row, "transcript", None)
    listed = isinstance(transcript, str) and bool(transcript.strip())
    if not _present(getattr(row, "readable", True)):
        problem = getattr(row, "problem", None) or "unreadable file"
        if listed:
            return [
                (f"unreadable: {problem}", "scene, face and audio unavailable; text from the list")
            ]
        return [
            (
                f"unreadable: {problem}; no transcript",
                "scene, face, audio and text unavailable: predicted from the training prior",
            )
        ]
    issues: list[tuple[str, str]] = []
    if not _present(getattr(row, "has_video", True)):
        issues.append((AUDIO_ONLY_ISSUE, "scene and face unavailable"))
    if not _present(getattr(row, "has_audio", True)):
        if listed:
            issues.append(("no audio track", "audio unavailable; text from the list"))
        else:
            issues.append(("no audio track and no transcript", "audio and text unavailable"))
    elif not listed and not new_videos:
        issues.append(("no transcript in the corpus", ASR_CONSEQUENCE))
    return issues


def manifest_report(manifest: pd.DataFrame, new_videos: bool = False) -> pd.DataFrame:
    """What the corpus lacks, video by video, and what the workflow does about it.

    Nothing is dropped: an unreadable video stays in the manifest and still
    gets a prediction (from the modalities that remain, or the prior); this
    report says which videos are affected and why (``video_issues``: no two
    rows of a video contradict each other). ``new_videos``: the manifest of a
    predict batch, whose videos come without transcripts; its ``split``
    column says ``predict batch``.
    """
    rows = [
        {
            "video_path": row.video_path,
            # a batch's rows sit in the "hidden" split only for the code's sake
            "split": "predict batch" if new_videos else row.split,
            "source": row.source,
            "issue": issue,
            "consequence": consequence,
        }
        for row in manifest.itertuples(index=False)
        for issue, consequence in video_issues(row, new_videos)
    ]
    return pd.DataFrame(rows, columns=REPORT_COLUMNS)


def build_manifest_file(
    corpus: Mapping[str, Any],
    shards: int,
    out: str | Path,
    report: str | Path,
    workers: int = 4,
    probe_cache: str | Path | None = None,
) -> pd.DataFrame:
    """The corpus's manifest (``corpus`` is the validated ``corpus:`` section, the demo's
    with the folder it was generated in).

    ``probe_cache`` is a file outside the job's outputs (Snakemake deletes
    those before a rerun) that keeps probes across builds, so re-listing an
    unchanged corpus probes nothing again.
    """
    records = read_corpus(corpus)
    return _write_manifest(
        records, shards, out, workers, report, ("train", "val"), probe_cache, "the corpus"
    )


def build_new_videos_manifest(
    videos: str | Path,
    shards: int,
    out: str | Path,
    report: str | Path,
    workers: int = 4,
    probe_cache: str | Path | None = None,
) -> pd.DataFrame:
    """The manifest of new videos to predict (a folder or a CSV list; no labels, no splits).

    ``probe_cache`` as for ``build_manifest_file`` (the same file serves both).
    """
    records = read_new_videos(videos)
    return _write_manifest(
        records, shards, out, workers, report, (), probe_cache, f"the {BATCH_NAME} {videos}"
    )


def _write_manifest(
    records: list[VideoRecord],
    shards: int,
    out: str | Path,
    workers: int,
    report: str | Path,
    required_splits: tuple[str, ...],
    probe_cache: str | Path | None,
    source: str,
) -> pd.DataFrame:
    new_videos = not required_splits  # a batch of new videos to predict
    LOG.info("read %d videos from %s; probing them with ffprobe", len(records), source)
    cache = ProbeCache(probe_cache) if probe_cache is not None else None
    manifest = build_manifest(
        records, shards, workers=workers, required_splits=required_splits, cache=cache
    )
    with atomic_path(out) as temporary:
        write_manifest(manifest, temporary)
    LOG.info("manifest:\n%s", summarise(manifest, new_videos))
    issues = manifest_report(manifest, new_videos)
    write_csv(issues, report)
    LOG.info("%d issues reported in %s", len(issues), report)
    return manifest
