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

import os
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

MAX_TRANSCRIPT_CHARS = 100_000  # about ten hours of speech; BAH's longest is ~2,000
MAX_YAML_BYTES = 4 * 1024 * 1024  # a transcript's chunks with timestamps, generously


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


def read_text_lines(path: Path) -> list[str]:
    """Lines of a text file, tolerant of a BOM and CRLF endings (Windows editors)."""
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return split_lines(handle.read())


def too_long(where: str, what: str, length: int, limit: int = MAX_TRANSCRIPT_CHARS) -> str:
    """The message for a transcript over the length limit."""
    return (
        f"{where}: {what} is {length:,} characters long, more than the {limit:,} a "
        "transcript may hold; shorten it (or leave it empty for speech recognition)"
    )


class _NoAliasLoader(yaml.SafeLoader):
    """yaml.SafeLoader that refuses anchors and aliases.

    Transcripts never need them, and they are how a tiny file expands into
    an enormous document.
    """

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            line = event.start_mark.line + 1 if event.start_mark else 0
            raise CorpusError(
                [
                    f"{self.name}:{line}: YAML anchors and aliases ('&name', '*name') are not "
                    "allowed in transcript files; write each chunk's text out in full"
                ]
            )
        return super().compose_node(parent, index)


def transcript_from_yaml(path: Path) -> str | None:
    """The full transcript from a timestamped-chunks YAML, or None.

    Format (BAH users' readers): ``chunks: [{timestamp: [start, end], text: ..., label: 0|1}]``.
    Raises CorpusError (naming the file and line) for a file that is not
    YAML, uses anchors or aliases, is over ``MAX_YAML_BYTES`` or holds a
    transcript over ``MAX_TRANSCRIPT_CHARS``.
    """
    if not path.is_file():
        return None
    size = os.path.getsize(path)
    if size > MAX_YAML_BYTES:
        raise CorpusError(
            [
                f"{path}:1: transcript file of {size:,} bytes, more than {MAX_YAML_BYTES:,}; "
                "is it a transcript? Remove it or shorten it"
            ]
        )
    with open(path, encoding="utf-8-sig") as handle:
        loader = _NoAliasLoader(handle)
        loader.name = str(path)
        try:
            node = loader.get_single_node()
            data: Any = loader.construct_document(node) if node is not None else None
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = mark.line + 1 if mark is not None else 1
            problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
            raise CorpusError(
                [f"{path}:{line}: not valid YAML ({problem}); fix or remove the file"]
            ) from exc
        finally:
            loader.dispose()
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
        if len(transcript) > MAX_TRANSCRIPT_CHARS:
            problems.append(too_long(where, "the transcript (third field)", len(transcript)))
            continue
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
            try:
                text = transcript_from_yaml(absolute.with_suffix(".yaml"))
            except CorpusError as exc:
                problems.extend(f"{p} (for {where})" for p in exc.problems)
                continue
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
