"""Reader of the BAH corpus layout (also the layout of the demo corpus).

A split file has one video per line, ``<relative path>,<label>,<transcript>``,
no header. Transcripts contain commas, so a line is split on its first two
commas only. Paths may hold spaces. A per-video YAML of timestamped chunks
beside the video supplies the transcript when the line has none.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from ahrec.corpus.records import (
    VideoRecord,
    outside_root,
    participant_from_path,
    resolve_inside,
)
from ahrec.errors import CorpusError


def read_text_lines(path: Path) -> list[str]:
    """Lines of a text file, tolerant of a BOM and CRLF endings (Windows editors)."""
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return handle.read().splitlines()


def transcript_from_yaml(path: Path) -> str | None:
    """The full transcript from a timestamped-chunks YAML, or None.

    Format (BAH users' readers): ``chunks: [{timestamp: [start, end], text: ..., label: 0|1}]``.
    """
    if not path.is_file():
        return None
    with open(path, encoding="utf-8-sig") as handle:
        data: Any = yaml.safe_load(handle)
    chunks = data.get("chunks") if isinstance(data, Mapping) else None
    if not isinstance(chunks, list):
        return None
    texts = [str(c.get("text", "")).strip() for c in chunks if isinstance(c, Mapping)]
    joined = " ".join(t for t in texts if t)
    return joined or None


def parse_split_line(line: str) -> tuple[str, str, str] | None:
    """Split ``path,label,transcript`` on the first two commas; None if malformed."""
    parts = line.split(",", 2)
    if len(parts) < 2:
        return None
    path, label = parts[0].strip(), parts[1].strip()
    transcript = parts[2].strip() if len(parts) == 3 else ""
    return path, label, transcript


def read_split_file(
    path: Path,
    root: Path,
    split: str,
    labelled: bool = True,
    timestamped_transcripts: bool = True,
) -> tuple[list[VideoRecord], list[str]]:
    """Records of one split file and the problems found in it (one message each).

    ``labelled=False`` is for the hidden test list, whose label field holds a
    placeholder: it is ignored rather than validated.
    """
    records: list[VideoRecord] = []
    problems: list[str] = []
    if not path.is_file():
        return [], [f"{path}: split file not found (check corpus.root and corpus.split_files)"]
    for number, raw in enumerate(read_text_lines(path), start=1):
        where = f"{path}:{number}"
        if not raw.strip():
            continue
        parsed = parse_split_line(raw)
        if parsed is None:
            problems.append(
                f"{where}: expected '<video path>,<label 0|1>,<transcript>', got {raw[:80]!r}"
            )
            continue
        video_path, label_text, transcript = parsed
        if not video_path:
            problems.append(f"{where}: the video path (first field) is empty")
            continue
        label: int | None = None
        if labelled:
            if label_text not in ("0", "1"):
                problems.append(
                    f"{where}: label must be 0 (no A/H) or 1 (A/H), got {label_text!r}; "
                    "fix the second field of this line"
                )
                continue
            label = int(label_text)
        absolute = resolve_inside(root, video_path)
        if absolute is None:
            problems.append(outside_root(where, video_path, root))
            continue
        source = "list" if transcript else None
        text: str | None = transcript or None
        if text is None and timestamped_transcripts:
            text = transcript_from_yaml(absolute.with_suffix(".yaml"))
            source = "yaml" if text else None
        records.append(
            VideoRecord(
                video_path=video_path,
                path=absolute,
                split=split,
                label=label,
                participant=participant_from_path(video_path),
                transcript=text,
                transcript_source=source,
                list_order=len(records),
                source=where,
            )
        )
    return records, problems


def read_bah_corpus(
    root: Path,
    split_files: Mapping[str, str],
    hidden_test: str | None = None,
    timestamped_transcripts: bool = True,
) -> list[VideoRecord]:
    """All records of a BAH-layout corpus; raises CorpusError with every problem."""
    records: list[VideoRecord] = []
    problems: list[str] = []
    lists = [(split, name, True) for split, name in split_files.items()]
    if hidden_test:
        lists.append(("hidden", hidden_test, False))
    for split, name, labelled in lists:
        found, issues = read_split_file(
            root / name,
            root,
            split,
            labelled=labelled,
            timestamped_transcripts=timestamped_transcripts,
        )
        records.extend(found)
        problems.extend(issues)
    if problems:
        raise CorpusError(problems)
    return records
