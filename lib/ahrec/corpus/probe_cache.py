"""Probing every listed video, in parallel, with a cache across manifest builds.

At 100,000 videos, ffprobe is the manifest's whole cost (tens of milliseconds
per file, a process each), and the manifest is rebuilt whenever its inputs
change: a line added to a split file would otherwise re-probe the corpus.
Probes therefore run in a thread pool (ffprobe is a subprocess, so threads
suffice) and their results are kept in a cache file that is *not* an output
of the manifest job: Snakemake deletes a job's declared outputs before it
reruns it, which would empty the cache exactly when it is needed.

A cached result is reused only for the very same file: the key is the
resolved path (two links to one file share one probe), its size and its
modification time in nanoseconds, and the cache's ``version`` (the probe
format and the ffprobe build, so a change to what is probed invalidates every
entry). A changed file is probed again. The cache is a convenience, never an
input: a missing, corrupt or unreadable cache is ignored with a warning, it
is written atomically (temporary file, then rename), and the manifest is
identical with or without it (``tests/unit/test_probe_cache.py``).
"""

from __future__ import annotations

import functools
import logging
import os
import stat
import subprocess
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, fields
from pathlib import Path
from typing import cast

import pyarrow as pa
import pyarrow.parquet as pq

from ahrec.io import atomic_path
from ahrec.media.probe import VideoInfo, probe_video

LOG = logging.getLogger(__name__)

# Bump when probe_video reads or derives something new: every cached entry is
# then probed again.
PROBE_FORMAT = 1
# Entries kept at most; those of the files probed or reused last go first, so
# the cache of a corpus (and of the prediction batches sharing it) stays whole
# while files listed long ago are dropped.
MAX_ENTRIES = 1_000_000
# Failures that say nothing about the file: never cached.
TRANSIENT_PROBLEMS = ("ffprobe did not finish", "ffprobe is not installed")

FileKey = tuple[str, int, int]

# What a probe says of a file (VideoInfo's fields), as columns of the manifest and the cache.
PROBE_FIELDS = [
    ("duration", pa.float64()),
    ("fps", pa.float64()),
    ("n_frames", pa.int64()),
    ("width", pa.int32()),
    ("height", pa.int32()),
    ("has_audio", pa.bool_()),
    ("readable", pa.bool_()),
    ("problem", pa.string()),
]

CACHE_SCHEMA = pa.schema(
    [
        ("realpath", pa.string()),
        ("size", pa.int64()),
        ("mtime_ns", pa.int64()),
        ("version", pa.string()),
        *PROBE_FIELDS,
    ]
)
INFO_FIELDS = [f.name for f in fields(VideoInfo)]


def file_key(path: str | os.PathLike[str]) -> FileKey | None:
    """``(realpath, size, mtime_ns)`` of the file a path resolves to; None if not a regular file.

    Links are followed, so every link to one file has one key. Missing files,
    folders and devices have none: probe_video answers for them at once.
    """
    try:
        info = os.stat(path)
    except OSError:
        return None
    if not stat.S_ISREG(info.st_mode):
        return None
    return (os.path.realpath(path), info.st_size, info.st_mtime_ns)


@functools.lru_cache(maxsize=1)
def probe_version() -> str:
    """What a cached probe must have been made with: the probe format and the ffprobe build."""
    try:
        done = subprocess.run(
            ["ffprobe", "-version"], capture_output=True, text=True, timeout=30, check=False
        )
        build = done.stdout.splitlines()[0].strip() if done.stdout else "unknown"
    except (OSError, subprocess.SubprocessError):
        build = "unknown"
    return f"{PROBE_FORMAT}; {build}"


@dataclass
class ProbeStats:
    """How a set of listed videos was probed (logged, and read by the tests)."""

    listed: int = 0
    reused: int = 0  # answered by the cache
    probed: int = 0  # ffprobe runs (one per distinct file not in the cache)
    shared: int = 0  # listed paths answered by another path to the same file


