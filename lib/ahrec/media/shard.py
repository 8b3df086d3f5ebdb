"""Media per shard, files per video: planning grows with shards, work with what changed.

A Snakemake job per video costs about 10 ms of planning and 0.6 s of
scheduling, before any decoding: three such jobs per video make a
100,000-video corpus take a quarter of an hour to plan. So one job per shard
extracts the videos of its shard into per-video files, and skips every
video whose file is there with a matching key. The key holds all the file
depends on: the video's content (the SHA-256 ``digest`` the manifest records;
a file is what it contains, whatever its path, size and mtime), its manifest
values, the job's settings (``media.extract_again`` among them, the way to
force re-extraction) and the fingerprint of the media code and of the tool
builds that decode it. So adding a video reruns its shard's job, which
extracts that one video; a replaced recording (a new digest) is extracted
again; an edited setting (a changed key) re-extracts the shard; a job killed
half-way resumes where it stopped.

Before extracting a video, the job hashes the file on disk and compares the
digest with the manifest's: a file changed after the manifest was built would
be extracted with the probe of another file (its frame count, its audio
track), so the job fails naming it, and the next run probes it again.

The job's declared output is the shard's index (which file holds each
video); downstream jobs read the per-video files through it.
"""

from __future__ import annotations

import functools
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

from ahrec.errors import CorpusError
from ahrec.io import content_digest
from ahrec.processes import remove_leftovers, temporary_beside

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


def code_fingerprint(modules: Iterable[Any], builds: Iterable[str] = ()) -> str:
    """A hash of the source of the modules that write the media and of the builds of the
    tools that decode it (``tool_builds``): a change to either is a new key."""
    digest = hashlib.sha256()
    for module in modules:
        digest.update(Path(module.__file__).read_bytes())
    for build in builds:
        digest.update(b"\0" + build.encode("utf-8"))
    return digest.hexdigest()[:16]


@functools.lru_cache(maxsize=1)
def ffmpeg_build() -> str:
    """The first line of ``ffmpeg -version`` (the audio extraction's decoder and resampler)."""
    import subprocess

    try:
        done = subprocess.run(
            ["ffmpeg", "-version"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return "ffmpeg: unknown"
    return done.stdout.splitlines()[0].strip() if done.stdout else "ffmpeg: unknown"


@functools.lru_cache(maxsize=1)
def opencv_build() -> str:
    """OpenCV's version and a hash of its build information (its bundled FFmpeg, its JPEG
    codec, its resizing code): the frames' decoder, resizer and encoder."""
    import cv2

    information = hashlib.sha256(cv2.getBuildInformation().encode("utf-8")).hexdigest()[:16]
    return f"opencv {cv2.__version__} {information}"


def media_key(video: VideoMedia, settings: Mapping[str, Any], code: str) -> str:
    """What a video's media file depends on, hashed: its content digest (from the manifest),
    its manifest values, the settings and the code. A video without a digest (one the
    manifest could not read) is keyed by its path and stat instead."""
    identity: list[Any]
    if video.values.get("digest"):
        identity = ["sha256", video.values["digest"]]
    else:
        try:
            stat = os.stat(video.path)
            identity = ["stat", video.path, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns]
        except OSError:
            identity = ["missing", video.path]
    payload = {
        "version": INDEX_VERSION,
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
    temporary = temporary_beside(key_file)
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
    changed: list[str] = []
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
    # What a killed job of this shard left: temporaries of its videos' files and keys.
    remove_leftovers(
        path
        for entry in entries
        for path in (Path(entry["file"]), Path(entry["file"] + KEY_SUFFIX))
    )
    LOG.info(
        "%d videos: %d to extract, %d unchanged (their files are kept)",
        len(entries),
        len(todo),
        len(summary.reused),
    )
    started = time.monotonic()

    def run(task: tuple[VideoMedia, Path, str]) -> str | None:
        video, out, key = task
        out.with_name(out.name + KEY_SUFFIX).unlink(missing_ok=True)
        if not is_unchanged(video):
            changed.append(video.path)
            return None
        extract(video, out)
        _write_key(out, key)
        return video.video_id

    every = max(1, len(todo) // 20)
    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        for done, video_id in enumerate(pool.map(run, todo), start=1):
            if video_id is not None:
                summary.computed.append(video_id)
            if done % every == 0 or done == len(todo):
                LOG.info(
                    "extracted %d/%d videos (%.0f s)", done, len(todo), time.monotonic() - started
                )
    if changed:  # the others are extracted and keyed: the rerun resumes from them
        raise CorpusError(
            [
                f"{path} changed since the manifest was built; run again so that it is probed again"
                for path in sorted(changed)
            ]
        )
    write_index(index, entries, summary)
    return summary


def is_unchanged(video: VideoMedia) -> bool:
    """Whether the file on disk still holds the bytes the manifest probed (its ``digest``).

    Only videos about to be extracted are hashed: a sequential read, a small
    fraction of decoding them. A video the manifest has no digest for (it
    could not read it) is not checked: its extraction writes the manifest's
    reason, without reading the file.
    """
    expected = video.values.get("digest")
    if not expected:
        return True
    try:
        return content_digest(video.path) == expected
    except OSError:
        return False


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
