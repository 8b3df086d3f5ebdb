"""An export's list of its files, and the check of a folder against it.

An exported ensemble comes from another machine: before any file of it is
parsed or loaded, the folder must hold exactly the files ``files.json`` lists
(path, size, SHA-256), as regular files, with no link, no code and nothing
over the caps. The export rule writes the list last; ``verify_export`` reads
each file once, without following a link, and parses every JSON and YAML in
it with the bounded loaders.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import stat
from pathlib import Path
from typing import Any

from ahrec.errors import ConfigError
from ahrec.io import content_digest

FORMAT = 1
ENSEMBLE_JSON = "ensemble.json"
FILES_JSON = "files.json"
# Snakemake marks a finished directory output with this empty file, after the job
# (so it is in no ``files.json``): the export's own folder has one, and so has every
# model folder the workflow wrote. Copies leave it out; the check lets an empty one be.
SNAKEMAKE_MARKER = ".snakemake_timestamp"
# Caps on what an export may hold: generous for a paper-size ensemble (a fine-tuned
# VideoMAE and a text transformer are ~350 MB each, a Whisper checkpoint up to ~3 GB),
# finite for anything else.
MAX_FILE_BYTES = 8 * 1024**3  # one file
MAX_EXPORT_BYTES = 32 * 1024**3  # all files together
MAX_FILES = 10_000
MAX_DEPTH = 16  # folders below the export
MAX_FILES_JSON_BYTES = 4 * 1024 * 1024  # ~25,000 entries
# Files that are code, or that Python runs when it finds them: never in an export.
CODE_SUFFIXES = (".py", ".pyc", ".pyo", ".pyd", ".pyw", ".pth", ".so", ".dll", ".dylib", ".sh")
DATA_SUFFIXES = (".json", ".yaml", ".yml")  # parsed with the bounded loaders when verified
PART = re.compile(r"[A-Za-z0-9_+=@-][A-Za-z0-9 _.+=@-]{0,199}")
SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclasses.dataclass(frozen=True)
class ExportFile:
    """One entry of ``files.json``."""

    path: str  # relative, POSIX
    size: int
    sha256: str


def write_files_json(folder: str | Path) -> list[ExportFile]:
    """List every file of an export (path, size, SHA-256) in its ``files.json``."""
    folder = Path(folder)
    entries = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        relative = path.relative_to(folder).as_posix()
        if relative == FILES_JSON or path.name == SNAKEMAKE_MARKER:
            continue
        entries.append(ExportFile(relative, path.stat().st_size, content_digest(path)))
    record = {"format": FORMAT, "files": [dataclasses.asdict(e) for e in entries]}
    (folder / FILES_JSON).write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    return entries


def plain_relative(value: Any) -> str | None:
    """Why ``value`` is not a plain relative POSIX path of plain names, or None."""
    if not isinstance(value, str) or not value:
        return "expected a relative path"
    parts = value.split("/")
    if len(parts) > MAX_DEPTH + 1:
        return f"more than {MAX_DEPTH} folders deep"
    for part in parts:
        if not PART.fullmatch(part) or part.endswith((" ", ".")) or set(part) == {"."}:
            return f"{part!r} is not a plain file or folder name"
    return None


def _read_files_json(folder: Path, problems: list[str]) -> dict[str, ExportFile]:
    from ahrec.safe_load import DocumentError, load_json

    path = folder / FILES_JSON
    try:
        record = load_json(path, MAX_FILES_JSON_BYTES, follow_links=False)
    except DocumentError as exc:
        hint = (
            f"; this export has no list of its files: export it again with "
            f"`snakemake results/export/<run>` ({FILES_JSON} lists every file with its SHA-256)"
            if exc.problem == "no such file"
            else ""
        )
        raise ConfigError(f"{exc}{hint}") from None
    if not isinstance(record, dict) or record.get("format") != FORMAT:
        raise ConfigError(f"{path}: unsupported format; export the ensemble again")
    raw = record.get("files")
    if not isinstance(raw, list) or len(raw) > MAX_FILES:
        raise ConfigError(f"{path}: files: expected a list of at most {MAX_FILES:,} entries")
    files: dict[str, ExportFile] = {}
    total = 0
    for index, entry in enumerate(raw):
        where = f"{path}: files[{index}]"
        if not isinstance(entry, dict) or set(entry) != {"path", "size", "sha256"}:
            problems.append(f"{where}: expected exactly the keys path, size, sha256")
            continue
        name, size, digest = entry["path"], entry["size"], entry["sha256"]
        why = plain_relative(name)
        if why:
            problems.append(f"{where}.path: {why}, got {str(name)[:200]!r}")
            continue
        if name.lower().endswith(CODE_SUFFIXES):
            problems.append(f"{where}.path: {name} is code; an export holds data only")
            continue
        if name == FILES_JSON or name in files:
            problems.append(f"{where}.path: {name} is listed twice")
            continue
        if not (isinstance(size, int) and not isinstance(size, bool) and size >= 0):
            problems.append(f"{where}.size: expected a size in bytes, got {size!r}")
            continue
        if size > MAX_FILE_BYTES:
            problems.append(
                f"{where}: {name} is {size:,} bytes, more than the {MAX_FILE_BYTES:,} a file "
                "of an export may hold"
            )
            continue
        if not isinstance(digest, str) or not SHA256.fullmatch(digest):
            problems.append(f"{where}.sha256: expected 64 lowercase hex digits")
            continue
        total += size
        files[name] = ExportFile(name, size, digest)
    if total > MAX_EXPORT_BYTES:
        problems.append(
            f"{path}: the export holds {total:,} bytes, more than the {MAX_EXPORT_BYTES:,} allowed"
        )
    return files


def _walk(folder: Path, problems: list[str]) -> dict[str, os.stat_result]:
    """Every entry below ``folder`` by relative path, never following a link."""
    found: dict[str, os.stat_result] = {}
    pending = [(folder, "", 0)]
    while pending:
        current, prefix, depth = pending.pop()
        try:
            entries = sorted(os.scandir(current), key=lambda e: e.name)
        except OSError as exc:
            problems.append(f"{current}: cannot be listed ({exc.strerror})")
            continue
        for entry in entries:
            relative = f"{prefix}{entry.name}"
            info = entry.stat(follow_symlinks=False)
            if stat.S_ISLNK(info.st_mode):
                problems.append(
                    f"{folder / relative}: is a symbolic link; an export holds no links "
                    "(copy it with `cp -rL` or export it again)"
                )
            elif stat.S_ISDIR(info.st_mode):
                if depth >= MAX_DEPTH:
                    problems.append(f"{folder / relative}: more than {MAX_DEPTH} folders deep")
                else:
                    pending.append((Path(entry.path), f"{relative}/", depth + 1))
            elif not stat.S_ISREG(info.st_mode):
                problems.append(
                    f"{folder / relative}: is not a regular file (a device, FIFO or socket)"
                )
            elif entry.name == SNAKEMAKE_MARKER and info.st_size == 0:
                continue
            else:
                found[relative] = info
            if len(found) > MAX_FILES + 1:
                problems.append(f"{folder}: holds more than {MAX_FILES:,} files")
                return found
    return found


def _check_file(folder: Path, entry: ExportFile) -> str | None:
    """Why a listed file does not match its entry (read once, without following links), or None."""
    from ahrec.safe_load import MAX_JSON_BYTES, DocumentError, decode_text, parse_json, parse_yaml

    path = folder / entry.path
    flags = os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        return f"{path}: cannot be read ({exc.strerror})"
    parse = entry.path.lower().endswith(DATA_SUFFIXES)
    kept: list[bytes] = []
    digest = hashlib.sha256()
    read = 0
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return f"{path}: is not a regular file"
        if info.st_nlink > 1:
            return (
                f"{path}: is a hard link ({info.st_nlink} names for one file); an export holds "
                "no links (copy it with `cp -r`)"
            )
        if info.st_size != entry.size:
            return f"{path}: {info.st_size:,} bytes, but {FILES_JSON} lists {entry.size:,}"
        if parse and entry.size > MAX_JSON_BYTES:
            return f"{path}: {entry.size:,} bytes, more than the {MAX_JSON_BYTES:,} a JSON or YAML file may hold"
        while read <= entry.size:
            block = os.read(fd, min(1 << 20, entry.size + 1 - read))
            if not block:
                break
            read += len(block)
            digest.update(block)
            if parse:
                kept.append(block)
    finally:
        os.close(fd)
    if read != entry.size:
        return f"{path}: {read:,} bytes read, but {FILES_JSON} lists {entry.size:,}"
    if digest.hexdigest() != entry.sha256:
        return (
            f"{path}: its content does not match its SHA-256 in {FILES_JSON} (changed or damaged)"
        )
    if parse:
        try:
            text = decode_text(path, b"".join(kept))
            if entry.path.lower().endswith(".json"):
                parse_json(text, path)
            else:
                parse_yaml(text, path, what="an exported ensemble")
        except DocumentError as exc:
            return str(exc)
    return None


def verify_export(folder: str | Path) -> dict[str, ExportFile]:
    """Check an export's folder against its ``files.json``; the entries, or ConfigError.

    Refused, every problem named at once: a file not listed, a listed file
    missing or of another size or SHA-256, a symbolic or hard link anywhere
    in the tree, a device, FIFO or socket, code (``.py``, ``.so``...), a file
    or a total over the caps, and JSON or YAML the bounded loaders refuse.
    Nothing is read through a link.
    """
    folder = Path(folder)
    if not (folder / ENSEMBLE_JSON).exists() and not (folder / ENSEMBLE_JSON).is_symlink():
        raise ConfigError(
            f"{folder}: not an exported ensemble ({ENSEMBLE_JSON} is missing); export one with "
            "`snakemake results/export/<fusion run>` and copy that folder"
        )
    problems: list[str] = []
    files = _read_files_json(folder, problems)
    present = _walk(folder, problems)
    for relative in sorted(set(present) - set(files) - {FILES_JSON}):
        problems.append(
            f"{folder / relative}: not listed in {FILES_JSON}; an export holds only the files "
            "it lists (remove it, or export the ensemble again)"
        )
    for relative in sorted(set(files) - set(present)):
        problems.append(f"{folder / relative}: listed in {FILES_JSON} but missing")
    if not problems:
        for entry in files.values():
            problem = _check_file(folder, entry)
            if problem:
                problems.append(problem)
    if problems:
        raise ConfigError(
            f"{folder}: not a usable exported ensemble:\n"
            + "\n".join(f"  - {p}" for p in problems[:50])
            + (f"\n  ... and {len(problems) - 50} more" if len(problems) > 50 else "")
        )
    return files
