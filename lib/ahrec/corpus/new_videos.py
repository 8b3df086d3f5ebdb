"""New videos to predict: a folder of videos, or a CSV that lists them.

Users who apply a trained ensemble to their own recordings have neither
split files nor labels. Their videos become ordinary ``VideoRecord``s in the
``hidden`` split (no label), so the same manifest, media, transcript and
embedding code handles them as it handles a challenge's hidden test list.

A folder's recordings are the files with a video suffix (``VIDEO_SUFFIXES``)
or an audio one (``AUDIO_SUFFIXES``: phone and audio interviews, whose audio
and text are used). Everything else in it (notes, spreadsheets, hidden files
and folders such as ``.DS_Store`` or macOS's ``._name.mp4``) is skipped, and
the batch's log lists what was skipped and why (``skipped_lines``), so that a
recording in a format not on the list never disappears without a word.

A folder is walked without following links out of it: a link to a folder is
not entered, and a video-named link to a file outside the folder is an
error (the user meant that video, but the folder names the boundary of what
may be read). A folder that cannot be read entirely (``/``, a home folder
with private subfolders) stops with one message naming it and the fix. A
video whose name is not UTF-8 is skipped with one logged message (its bytes
escaped) and the batch goes on; ``listing_digest`` is what tells Snakemake
that the tree changed below the top folder.
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path
from typing import NamedTuple

from ahrec.corpus.bah import has_undecodable
from ahrec.corpus.csv_manifest import csv_rows
from ahrec.corpus.identity import stat_key
from ahrec.corpus.records import RowFields, VideoRecord, os_reason, record_from_row
from ahrec.errors import CorpusError, one_line, quote_all

# The probe's containers (ahrec.media.probe) as the names cameras, phones and recorders
# give their files. ``.ts`` is left out: TypeScript sources share it.
VIDEO_SUFFIXES = (
    ".mp4",
    ".avi",
    ".mov",
    ".mkv",
    ".webm",
    ".m4v",
    ".mpg",
    ".mpeg",
    ".3gp",
    ".mts",
    ".m2ts",
    ".wmv",
    ".flv",
    ".ogv",
)
AUDIO_SUFFIXES = (
    ".wav",
    ".flac",
    ".mp3",
    ".m4a",
    ".aac",
    ".ogg",
    ".oga",
    ".opus",
    ".wma",
    ".aif",
    ".aiff",
    ".amr",
    ".mka",
)
MEDIA_SUFFIXES = VIDEO_SUFFIXES + AUDIO_SUFFIXES
MAX_SKIPPED_SHOWN = 20  # skipped files named one by one in the log; past that, counted
CSV_COLUMNS = ("video_path", "transcript", "participant")
SPLIT = "hidden"
LOG = logging.getLogger(__name__)
MAX_ENTRIES = 1_000_000  # files and folders looked at; a folder of videos holds far fewer


def read_new_videos(source: str | Path) -> list[VideoRecord]:
    """The videos of a folder (recursively, sorted by path) or of a CSV list."""
    source = Path(source)
    try:
        if source.is_dir():
            return _from_folder(source)
        if source.is_file():
            records, skipped = _from_csv(source)
            for message in skipped:
                LOG.warning("%s", message)
            return records
    except OSError as exc:  # a path too long for the system, a folder that cannot be searched
        raise CorpusError([f"{source}: cannot read it ({os_reason(exc)})"]) from None
    raise CorpusError(
        [f"{source}: not found; predict.<name>.videos must be a folder of videos or a CSV list"]
    )


def _unreadable(folder: Path, directory: str, exc: OSError) -> CorpusError:
    reason = os_reason(exc)
    shown = escaped(directory)
    return CorpusError(
        [
            f"{folder}: cannot read {shown} ({reason}); predict.<name>.videos must be a "
            "folder you can read entirely: point it at the folder that holds the videos to "
            f"predict (or a CSV that lists them), or make {shown} readable"
        ]
    )


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def escaped(name: str, limit: int = 1000) -> str:
    """A file name as text whatever its bytes, on one line: invalid UTF-8 shown as ``\\xff``
    escapes, line breaks and control characters as theirs, cut after ``limit`` characters
    (a CSV list's field may be any length)."""
    return one_line(os.fsencode(name).decode("utf-8", "backslashreplace"), limit)


def bad_name(where: str, name: str) -> str:
    """The message for a file or folder skipped because its name is not UTF-8."""
    return (
        f"{where}: skipped '{escaped(name)}': its name is not valid UTF-8 (the \\x escapes "
        "are its bytes); rename it to predict it"
    )


class FolderListing(NamedTuple):
    """What ``walk_videos`` found: the recordings, the links refused, the names skipped (not
    UTF-8) and the other entries left out, each as ``(name, why)``."""

    found: list[str]
    refused: list[str]
    skipped: list[str]
    ignored: list[tuple[str, str]]


def is_media_name(name: str) -> bool:
    """Whether a folder entry's name is a recording's: a media suffix, not a hidden file."""
    return not name.startswith(".") and os.path.splitext(name)[1].lower() in MEDIA_SUFFIXES


def _why_not(name: str, is_dir: bool = False) -> str:
    """Why a folder entry is not a recording of the batch (its name alone)."""
    if name.startswith("."):
        return "a hidden folder, not searched" if is_dir else "a hidden file"
    suffix = os.path.splitext(name)[1].lower()
    if not suffix:
        return "no suffix: not a video or audio file"
    return f"'{escaped(suffix, 20)}' is not a video or audio suffix"


def skipped_lines(
    folder: str | Path, ignored: list[tuple[str, str]], limit: int = MAX_SKIPPED_SHOWN
) -> list[str]:
    """The log lines of the entries a folder's listing left out: one per entry, up to
    ``limit``, then a count by reason."""
    if not ignored:
        return []
    where = escaped(str(folder))
    lines = [
        f"{where}: {len(ignored)} file(s) or folder(s) skipped, not predicted "
        f"(recordings are {', '.join(MEDIA_SUFFIXES)}):"
    ]
    lines += [f"  skipped '{name}': {why}" for name, why in ignored[:limit]]
    if len(ignored) > limit:
        rest: dict[str, int] = {}
        for _, why in ignored[limit:]:
            rest[why] = rest.get(why, 0) + 1
        common = sorted(rest.items(), key=lambda item: (-item[1], item[0]))  # most first
        counts = "; ".join(f"{count} {why}" for why, count in common)
        lines.append(f"  and {len(ignored) - limit} more ({counts})")
    return lines


def walk_videos(folder: Path, max_entries: int = MAX_ENTRIES) -> FolderListing:
    """Recordings under ``folder`` (relative POSIX paths, sorted), the links refused, the
    names skipped (not UTF-8), one message each, and the entries left out with why.

    Links to folders are not entered; a video-named link is kept when it
    resolves to a file inside the folder, and reported otherwise. A file or
    folder whose name is not UTF-8 is skipped (one message), not an error:
    the other videos of the batch are still predicted. Hidden files and
    folders (a leading ``.``) are left out, as are files without a media
    suffix (``MEDIA_SUFFIXES``) and media-named entries that are no regular
    file (a link to nothing, a pipe): ``ignored`` says which, for the log.
    """
    real_folder = os.path.realpath(folder)
    found: list[str] = []
    refused: list[str] = []
    skipped: list[str] = []
    ignored: list[tuple[str, str]] = []
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
            is_video = is_media_name(entry.name)
            try:
                if has_undecodable(entry.name):
                    if is_video or entry.is_dir(follow_symlinks=False):
                        skipped.append(bad_name(escaped(str(folder)), name))
                    else:
                        ignored.append((escaped(name), _why_not(entry.name)))
                elif entry.is_symlink():
                    if not is_video:
                        ignored.append((escaped(name), _link_reason(entry)))
                        continue
                    target = os.path.realpath(entry.path)
                    if not _inside(target, real_folder):
                        refused.append(
                            f"{folder}/{escaped(name)}: a symbolic link to {escaped(target)}, outside "
                            f"{folder}; links out of the folder are not followed: copy the "
                            "video into the folder, or point predict.<name>.videos at the "
                            "folder that holds it"
                        )
                    elif os.path.isfile(target):
                        found.append(name)
                    else:
                        ignored.append((escaped(name), "a link to no regular file"))
                elif entry.is_dir(follow_symlinks=False):
                    if entry.name.startswith("."):
                        ignored.append((escaped(name), _why_not(entry.name, is_dir=True)))
                    else:
                        pending.append(name)
                elif not is_video:
                    ignored.append((escaped(name), _why_not(entry.name)))
                elif entry.is_file(follow_symlinks=False):
                    found.append(name)
                else:
                    ignored.append((escaped(name), "not a regular file (a pipe, socket or device)"))
            except OSError as exc:
                raise _unreadable(folder, entry.path, exc) from exc
    return FolderListing(sorted(found), refused, sorted(skipped), sorted(ignored))


def _link_reason(entry: os.DirEntry[str]) -> str:
    """Why a symbolic link that is not named as a recording is left out."""
    try:
        if entry.is_dir():  # follows the link: a link to a folder is never entered
            return "a link to a folder, not followed"
    except OSError:  # a loop, a target that cannot be looked up: not followed either
        return "a link that cannot be followed"
    return _why_not(entry.name)


def listing_digest(source: str | Path) -> str:
    """A digest of what a batch's source lists: each video's path, size and modification time.

    The rerun trigger of the batch's manifest (a Snakemake param): a folder's
    own modification time changes only when an entry directly in it is added
    or removed, so a video added to or removed from a subfolder, at any
    depth, would otherwise leave the old manifest in place (a deleted video
    then stops the batch as a missing input). A CSV list's videos count as
    well: one deleted or replaced rebuilds the manifest. Planning time grows
    with the listing (a ``scandir`` walk bounded by ``MAX_ENTRIES`` and a
    ``stat`` per video); a source that cannot be listed gives a digest of the
    message, so the manifest job runs and reports it.
    """
    source = Path(source)
    digest = hashlib.sha256()
    try:
        if source.is_dir():
            listing = walk_videos(source)
            paths = [(name, source / name) for name in listing.found]
            for message in listing.refused + listing.skipped:
                digest.update(f"problem\0{message}\n".encode("utf-8", "surrogateescape"))
        elif source.is_file():
            records, skipped = _from_csv(source)
            paths = [(r.video_path, r.path) for r in records]
            for message in skipped:
                digest.update(f"problem\0{message}\n".encode("utf-8", "surrogateescape"))
        else:
            return "missing"  # the job says so
    except CorpusError as exc:
        digest.update("\n".join(exc.problems).encode("utf-8", "surrogateescape"))
        return "unlisted:" + digest.hexdigest()
    except OSError as exc:  # too long a path, a folder that cannot be searched: the job says so
        digest.update(os_reason(exc).encode("utf-8", "surrogateescape"))
        return "unlisted:" + digest.hexdigest()
    for name, path in paths:
        # inode and change time too: a same-size edit whose mtime was put back (as
        # metadata tools do) must rebuild the manifest
        key = stat_key(path)
        state = "missing" if key is None else ",".join(map(str, key))
        digest.update(f"{name}\0{state}\n".encode("utf-8", "surrogateescape"))
    return digest.hexdigest()


def _from_folder(folder: Path) -> list[VideoRecord]:
    found, refused, skipped, ignored = walk_videos(folder)
    if refused:
        raise CorpusError(refused)
    for message in skipped:
        LOG.warning("%s", message)
    for line in skipped_lines(folder, ignored):
        LOG.info("%s", line)
    if not found:
        left_out = len(skipped) + len(ignored)
        raise CorpusError(
            [
                f"{escaped(str(folder))}: no videos found (looked for videos "
                f"{', '.join(VIDEO_SUFFIXES)} and audio recordings "
                f"{', '.join(AUDIO_SUFFIXES)}, recursively)"
                + (f"; {left_out} skipped, listed in the log" if left_out else "")
            ]
        )
    return [
        record_from_row(
            f"{folder}/{rel}", folder, RowFields(), video_path=rel, split=SPLIT, order=i
        )
        for i, rel in enumerate(found)
    ]


def _from_csv(path: Path) -> tuple[list[VideoRecord], list[str]]:
    """The records of a CSV list, and the lines skipped (a video path that is not UTF-8).

    A list written byte for byte from file names (``find > list.csv``) holds
    names that are not UTF-8 where the files have them: such a line is one
    message and the batch goes on; other bytes that are not UTF-8 (the
    header, a transcript) are the list's error, naming the line.
    """
    rows = csv_rows(path, keep_undecodable=True)
    _, first = next(rows)
    header = list(first)
    if any(has_undecodable(name) for name in header):
        raise CorpusError([f"{path}:1: the header is not valid UTF-8; save the list as UTF-8"])
    if "video_path" not in header:
        raise CorpusError(
            [
                f"{path}:1: the header must name a video_path column (optional: transcript, participant)"
            ]
        )
    unknown = [c for c in header if c not in CSV_COLUMNS]
    if unknown:
        raise CorpusError(
            [f"{path}:1: unknown column(s) {quote_all(unknown)}; allowed: {', '.join(CSV_COLUMNS)}"]
        )
    records = []
    skipped: list[str] = []
    for number, row in rows:
        if not any(row.values()):
            continue
        where = f"{path}:{number}"
        if not row.get("video_path"):  # the line's first problem, before its bytes'
            raise CorpusError([f"{where}: video_path is empty"])
        if has_undecodable(row["video_path"]):
            skipped.append(bad_name(where, row["video_path"]))
            continue
        bad = [column for column, value in row.items() if has_undecodable(value)]
        if bad:
            raise CorpusError(
                [
                    f"{where}: the {bad[0]} is not valid UTF-8 "
                    f"('{escaped(row[bad[0]], 200)}'); save the list as UTF-8"
                ]
            )
        records.append(
            record_from_row(
                where,
                path.parent,
                RowFields(),
                video_path=row["video_path"],
                split=SPLIT,
                order=len(records),
                participant=row.get("participant"),
                transcript=row.get("transcript", ""),
            )
        )
    return records, skipped
