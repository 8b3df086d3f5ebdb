"""The one record type every corpus reader produces, and the one way a row becomes one.

BAH split files, CSV manifests, the demo corpus and lists of new videos all
become lists of ``VideoRecord``; everything downstream (the manifest, media,
models) only knows this shape, so a new corpus format is one new reader. A
reader parses its rows; ``record_from_row`` checks each row's fields (the
transcript's length, an empty path, the split, the label, a path outside the
root) and builds the record, so every format refuses the same things with
the same messages.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import posixpath
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from stat import S_ISREG

from ahrec.errors import CorpusError, one_line, quote
from ahrec.io import content_digest

LOG = logging.getLogger(__name__)

SPLITS = ("train", "val", "test", "hidden")
LABELLED_SPLITS = ("train", "val", "test")
MAX_TRANSCRIPT_CHARS = 100_000  # about ten hours of speech; BAH's longest is ~2,000


@dataclass(frozen=True)
class VideoRecord:
    """One video as a corpus lists it.

    ``video_path`` is the path exactly as the list gives it (the submission
    repeats it); ``path`` is where the file is on this machine.
    """

    video_path: str
    path: Path
    split: str
    label: int | None
    participant: str
    transcript: str | None
    transcript_source: str | None
    list_order: int
    source: str  # "<file>:<line>" so that every message can point at it


def too_long(where: str, what: str, length: int, limit: int = MAX_TRANSCRIPT_CHARS) -> str:
    """The message for a transcript over the length limit."""
    return (
        f"{where}: {what} is {length:,} characters long, more than the {limit:,} a "
        "transcript may hold; shorten it (or leave it empty for speech recognition)"
    )


@dataclass(frozen=True)
class RowFields:
    """How a list names a row's fields in its messages, and whether a label may be empty.

    The defaults are a CSV's (its column names, an empty label is unknown); a
    BAH split line names its fields by position and needs a label on every line.
    """

    video_path: str = "video_path"
    transcript: str = "the transcript"
    labels: str = "0, 1 or empty (unknown)"
    label_fix: str = ""  # appended to the label's message: where to fix it
    label_required: bool = False


def record_from_row(
    where: str,
    root: Path,
    fields: RowFields,
    *,
    video_path: str,
    split: str,
    order: int,
    label: str | None = None,
    participant: str | None = None,
    transcript: str = "",
) -> VideoRecord:
    """The record of one listed row, or CorpusError with the row's first problem.

    Checked in this order: the transcript's length, an empty path, the split
    (one of ``SPLITS``), the label (``None``: the row has none, as in a hidden
    test list), and a path that escapes ``root`` (``resolve_inside``). The
    participant is the row's own, else the one its path encodes. ``where``
    (``<file>:<line>``) starts every message and becomes the record's source.
    """
    if len(transcript) > MAX_TRANSCRIPT_CHARS:
        raise CorpusError([too_long(where, fields.transcript, len(transcript))])
    if not video_path:
        raise CorpusError([f"{where}: {fields.video_path} is empty"])
    if split not in SPLITS:
        raise CorpusError(
            [f"{where}: split must be one of {', '.join(SPLITS)}, got {quote(split)}"]
        )
    value: int | None = None
    if label is not None and (label or fields.label_required):
        if label not in ("0", "1"):
            raise CorpusError(
                [f"{where}: label must be {fields.labels}, got {quote(label)}{fields.label_fix}"]
            )
        value = int(label)
    absolute = resolve_inside(root, video_path)
    if absolute is None:
        raise CorpusError([outside_root(where, video_path, root)])
    return VideoRecord(
        video_path=video_path,
        path=absolute,
        split=split,
        label=value,
        participant=participant or participant_from_path(video_path),
        transcript=transcript or None,
        transcript_source="list" if transcript else None,
        list_order=order,
        source=where,
    )


_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")
ID_HASH_CHARS = 16  # 64 bits: at 1,000,000 videos a collision has odds of about 1 in 37,000,000


def path_digest(video_path: str) -> str:
    """The hash part of a video id: SHA-256 of the listed path, ``ID_HASH_CHARS`` hex digits."""
    return hashlib.sha256(video_path.encode("utf-8")).hexdigest()[:ID_HASH_CHARS]


def video_id_for(video_path: str) -> str:
    """A stable, file-name-safe id: readable stem plus a hash of the listed path.

    Stable across machines (it depends on the listed relative path only) and
    safe as a Snakemake wildcard and a file name whatever the original name
    holds (spaces, quotes, unicode, leading dashes). The hash has 64 bits, so
    that same-named files (``Question_1.mp4`` in every participant's folder)
    do not meet by chance; ``validate_records`` still refuses a collision,
    naming both files.
    """
    stem = PurePosixPath(video_path.replace("\\", "/")).stem
    readable = _UNSAFE.sub("_", stem).strip("_-")[:48] or "video"
    return f"{readable}-{path_digest(video_path)}"


TRAINING_SPLITS = ("train", "val")


def prediction_shards(n_shards: int) -> int:
    """How many of a corpus's shards hold the videos that are only predicted (test, hidden)."""
    return max(1, n_shards // 4) if n_shards >= 2 else 0


def shard_for(video_id: str, n_shards: int, split: str | None = None) -> int:
    """The shard a video belongs to: a stable hash, independent of list order.

    Adding a video therefore changes the membership of one shard only. Given
    its ``split`` (and at least two shards), a video models train on (train,
    val) goes to one of the first shards and a video that is only predicted
    (test, hidden test) to one of the last ``prediction_shards``: adding or
    removing a test video then changes no shard a model trains on, so no
    model is retrained. A batch of new videos (no training videos) uses them all.
    """
    digest = int(hashlib.sha1(video_id.encode("utf-8")).hexdigest()[:12], 16)
    predicting = prediction_shards(n_shards)
    if split is None or not predicting:
        return digest % n_shards
    training = n_shards - predicting
    if split in TRAINING_SPLITS:
        return digest % training
    return training + digest % predicting


def participant_from_path(video_path: str) -> str:
    """The participant id BAH encodes in its paths: ``Videos/<participant>/...``.

    Falls back to the first folder, then to the file name's prefix before its
    first underscore, for corpora laid out more simply.
    """
    parts = PurePosixPath(video_path.replace("\\", "/")).parts
    if len(parts) >= 3 and parts[0].lower() == "videos":
        return parts[1]
    if len(parts) >= 2:
        return parts[0] if parts[0].lower() != "videos" else parts[1]
    stem = PurePosixPath(video_path).stem
    return stem.split("_", 1)[0] or stem


def resolve_inside(root: Path, video_path: str) -> Path | None:
    """The absolute path of ``video_path`` under ``root``, or None if it escapes root.

    A split file is data, not code: a ``../`` path must not make the workflow
    read files outside the corpus. The check is lexical so that corpora whose
    videos are symbolic links to other disks (common on clusters) still work.
    The root is kept as configured (relative stays relative), so a working
    directory can be moved or copied without every video looking new.
    """
    relative = video_path.replace("\\", "/")
    if not relative or PurePosixPath(relative).is_absolute():
        return None
    normal = posixpath.normpath(relative)
    if normal == ".." or normal.startswith("../") or normal == ".":
        return None
    return Path(root) / normal


def outside_root(where: str, video_path: str, root: Path) -> str:
    """The message for a listed path that escapes the corpus root."""
    return (
        f"{where}: path {quote(video_path)} is outside the corpus root {root}; "
        "paths must be relative to corpus.root without '..'"
    )


def os_reason(exc: OSError) -> str:
    """Why the system refused a path, in words: ``path too long for this system`` or its strerror.

    A listed path longer than the system allows (``ENAMETOOLONG``: over
    ``PATH_MAX`` in all, or a part over ``NAME_MAX``) says only "File name
    too long", which reads as a problem of the file rather than of the list.
    """
    if exc.errno == errno.ENAMETOOLONG:
        return "path too long for this system"
    return exc.strerror or type(exc).__name__


def missing_video(path: Path) -> str:
    """The problem of a listed video that is not a regular file: ``video not found: <path>``,
    or the reason the system gives when it cannot look the path up (too long, no permission).
    """
    try:
        os.stat(path)
    except OSError as exc:
        if exc.errno not in (errno.ENOENT, errno.ENOTDIR):
            return f"cannot look up the video ({os_reason(exc)}): {one_line(str(path))}"
    except ValueError:  # a NUL in the path: no such file
        pass
    return f"video not found: {one_line(str(path))}"


def file_identity(path: Path, stat: os.stat_result | None = None) -> tuple[str, ...]:
    """What makes two listed paths the same file: device and inode, else the real path.

    A symbolic link (or a hard link) in the test list to a training video is
    the same video twice, whatever its listed name: comparing names would
    let one recording sit in train and test at once. ``stat``: the file's
    ``file_stat``, when the caller has it already.
    """
    if stat is None:
        stat = file_stat(path)  # follows links
    if stat is None:
        return ("path", os.path.realpath(path))
    return ("inode", str(stat.st_dev), str(stat.st_ino))


def corpus_root_of(record: VideoRecord) -> Path | None:
    """The root ``record.path`` was resolved under (``path`` minus the listed path)."""
    relative = PurePosixPath(posixpath.normpath(record.video_path.replace("\\", "/"))).parts
    depth = len(relative)
    parts = record.path.parts
    if depth == 0 or len(parts) < depth or tuple(parts[len(parts) - depth :]) != relative:
        return None
    return Path(*parts[: len(parts) - depth]) if len(parts) > depth else Path(".")


def resolved_participant(record: VideoRecord) -> tuple[str, str] | None:
    """The participant of the file a link points to, and that file, when they differ.

    Only for links whose target lies inside the corpus root, where the layout
    says whose video it is (``Videos/P9/V1/x.mp4 -> ../../P1/V1/y.mp4`` is a
    video of P1 listed under P9), and only when the participant came from
    the listed path (not from a CSV's participant column). Links to other
    disks (common on clusters) keep the participant of their listed path.
    """
    if record.participant != participant_from_path(record.video_path):
        return None
    root = corpus_root_of(record)
    if root is None:
        return None
    relative = os.path.relpath(os.path.realpath(record.path), os.path.realpath(root))
    if relative == os.pardir or relative.startswith(os.pardir + os.sep):
        return None
    target = PurePosixPath(*Path(relative).parts).as_posix()
    if target == posixpath.normpath(record.video_path.replace("\\", "/")):
        return None
    participant = participant_from_path(target)
    return None if participant == record.participant else (participant, target)


def file_stat(path: Path) -> os.stat_result | None:
    """``os.stat`` of a listed file (links followed), None when it cannot be read."""
    try:
        return os.stat(path)
    except (OSError, ValueError):
        return None


def content_duplicates(
    records: Sequence[VideoRecord], stats: Sequence[os.stat_result | None]
) -> list[tuple[int, int]]:
    """Pairs ``(first, later)`` of listed files that are different files with the same bytes.

    A byte copy of a training video under another name is the same recording:
    in the test list it leaks into the evaluation. Only files of equal size
    can be equal, so files are grouped by size first and only groups of two
    or more are hashed (``content_digest``, bounded memory); a corpus of
    real recordings rarely has two of one size, so this costs a ``stat`` per
    file. The same file listed twice (links, hard links) is the identity
    check's (``file_identity``) and is left out here; empty files hold no
    recording (they are unreadable) and are left out too.
    """
    by_size: dict[int, list[int]] = defaultdict(list)
    files: set[tuple[int, int]] = set()
    for index, stat in enumerate(stats):
        if stat is None or not S_ISREG(stat.st_mode) or stat.st_size == 0:
            continue
        if (stat.st_dev, stat.st_ino) in files:
            continue
        files.add((stat.st_dev, stat.st_ino))
        by_size[stat.st_size].append(index)
    pairs: list[tuple[int, int]] = []
    for members in by_size.values():
        if len(members) < 2:
            continue
        first: dict[str, int] = {}
        for index in members:
            try:
                digest = content_digest(records[index].path)
            except OSError:  # vanished or unreadable since: the other checks say so
                continue
            if digest in first:
                pairs.append((first[digest], index))
            else:
                first[digest] = index
    return sorted(pairs, key=lambda pair: pair[1])


MAX_LINK_SCAN = 1_000_000  # entries looked at for the other names of hard-linked files


def participant_scope(video_path: str) -> tuple[str, bool]:
    """The folder (relative) that holds a participant's videos, and whether to look below it.

    Mirrors ``participant_from_path``: ``Videos/P1/...`` -> ``Videos/P1``,
    ``P1/...`` -> ``P1`` (the whole folder); a file whose participant comes
    from its own name -> its folder, not its subfolders.
    """
    parts = PurePosixPath(posixpath.normpath(video_path.replace("\\", "/"))).parts
    if len(parts) >= 3 and parts[0].lower() == "videos":
        return posixpath.join(parts[0], parts[1]), True
    if len(parts) >= 2 and parts[0].lower() != "videos":
        return parts[0], True
    return posixpath.join(*parts[:-1]) if len(parts) > 1 else ".", False


def hard_link_participants(
    records: Sequence[VideoRecord],
    stats: Sequence[os.stat_result | None],
    splits: Sequence[str] = LABELLED_SPLITS,
) -> dict[int, tuple[str, str]]:
    """For listed files hard-linked into another participant's folder: that participant, and
    the other name (relative to the corpus root), by record index.

    A hard link has no target to resolve (``resolved_participant`` sees
    symbolic links only), so its other names are looked for by inode. The
    rule, the cheapest that is exact for the participant check:

    * only files with more links (``st_nlink``) than they have listed names
      are looked for (a name that is listed is the duplicate check's); a
      corpus without hard links costs nothing more than the ``stat``;
    * they are looked for in the folders of the participants the corpus
      lists (``participant_scope``), only, since a link into the folder of a
      participant no split lists cannot put one participant in two splits;
    * entries are matched by the inode ``scandir`` gives (no ``stat`` per
      file), then the device is checked; symbolic links are not followed
      (``resolved_participant`` handles them); at most ``MAX_LINK_SCAN``
      entries are looked at, after which the rest of the search is skipped
      with a warning.

    Only records of ``splits`` whose participant comes from their listed
    path (not from a CSV's participant column) are concerned, as for
    symbolic links.
    """
    listed_names: dict[tuple[int, int], set[str]] = defaultdict(set)
    for record, stat in zip(records, stats, strict=True):
        if stat is not None:
            normal = posixpath.normpath(record.video_path.replace("\\", "/"))
            listed_names[(stat.st_dev, stat.st_ino)].add(normal)
    wanted: dict[int, list[int]] = defaultdict(list)  # inode -> record indexes
    scopes: dict[tuple[str, str], tuple[Path, bool]] = {}
    for index, (record, stat) in enumerate(zip(records, stats, strict=True)):
        if record.split not in splits:
            continue
        if record.participant != participant_from_path(record.video_path):
            continue
        root = corpus_root_of(record)
        if root is None:
            continue
        folder, below = participant_scope(record.video_path)
        scopes.setdefault((os.path.realpath(root), folder), (root, below))
        if stat is None or not S_ISREG(stat.st_mode):
            continue
        if stat.st_nlink > len(listed_names[(stat.st_dev, stat.st_ino)]):
            wanted[stat.st_ino].append(index)
    found: dict[int, tuple[str, str]] = {}
    if not wanted:
        return found
    budget = MAX_LINK_SCAN
    for (_, folder), (root, below) in sorted(scopes.items()):
        pending = [folder]
        while pending and budget > 0:
            relative = pending.pop()
            try:
                with os.scandir(Path(root) / relative) as scan:
                    entries = list(scan)
            except OSError:
                continue
            budget -= len(entries)
            for entry in entries:
                name = posixpath.normpath(posixpath.join(relative, entry.name))
                try:
                    if entry.is_symlink():
                        continue
                    if entry.is_dir(follow_symlinks=False):
                        if below:
                            pending.append(name)
                        continue
                    if entry.inode() not in wanted:
                        continue
                    device = entry.stat(follow_symlinks=False).st_dev
                except OSError:
                    continue
                participant = participant_from_path(name)
                for index in wanted[entry.inode()]:
                    record, stat = records[index], stats[index]
                    if stat is None or stat.st_dev != device or index in found:
                        continue
                    if participant != record.participant:
                        found[index] = (participant, name)
        if budget <= 0:
            LOG.warning(
                "looked at %d files for the other names of hard-linked videos, and stopped: "
                "hard links into other participants' folders past those are not checked",
                MAX_LINK_SCAN,
            )
            break
    return found
