"""New videos to predict: a folder of videos, or a CSV that lists them.

Users who apply a trained ensemble to their own recordings have neither
split files nor labels. Their videos become ordinary ``VideoRecord``s in the
``hidden`` split (no label), so the same manifest, media, transcript and
embedding code handles them as it handles a challenge's hidden test list.

A folder is walked without following links out of it: a link to a folder is
not entered, and a video-named link to a file outside the folder is an
error (the user meant that video, but the folder names the boundary of what
may be read). A folder that cannot be read entirely (``/``, a home folder
with private subfolders) stops with one message naming it and the fix.
"""

from __future__ import annotations

import os
from pathlib import Path

from ahrec.corpus.bah import MAX_TRANSCRIPT_CHARS, too_long
from ahrec.corpus.csv_manifest import csv_rows
from ahrec.corpus.records import VideoRecord, outside_root, participant_from_path, resolve_inside
from ahrec.errors import CorpusError

VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg")
CSV_COLUMNS = ("video_path", "transcript", "participant")
SPLIT = "hidden"
MAX_ENTRIES = 1_000_000  # files and folders looked at; a folder of videos holds far fewer


def read_new_videos(source: str | Path) -> list[VideoRecord]:
    """The videos of a folder (recursively, sorted by path) or of a CSV list."""
    source = Path(source)
    if source.is_dir():
        return _from_folder(source)
    if source.is_file():
        return _from_csv(source)
    raise CorpusError(
        [f"{source}: not found; predict.<name>.videos must be a folder of videos or a CSV list"]
    )


def _record(
    root: Path, video_path: str, where: str, order: int, **extra: str | None
) -> VideoRecord:
    absolute = resolve_inside(root, video_path)
    if absolute is None:
        raise CorpusError([outside_root(where, video_path, root)])
    transcript = extra.get("transcript") or None
    return VideoRecord(
        video_path=video_path,
        path=absolute,
        split=SPLIT,
        label=None,
        participant=extra.get("participant") or participant_from_path(video_path),
        transcript=transcript,
        transcript_source="list" if transcript else None,
        list_order=order,
        source=where,
    )


def _unreadable(folder: Path, directory: str, exc: OSError) -> CorpusError:
    reason = exc.strerror or type(exc).__name__
    return CorpusError(
        [
            f"{folder}: cannot read {directory} ({reason}); predict.<name>.videos must be a "
            "folder you can read entirely: point it at the folder that holds the videos to "
            f"predict (or a CSV that lists them), or make {directory} readable"
        ]
    )


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def walk_videos(folder: Path, max_entries: int = MAX_ENTRIES) -> tuple[list[str], list[str]]:
    """Video files under ``folder`` (relative POSIX paths, sorted) and the links refused.

    Links to folders are not entered; a video-named link is kept when it
    resolves to a file inside the folder, and reported otherwise.
    """
    real_folder = os.path.realpath(folder)
    found: list[str] = []
    refused: list[str] = []
    pending = [""]
    seen = 0
    while pending:
        relative = pending.pop()
        directory = os.path.join(folder, relative) if relative else str(folder)
        try:
            with os.scandir(directory) as scan:
                entries = list(scan)
        except OSError as exc:
            raise _unreadable(folder, directory, exc) from exc
        seen += len(entries)
        if seen > max_entries:
            raise CorpusError(
                [
                    f"{folder}: more than {max_entries:,} files and folders; point "
                    "predict.<name>.videos at the folder that holds the videos to predict"
                ]
            )
        for entry in entries:
            name = f"{relative}/{entry.name}" if relative else entry.name
            is_video = os.path.splitext(entry.name)[1].lower() in VIDEO_SUFFIXES
            try:
                if entry.is_symlink():
                    if not is_video:
                        continue
                    target = os.path.realpath(entry.path)
                    if not _inside(target, real_folder):
                        refused.append(
                            f"{folder}/{name}: a symbolic link to {target}, outside {folder}; "
                            "links out of the folder are not followed: copy the video into "
                            "the folder, or point predict.<name>.videos at the folder that "
                            "holds it"
                        )
                    elif os.path.isfile(target):
                        found.append(name)
                elif entry.is_dir(follow_symlinks=False):
                    pending.append(name)
                elif is_video and entry.is_file(follow_symlinks=False):
                    found.append(name)
            except OSError as exc:
                raise _unreadable(folder, entry.path, exc) from exc
    return sorted(found), refused


def _from_folder(folder: Path) -> list[VideoRecord]:
    found, refused = walk_videos(folder)
    if refused:
        raise CorpusError(refused)
    if not found:
        raise CorpusError(
            [f"{folder}: no videos found (looked for {', '.join(VIDEO_SUFFIXES)}, recursively)"]
        )
    return [_record(folder, rel, f"{folder}/{rel}", i) for i, rel in enumerate(found)]


def _from_csv(path: Path) -> list[VideoRecord]:
    rows = csv_rows(path)
    _, first = next(rows)
    header = list(first)
    if "video_path" not in header:
        raise CorpusError(
            [
                f"{path}:1: the header must name a video_path column (optional: transcript, participant)"
            ]
        )
    unknown = [c for c in header if c not in CSV_COLUMNS]
    if unknown:
        raise CorpusError(
            [f"{path}:1: unknown column(s) {', '.join(unknown)}; allowed: {', '.join(CSV_COLUMNS)}"]
        )
    records = []
    for number, row in rows:
        if not any(row.values()):
            continue
        where = f"{path}:{number}"
        if not row.get("video_path"):
            raise CorpusError([f"{where}: video_path is empty"])
        if len(row.get("transcript", "")) > MAX_TRANSCRIPT_CHARS:
            raise CorpusError([too_long(where, "the transcript", len(row["transcript"]))])
        records.append(
            _record(
                path.parent,
                row["video_path"],
                where,
                len(records),
                transcript=row.get("transcript"),
                participant=row.get("participant"),
            )
        )
    return records
