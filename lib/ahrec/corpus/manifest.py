"""The manifest: one row per video, the table every later stage plans from.

Built from any corpus reader's records, validated as a whole (missing files,
duplicates, participants in two splits...) with one message per problem, and
enriched with what ffprobe says about each file. Unreadable files are kept
with ``readable = false`` and the reason: a broken video must end up as a
prediction from the modalities that remain, never as a silently missing row.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ahrec.corpus.probe_cache import PROBE_FIELDS, ProbeCache, ProbeStats, probe_videos
from ahrec.corpus.records import (
    LABELLED_SPLITS,
    VideoRecord,
    file_identity,
    resolved_participant,
    shard_for,
    video_id_for,
)
from ahrec.errors import CorpusError
from ahrec.media.probe import VideoInfo, probe_video

MANIFEST_SCHEMA = pa.schema(
    [
        ("video_id", pa.string()),
        ("video_path", pa.string()),
        ("path", pa.string()),
        ("split", pa.string()),
        ("label", pa.int8()),
        ("participant", pa.string()),
        ("transcript", pa.string()),
        ("transcript_source", pa.string()),
        *PROBE_FIELDS,
        ("shard", pa.int32()),
        ("list_order", pa.int32()),
        ("source", pa.string()),
    ]
)


def validate_records(
    records: Iterable[VideoRecord],
    check_files: bool = True,
    required_splits: Sequence[str] = ("train", "val"),
) -> list[str]:
    """Every problem of the corpus as a whole, one message each.

    A training corpus needs train and val videos; a batch of new videos to
    predict (``required_splits=()``) needs none.
    """
    problems: list[str] = []
    records = list(records)
    first_seen: dict[tuple[str, ...], VideoRecord] = {}
    for record in records:
        # the same file, however it is listed: links and hard links resolved
        key = file_identity(record.path)
        if key in first_seen:
            first = first_seen[key]
            same = (
                ""
                if os.path.normpath(first.video_path) == os.path.normpath(record.video_path)
                else f" as {first.video_path!r}; both are the file {os.path.realpath(record.path)}"
            )
            problems.append(
                f"{record.source}: duplicate video {record.video_path!r} "
                f"(already listed at {first.source}{same}); list each video once"
            )
        else:
            first_seen[key] = record
        if check_files and not record.path.is_file():
            problems.append(f"{record.source}: video not found: {record.path}")
        if record.split == "train" and record.label is None:
            problems.append(f"{record.source}: training videos need a label (0 or 1)")
    where: dict[str, dict[str, str]] = defaultdict(dict)
    for record in records:
        if record.split not in LABELLED_SPLITS:
            continue
        where[record.participant].setdefault(record.split, record.source)
        linked = resolved_participant(record)
        if linked is not None:  # a link to another participant's video counts for both
            participant, target = linked
            where[participant].setdefault(record.split, f"{record.source}, a link to {target}")
    for participant, splits in sorted(where.items()):
        if len(splits) > 1:
            places = ", ".join(f"{s} ({src})" for s, src in splits.items())
            problems.append(
                f"participant {participant!r} appears in more than one split: {places}; "
                "splits must be participant-disjoint"
            )
    present = {r.split for r in records}
    if not records and not required_splits:
        problems.append("no videos found")
    for needed in required_splits:
        if needed not in present:
            problems.append(f"the corpus has no {needed} videos; {needed} is required")
    return problems


def build_manifest(
    records: list[VideoRecord],
    n_shards: int,
    probe: Callable[[Path], VideoInfo] = probe_video,
    workers: int = 4,
    required_splits: Sequence[str] = ("train", "val"),
    cache: ProbeCache | None = None,
    stats: ProbeStats | None = None,
) -> pd.DataFrame:
    """Validate the records and probe every video; raises CorpusError on problems.

    Probes run in ``workers`` threads; with a ``cache``, files probed by an
    earlier build (same resolved path, size and mtime) are not probed again.
    ``stats``, when given, is filled in with how many probes ran and were reused.
    A corpus (``required_splits`` holds train) keeps its training and its
    predicted videos in separate shards (``shard_for``); new videos use all shards.
    """
    training = "train" in required_splits
    problems = validate_records(records, required_splits=required_splits)
    if problems:
        raise CorpusError(problems)
    paths = [r.path for r in records]
    infos, _ = probe_videos(paths, probe, workers=workers, cache=cache, stats=stats)
    rows = []
    for record, info in zip(records, infos, strict=True):
        video_id = video_id_for(record.video_path)
        rows.append(
            {
                "video_id": video_id,
                "video_path": record.video_path,
                "path": str(record.path),
                "split": record.split,
                "label": record.label,
                "participant": record.participant,
                "transcript": record.transcript,
                "transcript_source": record.transcript_source,
                "duration": info.duration,
                "fps": info.fps,
                "n_frames": info.n_frames,
                "width": info.width,
                "height": info.height,
                "has_audio": info.has_audio,
                "readable": info.readable,
                "problem": info.problem,
                "shard": shard_for(video_id, n_shards, record.split if training else None),
                "list_order": record.list_order,
                "source": record.source,
            }
        )
    ids = [row["video_id"] for row in rows]
    if len(set(ids)) != len(ids):  # two different paths hashing alike: astronomically rare
        raise CorpusError(["two videos got the same id; rename one of them"])
    return pd.DataFrame(rows, columns=MANIFEST_SCHEMA.names)


def write_manifest(frame: pd.DataFrame, path: str | Path) -> None:
    table = pa.Table.from_pandas(frame, schema=MANIFEST_SCHEMA, preserve_index=False)
    pq.write_table(table, path)


def read_manifest(path: str | Path) -> pd.DataFrame:
    """The manifest as a DataFrame with nullable dtypes (label is Int8, null when unknown)."""
    frame = pq.read_table(path).to_pandas(types_mapper=_nullable_types)
    return frame


def _nullable_types(arrow_type: pa.DataType) -> Any:
    mapping = {
        pa.int8(): pd.Int8Dtype(),
        pa.int32(): pd.Int32Dtype(),
        pa.int64(): pd.Int64Dtype(),
        pa.bool_(): pd.BooleanDtype(),
    }
    return mapping.get(arrow_type)


_SHARD_GROUPS: dict[int, tuple[pd.DataFrame, dict[int, pd.DataFrame]]] = {}


def shard_members(manifest: pd.DataFrame, shard: int) -> pd.DataFrame:
    """The manifest rows of one shard, in a stable order (by video id).

    Planning asks this of every shard job's input, params and resource
    functions: the manifest is split into shards once (per manifest object)
    rather than scanned on every call, which at 100,000 videos and a few
    hundred shards was most of the planning time.
    """
    cached = _SHARD_GROUPS.get(id(manifest))
    if cached is None or cached[0] is not manifest:
        ordered = manifest.sort_values("video_id", kind="stable")
        groups = {int(key): group.reset_index(drop=True) for key, group in ordered.groupby("shard")}
        if len(_SHARD_GROUPS) >= 4:
            _SHARD_GROUPS.clear()
        cached = _SHARD_GROUPS[id(manifest)] = (manifest, groups)
    members = cached[1].get(int(shard))
    if members is None:
        return manifest.iloc[0:0].reset_index(drop=True)
    return members.copy()