class ProbeCache:
    """Probe results by file identity, loaded from and saved to one Parquet file."""

    def __init__(self, path: str | Path | None, version: str | None = None) -> None:
        self.path = Path(path) if path is not None else None
        self.version = version if version is not None else probe_version()
        self.entries: dict[str, tuple[int, int, VideoInfo]] = {}
        self.used: set[str] = set()  # realpaths looked up or stored by this build
        if self.path is not None:
            self.entries = self._read(self.path)

    def _read(self, path: Path) -> dict[str, tuple[int, int, VideoInfo]]:
        """Entries of this version in ``path``; an unreadable file is ignored with a warning."""
        if not path.exists():
            return {}
        try:
            table = pq.read_table(path)
            missing = set(CACHE_SCHEMA.names) - set(table.column_names)
            if missing:
                raise ValueError(f"columns missing: {sorted(missing)}")
            entries = {}
            for row in table.select(CACHE_SCHEMA.names).to_pylist():
                if row["version"] != self.version:
                    continue
                info = VideoInfo(**{name: row[name] for name in INFO_FIELDS})
                entries[row["realpath"]] = (int(row["size"]), int(row["mtime_ns"]), info)
            return entries
        except Exception as exc:  # noqa: BLE001  (a cache must never stop the manifest)
            LOG.warning("probe cache %s is unreadable (%s); ignoring it", path, exc)
            return {}

    def get(self, key: FileKey) -> VideoInfo | None:
        """The cached probe of exactly this file (same resolved path, size and mtime), or None."""
        realpath, size, mtime_ns = key
        self.used.add(realpath)
        entry = self.entries.get(realpath)
        if entry is None or entry[0] != size or entry[1] != mtime_ns:
            return None
        return entry[2]

    def put(self, key: FileKey, info: VideoInfo) -> None:
        """Remember a probe, unless its failure says nothing about the file (a timeout)."""
        if info.problem is not None and info.problem.startswith(TRANSIENT_PROBLEMS):
            return
        realpath, size, mtime_ns = key
        self.entries[realpath] = (size, mtime_ns, info)
        self.used.add(realpath)

    def save(self) -> None:
        """Write the cache atomically, merged with entries another job saved meanwhile.

        The manifest and a prediction batch's manifest share the cache and may
        run at once; re-reading before the rename keeps most of the other's
        entries (a lost one only costs a probe later, never a wrong result).
        """
        if self.path is None:
            return
        merged = {**self._read(self.path), **self.entries}
        order = [p for p in merged if p in self.used] + [p for p in merged if p not in self.used]
        rows = []
        for realpath in order[:MAX_ENTRIES]:
            size, mtime_ns, info = merged[realpath]
            rows.append(
                {
                    "realpath": realpath,
                    "size": size,
                    "mtime_ns": mtime_ns,
                    "version": self.version,
                    **info.as_dict(),
                }
            )
        table = pa.Table.from_pylist(rows, schema=CACHE_SCHEMA)
        try:
            with atomic_path(self.path) as temporary:
                pq.write_table(table, temporary)
        except OSError as exc:
            LOG.warning("could not write the probe cache %s (%s)", self.path, exc)


def probe_videos(
    paths: Sequence[str | os.PathLike[str]],
    probe: Callable[[Path], VideoInfo] = probe_video,
    workers: int = 1,
    cache: ProbeCache | None = None,
    log_every_s: float = 10.0,
    stats: ProbeStats | None = None,
) -> tuple[list[VideoInfo], ProbeStats]:
    """What each listed file holds, in order: from the cache, else probed in ``workers`` threads.

    Each distinct file (by ``file_key``) is probed once, however many paths
    lead to it. A line every ``log_every_s`` seconds says how far probing is.
    ``stats`` (a new one when None) is filled in and returned.
    """
    stats = stats if stats is not None else ProbeStats()
    stats.listed = len(paths)
    keys = [file_key(p) for p in paths]
    infos: list[VideoInfo | None] = [None] * len(paths)
    todo: dict[FileKey | int, list[int]] = {}  # one probe per file; a keyless path on its own
    for index, key in enumerate(keys):
        cached = cache.get(key) if (cache is not None and key is not None) else None
        if cached is not None:
            infos[index] = cached
            stats.reused += 1
        else:
            todo.setdefault(key if key is not None else index, []).append(index)
    stats.shared = sum(len(indices) - 1 for indices in todo.values())
    LOG.info(
        "%d videos: %d probes reused from the cache, %d files to probe in %d threads",
        len(paths),
        stats.reused,
        len(todo),
        max(1, workers),
    )
    started = last = time.monotonic()
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        futures = {
            pool.submit(probe, Path(paths[indices[0]])): who for who, indices in todo.items()
        }
        for done, future in enumerate(as_completed(futures), start=1):
            who = futures[future]
            info = future.result()
            stats.probed += 1
            for index in todo[who]:
                infos[index] = info
            if cache is not None and not isinstance(who, int):
                cache.put(who, info)
            now = time.monotonic()
            if now - last >= log_every_s and done < len(futures):
                last = now
                rate = done / (now - started)
                LOG.info(
                    "probed %d/%d files (%.1f/s, about %.0f s left)",
                    done,
                    len(futures),
                    rate,
                    (len(futures) - done) / rate,
                )
    LOG.info(
        "probing done in %.1f s: %d probes run, %d reused from the cache, %d shared by links",
        time.monotonic() - started,
        stats.probed,
        stats.reused,
        stats.shared,
    )
    if cache is not None:
        cache.save()
    assert all(info is not None for info in infos)
    return cast(list[VideoInfo], infos), stats
