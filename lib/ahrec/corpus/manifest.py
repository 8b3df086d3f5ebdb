"""The manifest: one row per video, the table every later stage plans from.

Built from any corpus reader's records, validated as a whole (missing files,
duplicates, participants in two splits...) with one message per problem, and
enriched with what ffprobe says about each file. Unreadable files are kept
with ``readable = false`` and the reason: a broken video must end up as a
prediction from the modalities that remain, never as a silently missing row.
An audio-only recording (a phone interview) is readable with ``has_video =
false``: its audio and text are used, its scene and face are unavailable.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from stat import S_ISREG
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ahrec.corpus.probe_cache import PROBE_FIELDS, ProbeCache, ProbeStats, identify_videos
from ahrec.corpus.records import (
    LABELLED_SPLITS,
    VideoRecord,
    content_duplicates,
    file_identity,
    file_stat,
    hard_link_participants,
    missing_video,
    resolved_participant,
    shard_for,
    video_id_for,
)
from ahrec.errors import CorpusError, one_line, quote
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
        # SHA-256 of the file's bytes: its identity (null when it cannot be read)
        ("digest", pa.string()),
    ]
)


def validate_records(
    records: Iterable[VideoRecord],
    check_files: bool = True,
    required_splits: Sequence[str] = ("train", "val"),
) -> list[str]:
    """Every problem of the corpus as a whole, one message each.

    A training corpus needs train and val videos; a batch of new videos to
    predict (``required_splits=()``) needs none. One recording listed twice
    is a problem whatever its names: the same file (links and hard links,
    ``file_identity``) or the same bytes (a copy, ``content_duplicates``:
    only files of equal size are hashed); across splits it leaks a video
    between them, so both listings are named. A participant reached through
    a link or a hard link counts in the split it is listed in. Two listed
    paths with one video id are refused, naming both.
    """
    problems: list[str] = []
    records = list(records)
    stats = [file_stat(record.path) for record in records]
    first_seen: dict[tuple[str, ...], VideoRecord] = {}
    ids: dict[str, tuple[VideoRecord, tuple[str, ...]]] = {}
    for record, stat in zip(records, stats, strict=True):
        # the same file, however it is listed: links and hard links resolved
        key = file_identity(record.path, stat)
        if key in first_seen:
            first = first_seen[key]
            same = (
                ""
                if os.path.normpath(first.video_path) == os.path.normpath(record.video_path)
                else f" as {quote(first.video_path)}; both are the file "
                f"{one_line(os.path.realpath(record.path))}"
            )
            problems.append(
                f"{record.source}: duplicate video {quote(record.video_path)} "
                f"(already listed at {first.source}{same}); list each video once"
            )
        else:
            first_seen[key] = record
        video_id = video_id_for(record.video_path)
        other, other_key = ids.setdefault(video_id, (record, key))
        if other is not record and other_key != key:
            problems.append(
                f"{record.source}: {quote(record.video_path)} gets the video id {video_id!r} of "
                f"{quote(other.video_path)} (listed at {other.source}); rename one of the two files"
            )
        if check_files and (stat is None or not S_ISREG(stat.st_mode)):
            problems.append(f"{record.source}: {missing_video(record.path)}")
        if record.split == "train" and record.label is None:
            problems.append(f"{record.source}: training videos need a label (0 or 1)")
    for first_index, later_index in content_duplicates(records, stats):
        first, later = records[first_index], records[later_index]
        if first.split == later.split:
            problems.append(
                f"{later.source}: duplicate video {quote(later.video_path)} (the same bytes as "
                f"{quote(first.video_path)}, already listed at {first.source}); list each video once"
            )
        else:
            problems.append(
                f"{later.source}: the {later.split} video {quote(later.video_path)} holds the same "
                f"bytes as the {first.split} video {quote(first.video_path)} listed at "
                f"{first.source}: one recording in two splits leaks it between them; "
                "list it once, in one split"
            )
    hard_links = hard_link_participants(records, stats)
    where: dict[str, dict[str, str]] = defaultdict(dict)
    for index, record in enumerate(records):
        if record.split not in LABELLED_SPLITS:
            continue
        where[record.participant].setdefault(record.split, record.source)
        linked = resolved_participant(record)
        if linked is not None:  # a link to another participant's video counts for both
            participant, target = linked
            where[participant].setdefault(record.split, f"{record.source}, a link to {target}")
        if index in hard_links:  # so does a hard link into another participant's folder
            participant, other_name = hard_links[index]
            where[participant].setdefault(
                record.split, f"{record.source}, a hard link to {other_name}"
            )
    for participant, splits in sorted(where.items()):
        if len(splits) > 1:
            places = ", ".join(f"{s} ({src})" for s, src in splits.items())
            problems.append(
                f"participant {quote(participant)} appears in more than one split: {places}; "
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

    Every file is hashed (its ``digest``, the identity its media are keyed
    by) and probed, in ``workers`` threads; with a ``cache``, files seen by
    an earlier build with the same stat (resolved path, inode, size, mtime
    and change time) are neither read nor probed again.
    ``stats``, when given, is filled in with how many probes ran and were reused.
    A corpus (``required_splits`` holds train) keeps its training and its
    predicted videos in separate shards (``shard_for``); new videos use all shards.
    """
    training = "train" in required_splits
    problems = validate_records(records, required_splits=required_splits)
    if problems:
        raise CorpusError(problems)
    paths = [r.path for r in records]
    identified, _ = identify_videos(paths, probe, workers=workers, cache=cache, stats=stats)
    rows = []
    for record, identity in zip(records, identified, strict=True):
        info = identity.info
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
                "has_video": info.has_video,
                "has_audio": info.has_audio,
                "readable": info.readable,
                "problem": info.problem,
                "shard": shard_for(video_id, n_shards, record.split if training else None),
                "list_order": record.list_order,
                "source": record.source,
                "digest": identity.digest,
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
