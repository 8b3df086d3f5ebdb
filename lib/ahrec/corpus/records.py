"""The one record type every corpus reader produces.

BAH split files, CSV manifests and the demo corpus all become lists of
``VideoRecord``; everything downstream (the manifest, media, models) only
knows this shape, so a new corpus format is one new reader.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

SPLITS = ("train", "val", "test", "hidden")
LABELLED_SPLITS = ("train", "val", "test")


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


_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


def video_id_for(video_path: str) -> str:
    """A stable, file-name-safe id: readable stem plus a hash of the listed path.

    Stable across machines (it depends on the listed relative path only) and
    safe as a Snakemake wildcard and a file name whatever the original name
    holds (spaces, quotes, unicode, leading dashes).
    """
    stem = PurePosixPath(video_path.replace("\\", "/")).stem
    readable = _UNSAFE.sub("_", stem).strip("_-")[:48] or "video"
    digest = hashlib.sha1(video_path.encode("utf-8")).hexdigest()[:8]
    return f"{readable}-{digest}"


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
        f"{where}: path {video_path!r} is outside the corpus root {root}; "
        "paths must be relative to corpus.root without '..'"
    )


def file_identity(path: Path) -> tuple[str, ...]:
    """What makes two listed paths the same file: device and inode, else the real path.

    A symbolic link (or a hard link) in the test list to a training video is
    the same video twice, whatever its listed name: comparing names would
    let one recording sit in train and test at once.
    """
    try:
        stat = os.stat(path)  # follows links
    except OSError:
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
