"""Bounded loaders for the YAML and JSON that come from other people.

Transcripts, configuration files and everything inside an exported ensemble
are written by someone else. Reading one must take bounded time and memory
and build nothing but plain data, so every reader in the workflow goes
through the functions here:

* a file is read only when it is a regular file of at most ``max_bytes``
  (a link to ``/dev/zero``, a FIFO or a 10 GB file is refused before a byte
  is read; ``follow_links=False`` also refuses a symbolic link itself);
* YAML is read with the safe loader, **without anchors and aliases** (a few
  hundred bytes of nested aliases, "billion laughs", expand to gigabytes
  once anything walks the result) and with a bounded nesting depth;
* JSON is parsed with the same nesting bound (a megabyte of ``[`` would
  otherwise exhaust the interpreter's stack).

Problems raise ``DocumentError``, which names the file and line; callers turn
it into their own error (``ConfigError``, ``CorpusError``) with the message
unchanged.
"""

from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ahrec.errors import AhrecError

MAX_YAML_BYTES = 4 * 1024 * 1024  # a transcript's chunks with timestamps, generously
MAX_CONFIG_BYTES = 1024 * 1024  # a configuration is a few kilobytes
MAX_JSON_BYTES = 64 * 1024 * 1024  # the largest tokenizer.json files are ~20 MB
MAX_DEPTH = 64  # nesting of mappings and lists; configurations nest about 5 deep


class DocumentError(AhrecError):
    """A YAML or JSON file that is refused: ``<path>:<line>: <problem>``."""

    def __init__(self, path: str | Path, line: int, problem: str) -> None:
        self.path = str(path)
        self.line = line
        self.problem = problem
        super().__init__(f"{path}:{line}: {problem}")


def read_bounded(path: str | Path, max_bytes: int, *, follow_links: bool = True) -> bytes:
    """The bytes of a regular file of at most ``max_bytes``; DocumentError otherwise.

    The file is opened without blocking (a FIFO does not hang the reader),
    checked with ``fstat`` on the open descriptor (what is checked is what is
    read), and read up to ``max_bytes + 1`` bytes whatever its size claims.
    ``follow_links=False`` opens with ``O_NOFOLLOW``: a symbolic link is
    refused rather than followed.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    if not follow_links:
        flags |= os.O_NOFOLLOW
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise DocumentError(path, 1, "no such file") from None
    except OSError as exc:
        if not follow_links and Path(path).is_symlink():
            raise DocumentError(path, 1, "is a symbolic link, which is not followed") from None
        raise DocumentError(path, 1, f"cannot be read ({exc.strerror or exc})") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise DocumentError(path, 1, "is not a regular file (a device, FIFO or folder)")
        if info.st_size > max_bytes:
            raise DocumentError(
                path, 1, f"file of {info.st_size:,} bytes, more than the {max_bytes:,} allowed"
            )
        chunks = []
        left = max_bytes + 1
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        data = b"".join(chunks)
    finally:
        os.close(fd)
    if len(data) > max_bytes:
        raise DocumentError(path, 1, f"file of more than the {max_bytes:,} bytes allowed")
    return data


def decode_text(path: str | Path, data: bytes) -> str:
    """UTF-8 text (a leading BOM dropped); DocumentError naming the line otherwise."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise DocumentError(path, line, "not UTF-8 text; save the file as UTF-8") from None


class _BoundedLoader(yaml.SafeLoader):
    """yaml.SafeLoader that refuses anchors and aliases and deep nesting.

    Plain data never needs anchors, and they are how a tiny file expands into
    an enormous document.
    """

    what = "this file"
    hint = "write each value out in full"

    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            line = event.start_mark.line + 1 if event.start_mark else 1
            raise DocumentError(
                self.name,
                line,
                f"YAML anchors and aliases ('&name', '*name') are not allowed in {self.what}; "
                f"{self.hint}",
            )
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                line = event.start_mark.line + 1 if event.start_mark else 1
                raise DocumentError(
                    self.name, line, f"nested more than {MAX_DEPTH} levels deep; is it data?"
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


@dataclass(frozen=True)
class YamlDocument:
    """A YAML file's data and its composed node tree (for line numbers)."""

    data: Any
    node: Any


def parse_yaml(
    text: str, name: str | Path, *, what: str = "this file", hint: str = ""
) -> YamlDocument:
    """Plain data from YAML text; DocumentError (naming ``name`` and the line) otherwise.

    ``what`` and ``hint`` complete the anchors message ("... are not allowed
    in <what>; <hint>").
    """
    try:
        # The reader checks every character when it is built: a control character
        # is a YAMLError raised here, not a traceback.
        loader = _BoundedLoader(text)
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise DocumentError(
            name, 1, f"not valid YAML ({problem}); fix or remove the file"
        ) from None
    loader.name = str(name)
    loader.what = what
    if hint:
        loader.hint = hint
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.constructor.ConstructorError as exc:
        mark = exc.problem_mark
        raise DocumentError(
            name,
            mark.line + 1 if mark is not None else 1,
            f"refused: {exc.problem} (YAML tags that build Python objects are never loaded)",
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise DocumentError(
            name,
            mark.line + 1 if mark is not None else 1,
            f"not valid YAML ({problem}); fix or remove the file",
        ) from None
    except (ValueError, OverflowError) as exc:  # a 5,000-digit integer, say
        raise DocumentError(name, 1, f"not usable YAML ({exc})") from None
    except RecursionError:
        raise DocumentError(name, 1, "nested too deeply; is it data?") from None
    finally:
        loader.dispose()
    return YamlDocument(data, node)


def load_yaml_document(
    path: str | Path,
    max_bytes: int = MAX_YAML_BYTES,
    *,
    follow_links: bool = True,
    what: str = "this file",
    hint: str = "",
) -> YamlDocument:
    """A YAML file's data and nodes, read with every bound above."""
    text = decode_text(path, read_bounded(path, max_bytes, follow_links=follow_links))
    return parse_yaml(text, path, what=what, hint=hint)


def load_yaml(
    path: str | Path,
    max_bytes: int = MAX_YAML_BYTES,
    *,
    follow_links: bool = True,
    what: str = "this file",
    hint: str = "",
) -> Any:
    """A YAML file's plain data, read with every bound above."""
    return load_yaml_document(path, max_bytes, follow_links=follow_links, what=what, hint=hint).data


def _depth_ok(value: Any) -> bool:
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > MAX_DEPTH:
                return False
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return True


def parse_json(text: str, name: str | Path) -> Any:
    """Plain data from JSON text; DocumentError (naming ``name`` and the line) otherwise."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DocumentError(name, exc.lineno, f"not valid JSON ({exc.msg})") from None
    except RecursionError:
        raise DocumentError(name, 1, "nested too deeply; is it data?") from None
    except (ValueError, OverflowError) as exc:  # a 5,000-digit integer, say
        raise DocumentError(name, 1, f"not usable JSON ({exc})") from None
    if not _depth_ok(data):
        raise DocumentError(name, 1, f"nested more than {MAX_DEPTH} levels deep; is it data?")
    return data


def load_json(
    path: str | Path, max_bytes: int = MAX_JSON_BYTES, *, follow_links: bool = True
) -> Any:
    """A JSON file's plain data, read with every bound above."""
    return parse_json(
        decode_text(path, read_bounded(path, max_bytes, follow_links=follow_links)), path
    )
