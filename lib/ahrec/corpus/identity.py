"""What a listed file *is*: its content, not its path, size and modification time.

A recording replaced by a fixed copy, or edited in place by a metadata tool
that puts the modification time back, keeps its path, often its size and
sometimes its mtime; a byte copy of a training video under another name is
the same recording. Identity therefore comes from the bytes (SHA-256,
``ahrec.io.content_digest``), computed in bounded memory.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import stat
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

# (inode, size, mtime_ns, ctime_ns) of a regular file, links followed. The
# change time is set by the kernel on every write, rename or utime and no user
# tool can put it back, so a same-size edit whose mtime was restored (as
# metadata tools do) still changes the key.
StatKey = tuple[int, int, int, int]
# The resolved path and its StatKey: what a cached digest and probe belong to.
FileKey = tuple[str, int, int, int, int]


def stat_key(path: str | os.PathLike[str]) -> StatKey | None:
    """The file's ``StatKey``; None when it is missing or not a regular file (a folder, a device)."""
    try:
        info = os.stat(path)
    except (OSError, ValueError):
        return None
    if not stat.S_ISREG(info.st_mode):
        return None
    return (info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)


def file_key(path: str | os.PathLike[str]) -> FileKey | None:
    """``(realpath, inode, size, mtime_ns, ctime_ns)``; None if not a regular file.

    Links are followed, so every link to one file has one key.
    """
    key = stat_key(path)
    if key is None:
        return None
    return (os.path.realpath(path), *key)


def listing_fingerprint(paths: Iterable[str | os.PathLike[str]]) -> str:
    """A hash of each listed path and its ``StatKey`` (``-`` when missing), in order.

    Cheap (one ``stat`` per path, no read): it is computed while Snakemake
    plans, as a parameter of the manifest jobs, so that a listed recording
    replaced or edited in place (whatever its mtime) reruns the manifest,
    which then hashes and probes that file again.
    """
    digest = hashlib.sha256()
    for path in paths:
        key = stat_key(path)
        text = "-" if key is None else ",".join(map(str, key))
        digest.update(os.fsencode(path) + b"\0" + text.encode("ascii") + b"\n")
    return digest.hexdigest()


def _inside(root: str, video_path: str) -> str | None:
    """``records.resolve_inside`` on strings (pathlib costs seconds at 100,000 lines)."""
    relative = video_path.replace("\\", "/")
    normal = posixpath.normpath(relative) if relative else ""
    if not normal or normal in (".", "..") or normal.startswith(("../", "/")):
        return None
    return os.path.join(root, normal)


def corpus_files(corpus: Mapping[str, Any]) -> list[str]:
    """The files a corpus lists whose content the manifest reads: its videos and, for BAH
    lines without a transcript, the ``<video stem>.yaml`` beside each.

    Only the path fields are read, with the readers' own line and CSV parsers
    (no record is built, no transcript read): it runs while Snakemake plans.
    A line the reader would refuse may add a path here; it only makes the
    manifest run, which then reports the line.
    """
    from ahrec.corpus.bah import parse_split_line, read_text_lines
    from ahrec.corpus.csv_manifest import csv_rows
    from ahrec.corpus.formats import FORMATS, BahSpec, CsvSpec

    _, options, problems = FORMATS.parse("corpus", corpus)
    if problems:
        raise ValueError("; ".join(problems))
    files: list[str] = []
    if isinstance(options, CsvSpec):
        root = options.root if options.root else os.path.dirname(options.manifest)
        rows = csv_rows(Path(options.manifest))
        next(rows)  # the header
        for _, row in rows:
            path = _inside(root, row.get("video_path", ""))
            if path is not None:
                files.append(path)
    elif isinstance(options, BahSpec):
        names = [*options.split_files.values(), options.hidden_test]
        for name in filter(None, names):
            for line in read_text_lines(Path(options.root) / name):
                parsed = parse_split_line(line)
                path = _inside(options.root, parsed[0]) if parsed else None
                if path is None:
                    continue
                files.append(path)
                if options.timestamped_transcripts and not parsed[2]:  # type: ignore[index]
                    files.append(os.path.splitext(path)[0] + ".yaml")
    else:
        raise ValueError(f"no listing for the corpus type {corpus.get('type')!r}")
    return files


def corpus_fingerprint(corpus: Mapping[str, Any]) -> str | None:
    """``listing_fingerprint`` of a corpus's files; None for the demo (its videos are the
    demo_corpus rule's outputs, rewritten with its lists). A corpus that cannot be read
    gets a fixed value: the manifest job reports its problems."""
    if corpus.get("type") == "demo":
        return None
    try:
        return listing_fingerprint(corpus_files(corpus))
    except Exception:  # noqa: BLE001  (planning must not fail here; the manifest job says why)
        return "unreadable"
