"""Identifying and probing every listed video, in parallel, with a cache across builds.

A file is what it contains: each listed video's identity is the SHA-256 of its
bytes (``io.content_digest``), and the manifest records it, so that a
recording replaced or edited in place is probed and extracted again whatever
its path, size and modification time say. At 100,000 videos, hashing and
ffprobe are the manifest's whole cost (a read of every byte; a process per
file), and the manifest is rebuilt whenever its inputs change: a line added to
a split file would otherwise re-hash and re-probe the corpus. Both therefore
run in a thread pool (hashlib and ffprobe release the GIL) and their results
are kept in a cache file that is *not* an output of the manifest job:
Snakemake deletes a job's declared outputs before it reruns it, which would
empty the cache exactly when it is needed.

A cached digest is reused only for the very same file: the resolved path (two
links to one file share one entry) and its ``StatKey`` (inode, size, mtime and
change time in nanoseconds; the change time cannot be put back by user tools).
A file whose stat changed is hashed again; its probe is reused when the bytes
are the same (a ``chmod``, a ``touch``), else it is probed again. Entries also
carry the cache's ``version`` (the probe format and the ffprobe build: a change
to what is probed invalidates every entry).

The cache is a convenience, never an input: a missing, corrupt or unreadable
cache, or one whose columns have other types, is ignored with a warning; rows
that break an invariant (NaN or negative durations, negative sizes, a digest
that is no SHA-256...) are dropped with a warning; it is written atomically
(temporary file, then rename) and only when an entry changed; and the manifest
is identical with or without it (``tests/unit/test_probe_cache.py``).

Memory: entries are held column-wise (NumPy arrays and one Arrow table; no
Python object per entry), looked up in one Arrow hash join per build. At
``MAX_ENTRIES`` a load, a lookup and a save peak at about 1 GB
(docs/corpora.md, "Probe cache"), within the manifest jobs' ``mem_mb``.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import subprocess
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ahrec.corpus.identity import FileKey, StatKey, file_key, stat_key
from ahrec.io import atomic_path, content_digest
from ahrec.media.probe import VideoInfo, probe_video

__all__ = [
    "CACHE_SCHEMA",
    "PROBE_FIELDS",
    "FileKey",
    "ProbeCache",
    "ProbeStats",
    "file_key",
    "identify_videos",
    "probe_videos",
]

LOG = logging.getLogger(__name__)

# Bump when probe_video reads or derives something new, or the cache's columns
# change: every cached entry is then hashed and probed again.
PROBE_FORMAT = 3  # 3: has_video (audio-only recordings are readable)
# Columns later probe formats added: a cache without them is an earlier format's (stale,
# not corrupt: replaced without a warning).
ADDED_COLUMNS = {"has_video"}
# Entries kept at most; those of the files probed or reused last go first, so
# the cache of a corpus (and of the prediction batches sharing it) stays whole
# while files listed long ago are dropped.
MAX_ENTRIES = 1_000_000
# Failures that say nothing about the file: never cached.
TRANSIENT_PROBLEMS = ("ffprobe did not finish", "ffprobe is not installed")
MAX_PROBLEM_CHARS = 4000
BATCH_ROWS = 65_536  # rows read, checked and written at a time
_SHA256 = re.compile(r"[0-9a-f]{64}")

# What a probe says of a file (VideoInfo's fields), as columns of the manifest and the cache.
PROBE_FIELDS = [
    ("duration", pa.float64()),
    ("fps", pa.float64()),
    ("n_frames", pa.int64()),
    ("width", pa.int32()),
    ("height", pa.int32()),
    ("has_video", pa.bool_()),
    ("has_audio", pa.bool_()),
    ("readable", pa.bool_()),
    ("problem", pa.string()),
]
KEY_FIELDS = [
    ("realpath", pa.string()),
    ("inode", pa.int64()),
    ("size", pa.int64()),
    ("mtime_ns", pa.int64()),
    ("ctime_ns", pa.int64()),
]
CACHE_SCHEMA = pa.schema(
    [*KEY_FIELDS, ("digest", pa.string()), ("version", pa.string()), *PROBE_FIELDS]
)


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
    """How a set of listed videos was identified and probed (logged, and read by the tests)."""

    listed: int = 0
    reused: int = 0  # answered by the cache (same stat: neither hashed nor probed)
    hashed: int = 0  # files read to hash their content (new, or their stat changed)
    same_content: int = 0  # hashed, same bytes as cached: the probe is reused
    probed: int = 0  # ffprobe runs (one per distinct file not in the cache)
    shared: int = 0  # listed paths answered by another path to the same file


@dataclass(frozen=True)
class Cached:
    """A cache entry: the stat it was made at, the content digest and the probe."""

    key: FileKey
    digest: str
    info: VideoInfo


def _invalid_rows(table: pa.Table) -> tuple[np.ndarray, dict[str, int]]:
    """A mask of the rows that break an invariant, and how many break each."""
    n = table.num_rows
    bad = np.zeros(n, dtype=bool)
    reasons: dict[str, int] = {}

    def flag(reason: str, mask: np.ndarray) -> None:
        mask = np.asarray(mask, dtype=bool)
        if mask.any():
            reasons[reason] = int(mask.sum())
            bad[:] |= mask

    def nulls(name: str) -> np.ndarray:
        return cast(np.ndarray, table[name].is_null().to_numpy(zero_copy_only=False))

    def values(name: str, fill: float) -> np.ndarray:
        return cast(np.ndarray, table[name].fill_null(fill).to_numpy(zero_copy_only=False))

    for name in ("realpath", "inode", "size", "mtime_ns", "ctime_ns", "digest", "version"):
        flag(f"{name} missing", nulls(name))
    for name in ("readable", "has_audio", "has_video"):
        flag(f"{name} missing", nulls(name))
    realpath = table["realpath"].fill_null("")
    flag("realpath not absolute", ~pc.starts_with(realpath, "/").to_numpy(zero_copy_only=False))
    flag("negative inode or size", (values("inode", 0) < 0) | (values("size", 0) < 0))
    digest = table["digest"].fill_null("")
    flag(
        "digest not a SHA-256",
        ~pc.match_substring_regex(digest, r"^[0-9a-f]{64}$").to_numpy(zero_copy_only=False),
    )
    for name in ("duration", "fps"):
        number = values(name, 0.0)
        flag(f"{name} not finite and non-negative", ~np.isfinite(number) | (number < 0))
    for name in ("n_frames", "width", "height"):
        flag(f"negative {name}", values(name, 0) < 0)
    problem = table["problem"]
    unreadable = ~values("readable", True).astype(bool)
    flag("unreadable without a problem", unreadable & nulls("problem"))
    lengths = pc.utf8_length(problem.fill_null("")).to_numpy(zero_copy_only=False)
    flag("problem too long", lengths > MAX_PROBLEM_CHARS)
    return bad, reasons


class ProbeCache:
    """Content digests and probe results by file identity, in one Parquet file."""

    def __init__(self, path: str | Path | None, version: str | None = None) -> None:
        self.path = Path(path) if path is not None else None
        self.version = version if version is not None else probe_version()
        self.changed = False  # an entry was added, updated or dropped: save() writes
        self._table = CACHE_SCHEMA.empty_table()
        self._new: dict[str, Cached] = {}
        self._loaded_stat: StatKey | None = None  # the file as loaded: merge if it changed
        if self.path is not None:
            self._loaded_stat = stat_key(self.path)
            self._table, dropped = self._read(self.path)
            self.changed = dropped
        self._load_arrays()

    # -- reading ------------------------------------------------------------------

    def _read(
        self, path: Path, quiet: bool = False, exclude: pa.Array | None = None
    ) -> tuple[pa.Table, bool]:
        """The valid entries of this version in ``path``, and whether any were dropped.

        An unreadable file, or one whose columns are missing or of other
        types, is ignored whole with a warning; rows that break an invariant
        are dropped with one warning that counts them by reason. Read by
        row groups, each checked and filtered at once (and stripped of the
        resolved paths in ``exclude``), so that memory holds the kept entries
        and one row group, never a second copy of the file.
        """
        if not path.exists():
            return CACHE_SCHEMA.empty_table(), False
        kept: list[pa.Table] = []
        reasons: dict[str, int] = {}
        other_version = 0
        try:
            parquet = pq.ParquetFile(path)
            schema = parquet.schema_arrow
            missing = [n for n in CACHE_SCHEMA.names if n not in schema.names]
            if missing and set(missing) <= ADDED_COLUMNS and not quiet:
                # an earlier probe format's cache: every entry is stale, none is wrong
                LOG.info(
                    "probe cache %s was written by an earlier probe format (no %s); "
                    "every file is hashed and probed again",
                    path,
                    ", ".join(missing),
                )
                return CACHE_SCHEMA.empty_table(), True
            if missing:
                raise ValueError(f"columns missing: {', '.join(missing)}")
            wrong = [
                f"{f.name} is {schema.field(f.name).type}, not {f.type}"
                for f in CACHE_SCHEMA
                if not schema.field(f.name).type.equals(f.type)
            ]
            if wrong:
                raise ValueError(f"columns of another type: {'; '.join(wrong)}")
            for group in range(parquet.num_row_groups):  # (ours hold BATCH_ROWS rows)
                table = parquet.read_row_group(group, columns=CACHE_SCHEMA.names)
                table = pa.Table.from_arrays(table.columns, schema=CACHE_SCHEMA)
                same = pc.equal(table["version"], self.version).fill_null(False)
                other_version += table.num_rows - pc.sum(same).as_py() if table.num_rows else 0
                table = table.filter(same)
                bad, found = _invalid_rows(table)
                for reason, count in found.items():
                    reasons[reason] = reasons.get(reason, 0) + count
                if exclude is not None:
                    bad |= pc.is_in(table["realpath"], value_set=exclude).to_numpy(
                        zero_copy_only=False
                    )
                kept.append(table.filter(pa.array(~bad)) if bad.any() else table)
        except Exception as exc:  # noqa: BLE001  (a cache must never stop the manifest)
            if not quiet:
                LOG.warning("probe cache %s is unreadable (%s); ignoring it", path, exc)
            return CACHE_SCHEMA.empty_table(), True
        if reasons and not quiet:
            LOG.warning(
                "probe cache %s: %d invalid entries dropped (%s)",
                path,
                sum(reasons.values()),
                ", ".join(f"{reason}: {count}" for reason, count in sorted(reasons.items())),
            )
        table = pa.concat_tables(kept) if kept else CACHE_SCHEMA.empty_table()
        # a file listed twice (never written so) is harmless: a lookup finds its first entry
        return table, bool(other_version or reasons)

    def _load_arrays(self) -> None:
        """Column arrays of the loaded table (no Python object per entry)."""
        table = self._table

        def numbers(name: str, fill: float, dtype: type) -> np.ndarray:
            return np.asarray(table[name].fill_null(fill).to_numpy(zero_copy_only=False), dtype)

        self._stat = np.stack(
            [numbers(n, 0, np.int64) for n in ("inode", "size", "mtime_ns", "ctime_ns")], axis=1
        ).reshape(-1, 4)
        self._duration = numbers("duration", np.nan, np.float64)
        self._fps = numbers("fps", np.nan, np.float64)
        self._counts = np.stack(
            [numbers(n, -1, np.int64) for n in ("n_frames", "width", "height")], axis=1
        ).reshape(-1, 3)
        self._flags = np.stack(
            [numbers(n, False, np.bool_) for n in ("has_audio", "readable", "has_video")], axis=1
        ).reshape(-1, 3)
        self._used = np.zeros(table.num_rows, dtype=bool)
        self._realpaths = table["realpath"].combine_chunks()  # a lookup's value set

    def _row(self, index: int) -> Cached:
        def optional(value: float | int, missing: float | int) -> float | int | None:
            if isinstance(value, float):
                return None if np.isnan(value) else value
            return None if value == missing else value

        inode, size, mtime_ns, ctime_ns = (int(v) for v in self._stat[index])
        n_frames, width, height = (int(v) for v in self._counts[index])
        info = VideoInfo(
            readable=bool(self._flags[index, 1]),
            duration=optional(float(self._duration[index]), np.nan),
            fps=optional(float(self._fps[index]), np.nan),
            n_frames=optional(n_frames, -1),  # type: ignore[arg-type]
            width=optional(width, -1),  # type: ignore[arg-type]
            height=optional(height, -1),  # type: ignore[arg-type]
            has_audio=bool(self._flags[index, 0]),
            problem=self._table["problem"][index].as_py(),
            has_video=bool(self._flags[index, 2]),
        )
        realpath = self._table["realpath"][index].as_py()
        digest = self._table["digest"][index].as_py()
        return Cached((realpath, inode, size, mtime_ns, ctime_ns), digest, info)

    def find(self, realpaths: Sequence[str]) -> list[Cached | None]:
        """The entry of each resolved path (whatever its stat), or None; marks them used."""
        found: list[Cached | None] = [None] * len(realpaths)
        if self._table.num_rows and realpaths:
            indices = pc.index_in(pa.array(realpaths, pa.string()), value_set=self._realpaths)
            rows = indices.to_numpy(zero_copy_only=False)
            valid = indices.is_valid().to_numpy(zero_copy_only=False)
            for position in np.flatnonzero(valid):
                index = int(rows[position])
                self._used[index] = True
                found[position] = self._row(index)
        for position, realpath in enumerate(realpaths):
            if realpath in self._new:
                found[position] = self._new[realpath]
        return found

    def get(self, key: FileKey) -> Cached | None:
        """The entry of exactly this file (same resolved path and stat), or None."""
        entry = self.find([key[0]])[0]
        return entry if entry is not None and entry.key == key else None

    # -- writing ------------------------------------------------------------------

    def put(self, key: FileKey, digest: str, info: VideoInfo) -> None:
        """Remember a file's digest and probe, unless the probe's failure says nothing about
        the file (a timeout). Only files the cache did not answer are put: each is a change."""
        if info.problem is not None and info.problem.startswith(TRANSIENT_PROBLEMS):
            return
        if not _SHA256.fullmatch(digest):
            raise ValueError(f"not a SHA-256 hex digest: {digest!r}")
        entry = Cached(key, digest, info)
        if self._new.get(key[0]) != entry:
            self.changed = True
            self._new[key[0]] = entry

    def _new_table(self) -> pa.Table:
        rows = [
            {
                **dict(zip([name for name, _ in KEY_FIELDS], entry.key, strict=True)),
                "digest": entry.digest,
                "version": self.version,
                **entry.info.as_dict(),
            }
            for entry in self._new.values()
        ]
        return pa.Table.from_pylist(rows, schema=CACHE_SCHEMA)

    def save(self) -> bool:
        """Write the cache atomically if an entry changed; True when written.

        Entries this build used come first, so the cap drops those of files
        listed long ago. The manifest and a prediction batch's manifest share
        the cache and may run at once: when the file changed since it was
        loaded, the other job's new entries are merged in (a lost one only
        costs a hash and a probe later, never a wrong result). Written in
        batches, so that saving needs no second copy of the entries.
        """
        if self.path is None or not self.changed:
            return False
        new = self._new_table()
        old = self._table
        replaced = pc.is_in(old["realpath"], value_set=new["realpath"].combine_chunks())
        keep = ~replaced.to_numpy(zero_copy_only=False)
        fresh = None
        if stat_key(self.path) != self._loaded_stat:  # another job saved meanwhile
            ours = pa.concat_arrays([new["realpath"].combine_chunks(), self._realpaths])
            fresh, _ = self._read(self.path, quiet=True, exclude=ours)
            del ours
        left = MAX_ENTRIES

        def write(writer: pq.ParquetWriter, table: pa.Table) -> None:
            nonlocal left
            for start in range(0, table.num_rows, BATCH_ROWS):
                part = table.slice(start, min(BATCH_ROWS, left))
                if part.num_rows:
                    writer.write_table(part)
                    left -= part.num_rows

        try:
            with (
                atomic_path(self.path) as temporary,
                pq.ParquetWriter(temporary, CACHE_SCHEMA) as writer,
            ):
                write(writer, new)
                for mask in (keep & self._used, keep & ~self._used):
                    for start in range(0, old.num_rows, BATCH_ROWS):
                        part = old.slice(start, BATCH_ROWS)
                        write(writer, part.filter(pa.array(mask[start : start + BATCH_ROWS])))
                if fresh is not None:
                    write(writer, fresh)
        except OSError as exc:
            LOG.warning("could not write the probe cache %s (%s)", self.path, exc)
            return False
        self.changed = False
        return True


@dataclass(frozen=True)
class Identified:
    """A listed video: its content digest (None when it cannot be read) and its probe."""

    digest: str | None
    info: VideoInfo


def _digest_or_none(path: Path) -> str | None:
    try:
        return content_digest(path)
    except OSError:
        return None


def identify_videos(
    paths: Sequence[str | os.PathLike[str]],
    probe: Callable[[Path], VideoInfo] = probe_video,
    workers: int = 1,
    cache: ProbeCache | None = None,
    log_every_s: float = 10.0,
    stats: ProbeStats | None = None,
) -> tuple[list[Identified], ProbeStats]:
    """Each listed file's content digest and probe, in order, in ``workers`` threads.

    A file whose resolved path and stat are in the cache is neither read nor
    probed. Any other is hashed; its cached probe is reused when the bytes
    are those cached (only its stat changed), else it is probed. Each
    distinct file (by ``file_key``) is handled once, however many paths lead
    to it. A line every ``log_every_s`` seconds says how far it is.
    """
    stats = stats if stats is not None else ProbeStats()
    stats.listed = len(paths)
    keys = [file_key(p) for p in paths]
    results: list[Identified | None] = [None] * len(paths)
    cached = cache.find([k[0] for k in keys if k is not None]) if cache is not None else []
    previous: dict[FileKey, Cached | None] = {}
    todo: dict[FileKey | int, list[int]] = {}  # one task per file; a keyless path on its own
    position = 0
    for index, key in enumerate(keys):
        if key is None:
            todo[index] = [index]
            continue
        entry = cached[position] if cache is not None else None
        position += 1
        if entry is not None and entry.key == key:
            results[index] = Identified(entry.digest, entry.info)
            stats.reused += 1
            continue
        previous[key] = entry
        todo.setdefault(key, []).append(index)
    stats.shared = sum(len(indices) - 1 for indices in todo.values())
    LOG.info(
        "%d videos: %d answered by the probe cache, %d files to hash and probe in %d threads",
        len(paths),
        stats.reused,
        len(todo),
        max(1, workers),
    )

    def identify(who: FileKey | int, path: Path) -> tuple[Identified, bool, bool]:
        """The file's identity; whether it was hashed, and whether it was probed."""
        if isinstance(who, int):
            return Identified(None, probe(path)), False, True
        digest = _digest_or_none(path)
        entry = previous.get(who)
        if digest is not None and entry is not None and entry.digest == digest:
            return Identified(digest, entry.info), True, False
        return Identified(digest, probe(path)), True, True

    started = last = time.monotonic()
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        futures = {
            pool.submit(identify, who, Path(paths[indices[0]])): who
            for who, indices in todo.items()
        }
        for done, future in enumerate(as_completed(futures), start=1):
            who = futures[future]
            result, hashed, probed = future.result()
            stats.hashed += hashed
            stats.probed += probed
            stats.same_content += hashed and not probed
            for index in todo[who]:
                results[index] = result
            if cache is not None and not isinstance(who, int) and result.digest is not None:
                cache.put(who, result.digest, result.info)
            now = time.monotonic()
            if now - last >= log_every_s and done < len(futures):
                last = now
                rate = done / (now - started)
                LOG.info(
                    "identified %d/%d files (%.1f/s, about %.0f s left)",
                    done,
                    len(futures),
                    rate,
                    (len(futures) - done) / rate,
                )
    LOG.info(
        "done in %.1f s: %d files hashed (%d of them unchanged inside), %d probes run, "
        "%d reused from the cache, %d shared by links",
        time.monotonic() - started,
        stats.hashed,
        stats.same_content,
        stats.probed,
        stats.reused,
        stats.shared,
    )
    if cache is not None:
        if cache.save():
            LOG.info("probe cache %s written (%d entries changed)", cache.path, len(cache._new))
        else:
            LOG.info("probe cache unchanged: not written")
    assert all(result is not None for result in results)
    return cast(list[Identified], results), stats


def probe_videos(
    paths: Sequence[str | os.PathLike[str]],
    probe: Callable[[Path], VideoInfo] = probe_video,
    workers: int = 1,
    cache: ProbeCache | None = None,
    log_every_s: float = 10.0,
    stats: ProbeStats | None = None,
) -> tuple[list[VideoInfo], ProbeStats]:
    """What each listed file holds, in order (``identify_videos`` without the digests)."""
    results, stats = identify_videos(paths, probe, workers, cache, log_every_s, stats)
    return [r.info for r in results], stats
