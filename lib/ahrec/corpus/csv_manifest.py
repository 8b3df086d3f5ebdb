"""Reader of a plain CSV manifest: ``video_path,split[,label,participant,transcript]``.

For corpora that are not laid out like BAH. Quoting follows RFC 4180 (the
csv module), so transcripts with commas must be quoted; paths are relative
to ``corpus.root`` (or to the CSV's own folder when root is not set).

The csv module stops at fields over 131,072 characters with a bare
``_csv.Error``; here the limit is raised to ``MAX_FIELD_CHARS`` (beyond any
transcript the readers accept) and every csv error becomes a message naming
the file and line.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ahrec.corpus.bah import MAX_TRANSCRIPT_CHARS, read_text_lines, too_long
from ahrec.corpus.records import (
    SPLITS,
    VideoRecord,
    os_reason,
    outside_root,
    participant_from_path,
    resolve_inside,
)
from ahrec.errors import CorpusError, quote, quote_all

REQUIRED_COLUMNS = ("video_path", "split")
OPTIONAL_COLUMNS = ("label", "participant", "transcript")
MAX_FIELD_CHARS = 10 * MAX_TRANSCRIPT_CHARS


@contextmanager
def _field_limit(limit: int) -> Iterator[None]:
    """csv's (process-wide) field size limit raised while one file is read."""
    previous = csv.field_size_limit(limit)
    try:
        yield
    finally:
        csv.field_size_limit(previous)


def csv_rows(path: Path, keep_undecodable: bool = False) -> Iterator[tuple[int, dict[str, str]]]:
    """``(line, row)`` for each row of a CSV file, stripped; first the header.

    The first item is ``(1, {name: ""})``: the header's column names, in
    order. Lines are split on ``\\n`` only (``read_text_lines``); a malformed
    row or a field over ``MAX_FIELD_CHARS`` raises CorpusError naming
    file:line, and so do bytes that are not UTF-8 unless ``keep_undecodable``
    (see ``read_text_lines``).
    """
    consumed = 0  # lines handed to the csv reader: the line an error is on

    def lines() -> Iterator[str]:
        nonlocal consumed
        for line in read_text_lines(path, keep_undecodable=keep_undecodable):
            consumed += 1
            yield line + "\n"  # the reader keeps newlines inside quoted fields

    reader = csv.DictReader(lines())
    with _field_limit(MAX_FIELD_CHARS):
        try:
            header = {(h or "").strip(): "" for h in (reader.fieldnames or [])}
            yield 1, header
            for row in reader:
                yield (
                    reader.line_num,
                    {(k or "").strip(): (v or "").strip() for k, v in row.items() if k is not None},
                )
        except csv.Error as exc:
            message = str(exc)
            if "field larger than field limit" in message:
                message = (
                    f"a field is longer than {MAX_FIELD_CHARS:,} characters (a quote left "
                    "open, or not a transcript); check the quoting of this line"
                )
            raise CorpusError([f"{path}:{max(1, consumed)}: malformed CSV: {message}"]) from exc


def read_csv_manifest(path: Path, root: Path | None = None) -> list[VideoRecord]:
    """All records of a CSV manifest; raises CorpusError with every problem."""
    try:
        if not path.is_file():
            raise CorpusError([f"{path}: manifest CSV not found (check corpus.manifest)"])
        rows = csv_rows(path)
        _, first = next(rows)
    except OSError as exc:
        raise CorpusError([f"{path}: cannot read the manifest CSV ({os_reason(exc)})"]) from None
    root = root if root is not None else path.parent
    header = list(first)
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
            f"{path}:1: unknown column(s) {quote_all(unknown)}; "
            f"allowed: {', '.join(REQUIRED_COLUMNS + OPTIONAL_COLUMNS)}"
        )
    records: list[VideoRecord] = []
    order: dict[str, int] = {}
    for number, row in rows:
        where = f"{path}:{number}"
        if not any(row.values()):
            continue
        if len(row.get("transcript", "")) > MAX_TRANSCRIPT_CHARS:
            problems.append(too_long(where, "the transcript", len(row["transcript"])))
            continue
        video_path, split = row.get("video_path", ""), row.get("split", "")
        if not video_path:
            problems.append(f"{where}: video_path is empty")
            continue
        if split not in SPLITS:
            problems.append(
                f"{where}: split must be one of {', '.join(SPLITS)}, got {quote(split)}"
            )
            continue
        label_text = row.get("label", "")
        label: int | None = None
        if split != "hidden" and label_text:
            if label_text not in ("0", "1"):
                problems.append(
                    f"{where}: label must be 0, 1 or empty (unknown), got {quote(label_text)}"
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
