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

from ahrec.corpus.bah import read_text_lines
from ahrec.corpus.records import (
    MAX_TRANSCRIPT_CHARS,
    RowFields,
    VideoRecord,
    os_reason,
    record_from_row,
)
from ahrec.errors import CorpusError, quote_all

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
        split = row.get("split", "")
        try:
            record = record_from_row(
                where,
                root,
                RowFields(),
                video_path=row.get("video_path", ""),
                split=split,
                order=order.get(split, 0),
                label=None if split == "hidden" else row.get("label", ""),
                participant=row.get("participant"),
                transcript=row.get("transcript", ""),
            )
        except CorpusError as exc:
            problems.extend(exc.problems)
            continue
        records.append(record)
        order[split] = record.list_order + 1
    if problems:
        raise CorpusError(problems)
    return records
