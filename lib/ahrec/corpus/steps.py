"""Steps: a corpus, or a batch of new videos, -> ``manifest.parquet`` and its report.

The manifest is the table every later step plans from; the report lists, video
by video, what a corpus lacks (unreadable files, no audio, no transcript) and
what the workflow does about it.
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


def summarise(manifest: pd.DataFrame) -> str:
    """A short, human-readable account of the manifest for the job's log."""
    lines = [f"{len(manifest)} videos, {manifest['participant'].nunique()} participants"]
    for split, group in manifest.groupby("split", sort=False):
        labels = group["label"].value_counts(dropna=False).to_dict()
        lines.append(
            f"  {split}: {len(group)} videos, {group['participant'].nunique()} participants, "
            f"labels {labels}, without transcript {int(group['transcript'].isna().sum())}, "
            f"unreadable {int((~group['readable'].astype(bool)).sum())}, "
            f"without audio {int((~group['has_audio'].astype(bool)).sum())}"
        )
    for row in manifest[~manifest["readable"].astype(bool)].itertuples():
        lines.append(f"  unreadable: {row.video_path} ({row.problem})")
    return "\n".join(lines)


REPORT_COLUMNS = ["video_path", "split", "source", "issue", "consequence"]


def manifest_report(manifest: pd.DataFrame) -> pd.DataFrame:
    """What the corpus lacks, video by video, and what the workflow does about it.

    Nothing is dropped: an unreadable video stays in the manifest and still
    gets a prediction (from the modalities that remain, or the prior); this
    report says which videos are affected and why.
    """
    rows = []
    for row in manifest.itertuples(index=False):
        if not row.readable:
            rows.append(
                (row, f"unreadable: {row.problem}", "no frames and no audio; text only if listed")
            )
        elif not row.has_audio:
            rows.append((row, "no audio track", "audio unavailable; no speech recognition"))
        if not isinstance(row.transcript, str) or not row.transcript.strip():
            rows.append(
                (row, "no transcript in the corpus", "speech recognition where audio exists")
            )
    return pd.DataFrame(
        [
            {
                "video_path": r.video_path,
                "split": r.split,
                "source": r.source,
                "issue": issue,
                "consequence": consequence,
            }
            for r, issue, consequence in rows
        ],
        columns=REPORT_COLUMNS,
    )


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
    return _write_manifest(records, shards, out, workers, report, ("train", "val"), probe_cache)


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
    return _write_manifest(records, shards, out, workers, report, (), probe_cache)


def _write_manifest(
    records: list[VideoRecord],
    shards: int,
    out: str | Path,
    workers: int,
    report: str | Path,
    required_splits: tuple[str, ...],
    probe_cache: str | Path | None,
) -> pd.DataFrame:
    LOG.info("read %d videos from the corpus; probing them with ffprobe", len(records))
    cache = ProbeCache(probe_cache) if probe_cache is not None else None
    manifest = build_manifest(
        records, shards, workers=workers, required_splits=required_splits, cache=cache
    )
    with atomic_path(out) as temporary:
        write_manifest(manifest, temporary)
    LOG.info("manifest:\n%s", summarise(manifest))
    issues = manifest_report(manifest)
    write_csv(issues, report)
    LOG.info("%d issues reported in %s", len(issues), report)
    return manifest
