"""Reader of the BAH corpus layout (also the layout of the demo corpus).

A split file has one video per line, ``<relative path>,<label>,<transcript>``,
no header. Transcripts contain commas, so a line is split on its first two
commas only. Paths may hold spaces. A per-video YAML of timestamped chunks
beside the video supplies the transcript when the line has none.

Split files and transcripts come from other people, so reading them is
bounded: a transcript longer than ``MAX_TRANSCRIPT_CHARS`` is refused, a
YAML transcript may not use anchors or aliases (a few hundred bytes of
nested aliases, "billion laughs", expand to gigabytes) nor exceed
``MAX_YAML_BYTES``, and lines are split on ``\\n`` (or ``\\r\\n``) only, so a
Unicode line separator inside a transcript does not shift every later line
number.
"""

from __future__ import annotations

import codecs
import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from ahrec.corpus.records import (
    MAX_TRANSCRIPT_CHARS,
    RowFields,
    VideoRecord,
    os_reason,
    record_from_row,
    too_long,
)
from ahrec.errors import CorpusError, one_line, quote
from ahrec.safe_load import MAX_YAML_BYTES, DocumentError, load_yaml_document

# A split line's fields are named by position; every listed video has a label.
SPLIT_LINE = RowFields(
    video_path="the video path (first field)",
    transcript="the transcript (third field)",
    labels="0 (no A/H) or 1 (A/H)",
    label_fix="; fix the second field of this line",
    label_required=True,
)


def split_lines(text: str) -> list[str]:
    """Lines split on ``\\n`` only, one trailing ``\\r`` removed from each.

    ``str.splitlines`` also splits on U+2028, U+0085, form feeds and other
    characters a transcript may hold, which breaks a line into two records
    and shifts the line number of every later message.
    """
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def read_text_lines(path: Path, keep_undecodable: bool = False) -> list[str]:
    """Lines of a text file, tolerant of a BOM and CRLF endings (Windows editors).

    Bytes that are not UTF-8 (a list written by a tool that copies file names
    byte for byte, a Latin-1 transcript) raise CorpusError naming the file,
    the line and the bytes; with ``keep_undecodable`` they are kept as
    surrogate escapes (as ``os`` decodes file names) for the caller to skip
    the lines that hold them (``has_undecodable``).
    """
    with open(path, "rb") as handle:
        raw = handle.read()
    if raw.startswith(codecs.BOM_UTF8):
        raw = raw[len(codecs.BOM_UTF8) :]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        if not keep_undecodable:
            line_start = raw.rfind(b"\n", 0, exc.start) + 1
            line_end = raw.find(b"\n", exc.start)
            line = raw[line_start : line_end if line_end >= 0 else len(raw)].rstrip(b"\r")
            shown = one_line(line[:200].decode("utf-8", "backslashreplace"))
            number = raw.count(b"\n", 0, exc.start) + 1
            raise CorpusError(
                [
                    f"{path}:{number}: not valid UTF-8 "
                    f"(byte {raw[exc.start]:#04x} in '{shown}'); save the file as UTF-8, "
                    "and rename files whose names are not"
                ]
            ) from None
        text = raw.decode("utf-8", "surrogateescape")
    return split_lines(text)


def has_undecodable(text: str) -> bool:
    """Whether text read with ``keep_undecodable`` holds bytes that were not UTF-8."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def transcript_from_yaml(path: Path) -> str | None:
    """The full transcript from a timestamped-chunks YAML, or None.

    Format (BAH users' readers): ``chunks: [{timestamp: [start, end], text: ..., label: 0|1}]``.
    Raises CorpusError (naming the file and line) for a file that is not
    YAML, uses anchors or aliases, is over ``MAX_YAML_BYTES`` or holds a
    transcript over ``MAX_TRANSCRIPT_CHARS``. An OSError looking the file up
    (a path too long for the system, a folder that cannot be searched) is
    left to the caller, which names the line that lists the video.
    """
    if not path.is_file():
        return None
    try:
        document = load_yaml_document(
            path,
            MAX_YAML_BYTES,
            what="transcript files",
            hint="write each chunk's text out in full",
        )
    except DocumentError as exc:
        problem = exc.problem
        if problem.startswith("file of"):
            problem = f"transcript {problem}; is it a transcript? Remove it or shorten it"
        raise CorpusError([f"{exc.path}:{exc.line}: {problem}"]) from None
    data, node = document.data, document.node
    chunks = data.get("chunks") if isinstance(data, Mapping) else None
    if not isinstance(chunks, list):
        return None
    chunk_nodes = _chunk_nodes(node)
    texts: list[str] = []
    length = 0
    for number, chunk in enumerate(chunks):
        if not isinstance(chunk, Mapping):
            continue
        text = str(chunk.get("text", "")).strip()
        if not text:
            continue
        length += len(text) + (1 if texts else 0)
        if length > MAX_TRANSCRIPT_CHARS:
            line = chunk_nodes[number].start_mark.line + 1 if number < len(chunk_nodes) else 1
            raise CorpusError([too_long(f"{path}:{line}", "the transcript", length)])
        texts.append(text)
    return " ".join(texts) or None


def _chunk_nodes(node: Any) -> list[Any]:
    """The YAML nodes of the ``chunks`` items, for their line numbers."""
    if not isinstance(node, yaml.MappingNode):
        return []
    for key, value in node.value:
        if getattr(key, "value", None) == "chunks" and isinstance(value, yaml.SequenceNode):
            return list(value.value)
    return []


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
    try:
        if not path.is_file():
            return [], [f"{path}: split file not found (check corpus.root and corpus.split_files)"]
        lines = read_text_lines(path)
    except CorpusError as exc:  # not UTF-8: the other lists are still checked
        return [], exc.problems
    except OSError as exc:
        return [], [f"{path}: cannot read the split file ({os_reason(exc)})"]
    for number, raw in enumerate(lines, start=1):
        where = f"{path}:{number}"
        if not raw.strip():
            continue
        parsed = parse_split_line(raw)
        if parsed is None:
            problems.append(
                f"{where}: expected '<video path>,<label 0|1>,<transcript>', got {quote(raw)}"
            )
            continue
        video_path, label_text, transcript = parsed
        try:
            record = record_from_row(
                where,
                root,
                SPLIT_LINE,
                video_path=video_path,
                split=split,
                order=len(records),
                label=label_text if labelled else None,
                transcript=transcript,
            )
        except CorpusError as exc:
            problems.extend(exc.problems)
            continue
        if record.transcript is None and timestamped_transcripts:
            try:
                text = transcript_from_yaml(record.path.with_suffix(".yaml"))
            except CorpusError as exc:
                problems.extend(f"{p} (for {where})" for p in exc.problems)
                continue
            except OSError as exc:  # the listed path is too long, or its folder unsearchable
                problems.append(
                    f"{where}: cannot look up the video {quote(video_path)} or its transcript "
                    f"({os_reason(exc)}); fix the first field of this line"
                )
                continue
            if text:
                record = dataclasses.replace(record, transcript=text, transcript_source="yaml")
        records.append(record)
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
