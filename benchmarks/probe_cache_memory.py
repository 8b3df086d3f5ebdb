"""Peak memory of the probe cache at its entry cap: load, look up a corpus, update, save.

Writes a synthetic cache of ``--entries`` rows (realistic paths of about 70
characters, digests, probes), then, in a fresh process, does what a manifest
build of ``--corpus`` videos does with it: loads it, looks every video up,
puts an entry for each (their stat changed: the worst case, every entry new)
and saves it (re-read and merge included). Prints the peak RSS of that
process (``ru_maxrss``) and of the same process before loading (Python,
pyarrow and NumPy alone), so the cache's own share is the difference.
``--merge``: the worst case, another job saved the file meanwhile (it is read
again, by row groups, and merged).

    .venv/bin/python benchmarks/probe_cache_memory.py --workdir /tmp/cache-mem
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "lib"))


def realpath(index: int) -> str:
    return f"/data/corpora/BAH/Videos/P{index // 12:06d}/Visite_{index % 3 + 1}/question_{index % 12:02d}.mp4"


def write_cache(path: Path, entries: int) -> None:
    import hashlib

    import pyarrow as pa
    import pyarrow.parquet as pq

    from ahrec.corpus.probe_cache import CACHE_SCHEMA, probe_version

    version = probe_version()
    batch = 100_000
    writer = pq.ParquetWriter(path, CACHE_SCHEMA)
    for start in range(0, entries, batch):
        stop = min(entries, start + batch)
        rows = range(start, stop)
        writer.write_table(
            pa.table(
                {
                    "realpath": [realpath(i) for i in rows],
                    "inode": list(rows),
                    "size": [10_000_000 + i for i in rows],
                    "mtime_ns": [1_700_000_000_000_000_000 + i for i in rows],
                    "ctime_ns": [1_700_000_000_000_000_000 + i for i in rows],
                    "digest": [hashlib.sha256(str(i).encode()).hexdigest() for i in rows],
                    "version": [version] * len(rows),
                    "duration": [30.0] * len(rows),
                    "fps": [30.0] * len(rows),
                    "n_frames": [900] * len(rows),
                    "width": [1280] * len(rows),
                    "height": [720] * len(rows),
                    "has_video": [True] * len(rows),
                    "has_audio": [True] * len(rows),
                    "readable": [True] * len(rows),
                    "problem": [None] * len(rows),
                },
                schema=CACHE_SCHEMA,
            )
        )
    writer.close()


def build(path: Path, corpus: int, merge: bool) -> None:
    """The cache's work in one manifest build of ``corpus`` listed videos (in this process)."""
    import hashlib

    from ahrec.corpus.probe_cache import ProbeCache
    from ahrec.media.probe import VideoInfo

    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started = time.monotonic()
    cache = ProbeCache(path)
    loaded = time.monotonic()
    paths = [realpath(i) for i in range(corpus)]
    found = cache.find(paths)
    assert all(entry is not None for entry in found)
    info = VideoInfo(readable=True, duration=31.0, fps=30.0, n_frames=930, width=1280, height=720)
    for index, entry in enumerate(found):
        assert entry is not None
        key = (entry.key[0], entry.key[1], entry.key[2], entry.key[3] + 1, entry.key[4] + 1)
        cache.put(key, hashlib.sha256(f"new {index}".encode()).hexdigest(), info)
    looked = time.monotonic()
    if merge:  # as if another job had saved meanwhile: the file is read again and merged
        os.utime(path)
    assert cache.save()
    saved = time.monotonic()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"peak RSS {peak:.0f} MiB (before loading {base:.0f} MiB); load {loaded - started:.1f} s, "
        f"look up and put {corpus} {looked - loaded:.1f} s, save {saved - looked:.1f} s"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--entries", type=int, default=None, help="default: MAX_ENTRIES")
    parser.add_argument("--corpus", type=int, default=100_000)
    parser.add_argument(
        "--merge", action="store_true", help="the worst case: the file changed before the save"
    )
    parser.add_argument("--build", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.build:
        build(args.build, args.corpus, args.merge)
        return 0
    from ahrec.corpus.probe_cache import MAX_ENTRIES

    entries = args.entries or MAX_ENTRIES
    args.workdir.mkdir(parents=True, exist_ok=True)
    path = args.workdir / "probes.parquet"
    write_cache(path, entries)
    print(f"# {entries:,} entries, {path.stat().st_size / 2**20:.0f} MiB on disk")
    command = [sys.executable, __file__, "--workdir", str(args.workdir)]
    command += ["--corpus", str(args.corpus), "--build", str(path)]
    command += ["--merge"] if args.merge else []
    subprocess.run(command, check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
