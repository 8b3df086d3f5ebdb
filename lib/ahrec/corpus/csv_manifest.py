"""Reader of a plain CSV manifest: ``video_path,split[,label,participant,transcript]``.

For corpora that are not laid out like BAH. Quoting follows RFC 4180 (the
csv module), so transcripts with commas must be quoted; paths are relative
to ``corpus.root`` (or to the CSV's own folder when root is not set).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from ahrec.corpus.bah import read_text_lines
from ahrec.corpus.records import (
    SPLITS,
    VideoRecord,
    outside_root,
    participant_from_path,
    resolve_inside,
)
from ahrec.errors import CorpusError

REQUIRED_COLUMNS = ("video_path", "split")
OPTIONAL_COLUMNS = ("label", "participant", "transcript")


def read_csv_manifest(path: Path, root: Path | None = None) -> list[VideoRecord]:
    """All records of a CSV manifest; raises CorpusError with every problem."""
    if not path.is_file():
        raise CorpusError([f"{path}: manifest CSV not found (check corpus.manifest)"])
    root = root if root is not None else path.parent
    text = "\n".join(read_text_lines(path))
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise CorpusError(
            [
                f"{path}:1: missing column(s) {', '.join(missing)}; the header must name "
                f"{', '.join(REQUIRED_COLUMNS)} and optionally {', '.join(OPTIONAL_COLUMNS)}"
            ]
        )
    unknown = [c for c in header if c not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS]
    problems: list[str] = []
    if unknown:
        problems.append(
            f"{path}:1: unknown column(s) {', '.join(unknown)}; "
            f"allowed: {', '.join(REQUIRED_COLUMNS + OPTIONAL_COLUMNS)}"
        )
    records: list[VideoRecord] = []
    order: dict[str, int] = {}
    for row in reader:
        number = reader.line_num
        where = f"{path}:{number}"
        row = {(k or "").strip(): (v or "").strip() for k, v in row.items() if k is not None}
        if not any(row.values()):
            continue
        video_path, split = row.get("video_path", ""), row.get("split", "")
        if not video_path:
            problems.append(f"{where}: video_path is empty")
            continue
        if split not in SPLITS:
            problems.append(f"{where}: split must be one of {', '.join(SPLITS)}, got {split!r}")
            continue
        label_text = row.get("label", "")
        label: int | None = None
        if split != "hidden" and label_text:
            if label_text not in ("0", "1"):
                problems.append(
                    f"{where}: label must be 0, 1 or empty (unknown), got {label_text!r}"
                )
                continue
            label = int(label_text)
        absolute = resolve_inside(root, video_path)
        if absolute is None:
            problems.append(outside_root(where, video_path, root))
            continue
        transcript = row.get("transcript") or None
        records.append(
            VideoRecord(
                video_path=video_path,
                path=absolute,
                split=split,
                label=label,
                participant=row.get("participant") or participant_from_path(video_path),
                transcript=transcript,
                transcript_source="list" if transcript else None,
                list_order=order.setdefault(split, 0),
                source=where,
            )
        )
        order[split] += 1
    if problems:
        raise CorpusError(problems)
    return records
