"""Media per shard, files per video: planning grows with shards, work with what changed.

A Snakemake job per video cost about 10 ms of planning and 0.6 s of scheduling
each, before any decoding: three such jobs per video made a 100,000-video
corpus take a quarter of an hour to plan. One job per shard extracts the
videos of its shard into the same per-video files as before, but skips every
video whose file is there with a matching key. The key holds all the file
depends on: the video's path, size and modification time, the job's settings,
the video's manifest values and the fingerprint of the media code. So adding
a video reruns its shard's job, which extracts that one video; an edited
setting (a changed key) re-extracts the shard; a job killed half-way resumes
where it stopped.

The job's declared output is the shard's index (which file holds each
video); downstream jobs read the per-video files through it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

LOG = logging.getLogger(__name__)

INDEX_VERSION = 1
KEY_SUFFIX = ".key"


@dataclass(frozen=True)
class VideoMedia:
    """One video of a shard: where it is, and its manifest values the extraction reads."""

    video_id: str
    path: str
    values: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> VideoMedia:
        values = {k: v for k, v in params.items() if k not in ("video_id", "path")}
        return cls(str(params["video_id"]), str(params["path"]), values)


def code_fingerprint(modules: Iterable[Any]) -> str:
    """A hash of the source of the modules that write the media: a code change is a new key."""
    digest = hashlib.sha256()
    for module in modules:
        digest.update(Path(module.__file__).read_bytes())
    return digest.hexdigest()[:16]


def media_key(video: VideoMedia, settings: Mapping[str, Any], code: str) -> str:
    """What a video's media file depends on, hashed. A missing video gets a key too (its stat
    fails later, in the extraction, which reports it)."""
    try:
        stat = os.stat(video.path)
        identity: list[int] = [stat.st_size, stat.st_mtime_ns]
    except OSError:
        identity = []
    payload = {
        "version": INDEX_VERSION,
        "path": video.path,
        "identity": identity,
        "values": dict(video.values),
        "settings": dict(settings),
        "code": code,
    }
    encoded = json.dumps(payload, sort_keys=True, default=str).encode("utf-8")
    return hashlib.sha256(encoded).hexdigest()


def _is_current(out: Path, key: str) -> bool:
    key_file = out.with_name(out.name + KEY_SUFFIX)
    try:
        return out.is_file() and key_file.read_text(encoding="utf-8").strip() == key
    except OSError:
        return False


def _write_key(out: Path, key: str) -> None:
    key_file = out.with_name(out.name + KEY_SUFFIX)
    temporary = key_file.with_name(f".{key_file.name}.{os.getpid()}.tmp")
    temporary.write_text(key + "\n", encoding="utf-8")
    os.replace(temporary, key_file)


Extract = Callable[[VideoMedia, Path], Any]


@dataclass
class ShardSummary:
    """What a shard job did: the videos it extracted and those whose files it kept."""

    computed: list[str] = field(default_factory=list)
    reused: list[str] = field(default_factory=list)


def extract_shard(
    videos: Sequence[VideoMedia],
    out_dir: str | Path,
    suffix: str,
    extract: Extract,
    settings: Mapping[str, Any],
    code: str,
    index: str | Path,
    threads: int = 1,
) -> ShardSummary:
    """Extract the shard's videos whose files are missing or stale, then write its index.

    ``extract(video, path)`` writes one video's file at ``path`` (atomically:
    the frame store and the audio writer write a temporary file and rename
    it); its key is written after it, so a file without a current key is
    never trusted. Videos run on ``threads`` threads: decoding is FFmpeg and
    PyAV work that releases the GIL.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    summary = ShardSummary()
    todo: list[tuple[VideoMedia, Path, str]] = []
    entries = []
    for video in sorted(videos, key=lambda v: v.video_id):
        out = out_dir / f"{video.video_id}{suffix}"
        key = media_key(video, settings, code)
        entries.append({"video_id": video.video_id, "file": str(out), "key": key})
        if _is_current(out, key):
            summary.reused.append(video.video_id)
        else:
            todo.append((video, out, key))
    LOG.info(
        "%d videos: %d to extract, %d unchanged (their files are kept)",
        len(entries),
        len(todo),
        len(summary.reused),
    )
    started = time.monotonic()

    def run(task: tuple[VideoMedia, Path, str]) -> str:
        video, out, key = task
        out.with_name(out.name + KEY_SUFFIX).unlink(missing_ok=True)
        extract(video, out)
        _write_key(out, key)
        return video.video_id

    every = max(1, len(todo) // 20)
    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        for done, video_id in enumerate(pool.map(run, todo), start=1):
            summary.computed.append(video_id)
            if done % every == 0 or done == len(todo):
                LOG.info(
                    "extracted %d/%d videos (%.0f s)", done, len(todo), time.monotonic() - started
                )
    write_index(index, entries, summary)
    return summary


def write_index(
    path: str | Path, entries: Sequence[Mapping[str, Any]], summary: ShardSummary
) -> None:
    payload = {
        "version": INDEX_VERSION,
        "videos": list(entries),
        "extracted": sorted(summary.computed),
        "kept": sorted(summary.reused),
    }
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(payload, indent=1) + "\n", encoding="utf-8")


def read_index(path: str | Path) -> dict[str, str]:
    """A shard index: the media file of each of its videos, by video id."""
    payload = json.loads(Path(path).read_text(encoding="utf-8"))
    if payload.get("version") != INDEX_VERSION:
        raise ValueError(f"{path}: a media index of another version; rerun its media job")
    return {entry["video_id"]: entry["file"] for entry in payload["videos"]}


def media_files(indexes: Iterable[str | Path]) -> list[str]:
    """The per-video files listed by shard indexes, in video-id order."""
    files: dict[str, str] = {}
    for index in indexes:
        files.update(read_index(index))
    return [files[v] for v in sorted(files)]


def resolve_media(paths: Iterable[str | Path]) -> list[str]:
    """Input paths with every shard index (``.json``) replaced by the files it lists."""
    resolved: list[str] = []
    for path in paths:
        if str(path).endswith(".json"):
            resolved.extend(media_files([path]))
        else:
            resolved.append(str(path))
    return resolved
