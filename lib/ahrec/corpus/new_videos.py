"""New videos to predict: a folder of videos, or a CSV that lists them.

Users who apply a trained ensemble to their own recordings have neither
split files nor labels. Their videos become ordinary ``VideoRecord``s in the
``hidden`` split (no label), so the same manifest, media, transcript and
embedding code handles them as it handles a challenge's hidden test list.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from ahrec.corpus.bah import read_text_lines
from ahrec.corpus.records import VideoRecord, outside_root, participant_from_path, resolve_inside
from ahrec.errors import CorpusError

VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg")
CSV_COLUMNS = ("video_path", "transcript", "participant")
SPLIT = "hidden"


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


def _from_folder(folder: Path) -> list[VideoRecord]:
    found = sorted(
        path.relative_to(folder).as_posix()
        for path in folder.rglob("*")
        if path.is_file() and path.suffix.lower() in VIDEO_SUFFIXES
    )
    if not found:
        raise CorpusError(
            [f"{folder}: no videos found (looked for {', '.join(VIDEO_SUFFIXES)}, recursively)"]
        )
    return [_record(folder, rel, f"{folder}/{rel}", i) for i, rel in enumerate(found)]


def _from_csv(path: Path) -> list[VideoRecord]:
    reader = csv.DictReader(io.StringIO("\n".join(read_text_lines(path))))
    header = [h.strip() for h in (reader.fieldnames or [])]
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
    for row in reader:
        row = {(k or "").strip(): (v or "").strip() for k, v in row.items() if k is not None}
        if not any(row.values()):
            continue
        where = f"{path}:{reader.line_num}"
        if not row.get("video_path"):
            raise CorpusError([f"{where}: video_path is empty"])
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
