"""Fuzzed, not just enumerated: generated files thrown at every reader of untrusted input.

Each test states one property: whatever the generated input, the reader
either loads it or raises the project's own error (ConfigError, CorpusError,
DocumentError...) whose message names the file (and the key or line), in
bounded time and memory. Any other exception (TypeError, KeyError,
RecursionError, UnicodeDecodeError, MemoryError...) escaping a reader is a
bug the fuzzing found. What loads must also be sane: no path outside the
folder it was read from, no NaN or infinity, no integer wider than 64 bits.

Budget and how to fuzz longer: tests/fuzz_strategies.py and
docs/development.md ("Fuzz tests"). ``HYPOTHESIS_PROFILE=long`` runs
thousands of random examples per test instead of the derandomized few.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import math
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from ahrec.config import load_config, load_schema, load_settings
from ahrec.corpus.bah import read_bah_corpus
from ahrec.corpus.csv_manifest import read_csv_manifest
from ahrec.corpus.formats import SPLIT_FILES
from ahrec.corpus.new_videos import CSV_COLUMNS as NEW_VIDEO_COLUMNS
from ahrec.corpus.new_videos import read_new_videos
from ahrec.corpus.records import resolve_inside
from ahrec.errors import ConfigError, CorpusError
from ahrec.predict.export import read_export
from tests import fuzz_strategies as strategies
from tests.e2e.workflow import whole_config
from tests.exports import build_export, export_config
from tests.fuzz_strategies import (
    CSV_COLUMNS,
    csv_files,
    edited,
    fuzz_settings,
    json_values,
    path_parts,
    run_bounded,
    split_lines,
    suffixes,
    text_files,
    video_paths,
    yaml_texts,
)

REPO = Path(__file__).resolve().parents[2]
SCHEMA = load_schema()
# the test run's whole configuration (.test/config.yaml over config.yaml)
BASE_CONFIG: dict[str, Any] = whole_config(REPO / ".test" / "config.yaml")
# A predict entry too, so that its checks are fuzzed (the folder exists, the run is configured).
BASE_CONFIG["predict"] = {"batch": {"videos": str(REPO / "docs"), "ensemble": "fusion"}}
TOP_LEVEL = set(SCHEMA["properties"])


# --- what every outcome must satisfy ------------------------------------------------


def walk(value: Any) -> Iterator[Any]:
    """Every value inside ``value`` (keys included), without recursion."""
    stack = [value]
    while stack:
        item = stack.pop()
        yield item
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)


def assert_plain_numbers(value: Any, where: str) -> None:
    """No NaN, no infinity, no integer wider than 64 bits in what a reader accepted."""
    for item in walk(value):
        if isinstance(item, float):
            assert math.isfinite(item), f"{where}: accepted a non-finite number {item!r}"
        elif isinstance(item, int) and not isinstance(item, bool):
            assert -(2**63) <= item < 2**64, f"{where}: accepted the integer {item!r}"


def config_problems(message: str) -> list[str]:
    """The ``  - <key>: <problem>`` lines of a ConfigError from load_settings."""
    return [line[4:] for line in message.splitlines() if line.startswith("  - ")]


def assert_names_keys(message: str, size_hint: int) -> None:
    """A ConfigError lists its problems, each starting with the dotted key it is about."""
    problems = config_problems(message)
    assert problems, f"no '  - <key>: <problem>' line in {message[:500]!r}"
    for problem in problems:
        key, sep, _ = problem.partition(": ")
        assert sep, f"a problem without '<key>: ': {problem[:300]!r}"
        assert key == "(top level)" or key.split(".")[0].split("[")[0] in TOP_LEVEL, (
            f"a problem that names no configuration key: {problem[:300]!r}"
        )
    assert len(message) < 20_000 + 4 * size_hint, f"a {len(message):,}-character message"


def assert_names_file(error: BaseException, folder: Path) -> None:
    """Every problem of a reader's error names a file inside ``folder`` (the one it read)."""
    problems = error.problems if isinstance(error, CorpusError) else [str(error)]
    assert problems
    for problem in problems:
        assert str(folder) in problem, f"a problem that names no file: {problem[:300]!r}"
        assert len(problem) < 5_000, f"a {len(problem):,}-character problem: {problem[:300]!r}"
        assert "\n" not in problem, f"a problem of more than one line: {problem[:300]!r}"


def assert_inside(records: list[Any], root: Path) -> None:
    """Records accepted from a list point inside its root (lexically: links are the media's business).

    Their listed paths are text the manifest and the submission can write (UTF-8).
    """
    real_root = os.path.normpath(os.path.abspath(root))
    for record in records:
        try:
            record.video_path.encode("utf-8")
        except UnicodeEncodeError:
            raise AssertionError(
                f"{record.source}: accepted a path that is not text: {record.video_path!r}"
            ) from None
        path = os.path.normpath(os.path.abspath(record.path))
        assert path == real_root or path.startswith(real_root + os.sep), (
            f"{record.source}: {record.video_path!r} -> {path}, outside {real_root}"
        )


def spin() -> None:
    """A reader that never returns (a Python loop: SIGALRM interrupts bytecode, not one C call)."""
    while True:
        pass


@pytest.mark.slow
def test_the_harness_measures_memory_and_stops_a_hang(monkeypatch):
    """What bounds every fuzz example: a reader over the memory cap or the time stop fails it.

    First in the module, while the process is small (the memory check allocates past its peak).
    """
    monkeypatch.setattr(strategies, "MEMORY_CAP", 32 * 1024 * 1024)
    with pytest.raises(AssertionError, match="peak memory grew"):  # past the old peak by 64 MB
        run_bounded(lambda: b"x" * (strategies.peak_rss() + 64 * 1024 * 1024), ())
    monkeypatch.setattr(strategies, "HARD_SECONDS", 0.2)
    with pytest.raises(strategies.ReaderTimeout):
        run_bounded(spin, ())
    outcome = run_bounded(lambda: load_settings(BASE_CONFIG, SCHEMA), (ConfigError,))
    assert outcome.error is None and outcome.seconds < 2


# --- 1. configurations ------------------------------------------------------------------


@pytest.mark.slow
@fuzz_settings(examples=150)
@given(config=edited(BASE_CONFIG))
@example(config={**BASE_CONFIG, "shards": 4.0})
@example(config={**BASE_CONFIG, "results": "out{x}"})
@example(config={**BASE_CONFIG, "results": "//etc"})
@example(config={**BASE_CONFIG, 1: 2, "x": 3})  # found: mixed-type keys were sorted
@example(
    config={**BASE_CONFIG, "embeddings": {"face": {1: {"kind": 3}, "a": {"kind": 3}}}}
)  # found: mixed-type error paths were sorted
@example(config={**BASE_CONFIG, "fusion": {**BASE_CONFIG["fusion"], "seeds": [2**64]}})
@example(config={**BASE_CONFIG, "predict": {"w\r\x875": {}}})  # found: a raw \r in the key shown
def test_an_edited_config_loads_or_names_the_key(config):
    """Values of every type at every depth of a valid config: one clear message per bad key."""
    outcome = run_bounded(lambda: load_settings(config, SCHEMA), (ConfigError,))
    if outcome.error is not None:
        assert_names_keys(str(outcome.error), len(repr(config)))
    else:
        assert_plain_numbers(outcome.value.config, "load_settings")


@fuzz_settings(examples=100)
@given(config=st.dictionaries(st.sampled_from(sorted(TOP_LEVEL)), json_values, max_size=4))
def test_any_values_under_the_known_sections_load_or_name_the_key(config):
    """Whole sections replaced by anything (the schema's defaults fill the rest)."""
    outcome = run_bounded(lambda: load_settings(config, SCHEMA), (ConfigError,))
    if outcome.error is not None:
        assert_names_keys(str(outcome.error), len(repr(config)))
    else:
        assert_plain_numbers(outcome.value.config, "load_settings")


@pytest.mark.slow
@fuzz_settings(examples=60)
@given(text=yaml_texts(BASE_CONFIG, bomb_key="results"))
@example(
    text="a0: &a0 [x]\n"
    + "".join(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 7)}]\n" for i in range(1, 7))
    + "results: *a6\n"
)
@example(text="[" * 3000 + "]" * 3000)
@example(text="1: 2\nnull: 3\ntrue: 4\n")  # found: mixed-type keys were sorted
def test_a_config_file_loads_or_names_the_file(text):
    """Raw YAML through the configuration loader: aliases, deep nesting, huge scalars, tags."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "config.yaml"
        path.write_text(text, encoding="utf-8")
        outcome = run_bounded(lambda: load_config(path), (ConfigError,))
        if outcome.error is not None:
            message = str(outcome.error)
            assert message.startswith(str(path)), f"the file is not named: {message[:300]!r}"
            assert len(message) < 20_000 + 2 * len(text), f"a {len(message):,}-character message"
        else:
            assert_plain_numbers(outcome.value, "load_config")


# --- 2. split files, CSV lists, predict folders ---------------------------------------------------

CHUNKS = {
    "chunks": [
        {"timestamp": [0.0, 1.5], "text": "I guess, maybe.", "label": 0},
        {"timestamp": [1.5, 3.0], "text": "Well, no.", "label": 1},
    ]
}


def write_quietly(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` if the file system takes that name (too long, a folder there...)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    except (OSError, ValueError):
        pass


@pytest.mark.slow
@fuzz_settings(examples=120)
@given(
    lists=st.fixed_dictionaries({name: text_files(split_lines) for name in SPLIT_FILES.values()}),
    hidden=st.one_of(st.none(), text_files(split_lines)),
    transcripts=st.lists(st.tuples(video_paths, yaml_texts(CHUNKS, bomb_key="chunks")), max_size=3),
    timestamped=st.booleans(),
)
@example(  # found: a control character in a YAML transcript escaped as yaml.ReaderError
    lists=dict.fromkeys(SPLIT_FILES.values(), b""),
    hidden=None,
    transcripts=[("Videos/P1/a.mp4", "chunks:\n- text: a\x16b\n")],
    timestamped=True,
)
@example(  # found: a path longer than PATH_MAX escaped as OSError (ENAMETOOLONG)
    lists={**dict.fromkeys(SPLIT_FILES.values(), b""), "train.txt": b"a/" * 3000 + b"x.mp4,1"},
    hidden=None,
    transcripts=[],
    timestamped=True,
)
@example(  # found: a 10,000-character label echoed whole in the message
    lists={**dict.fromkeys(SPLIT_FILES.values(), b""), "train.txt": b"a.mp4," + b"1" * 10_000},
    hidden=None,
    transcripts=[],
    timestamped=True,
)
def test_split_files_load_or_name_the_file_and_line(lists, hidden, transcripts, timestamped):
    """BAH split files and their YAML transcripts: each line loads or is one message naming file:line."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "corpus"
        root.mkdir()
        for name, data in lists.items():
            (root / name).write_bytes(data)
        if hidden is not None:
            (root / "hidden.txt").write_bytes(hidden)
        extra = []
        for video_path, text in transcripts:
            target = resolve_inside(root, video_path)
            if target is not None and "\n" not in video_path and "," not in video_path:
                write_quietly(target.with_suffix(".yaml"), text.encode("utf-8"))
                extra.append(f"{video_path},1")
        if extra:
            with open(root / "train.txt", "a", encoding="utf-8") as handle:
                handle.write("\n" + "\n".join(extra) + "\n")
        outcome = run_bounded(
            lambda: read_bah_corpus(
                root, SPLIT_FILES, "hidden.txt" if hidden is not None else None, timestamped
            ),
            (CorpusError, ConfigError),
        )
        if outcome.error is not None:
            assert_names_file(outcome.error, root)
        else:
            assert_inside(outcome.value, root)


@pytest.mark.slow
@fuzz_settings(examples=120)
@given(data=csv_files(CSV_COLUMNS), own_root=st.booleans())
@example(
    data=b"video_path,split\na.mp4," + b"w" * 200_000 + b"\n", own_root=False
)  # found: echoed whole
@example(
    data=b'video_path,split,"a\nb"\na.mp4,train\n', own_root=False
)  # found: a newline in a column name split the message
def test_a_csv_manifest_loads_or_names_the_file_and_line(data, own_root):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "lists" / "manifest.csv"
        write_quietly(path, data)
        root = Path(tmp) / "videos" if own_root else None
        outcome = run_bounded(lambda: read_csv_manifest(path, root), (CorpusError, ConfigError))
        if outcome.error is not None:
            assert_names_file(outcome.error, Path(tmp))
        else:
            assert_inside(outcome.value, root or path.parent)


@pytest.mark.slow
@fuzz_settings(examples=100)
@given(data=csv_files(list(NEW_VIDEO_COLUMNS)))
@example(
    data=b'video_path,"a\nb"\na.mp4,x\n'
)  # found: a newline in a column name split the message
def test_a_csv_of_new_videos_loads_or_names_the_file_and_line(data):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "new.csv"
        path.write_bytes(data)
        outcome = run_bounded(lambda: read_new_videos(path), (CorpusError, ConfigError))
        if outcome.error is not None:
            assert_names_file(outcome.error, Path(tmp))
        else:
            assert_inside(outcome.value, Path(tmp))


SPECIAL_ENTRIES = [
    "outside-file",
    "outside-dir",
    "inside",
    "dev-zero",
    "loop",
    "dangling",
    "parent",
    "root",
    "not-utf8",
]
tree_entries = st.lists(
    st.tuples(
        st.lists(path_parts, min_size=1, max_size=3).map("/".join),
        suffixes,
        st.sampled_from(["file", "file", "dir", *SPECIAL_ENTRIES]),
    ),
    max_size=8,
)


def build_tree(folder: Path, outside: Path, entries: list[tuple[str, str, str]]) -> None:
    """Files, folders and links of every kind under ``folder`` (names the file system refuses skipped)."""
    targets = {
        "outside-file": outside / "elsewhere.mp4",
        "outside-dir": outside,
        "dev-zero": Path("/dev/zero"),
        "parent": folder.parent,
        "root": Path("/"),
    }
    for stem, suffix, kind in entries:
        path = resolve_inside(folder, stem + suffix)
        if path is None or path == folder:
            continue
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            if kind == "file":
                path.write_bytes(b"not really a video")
            elif kind == "dir":
                path.mkdir(exist_ok=True)
            elif kind == "inside":
                first = next((p for p in folder.rglob("*") if p.is_file()), folder)
                path.symlink_to(first)
            elif kind == "loop":
                path.symlink_to(path)
            elif kind == "not-utf8":  # a name no UTF-8 text spells (Latin-1 from an old camera)
                os.close(
                    os.open(
                        os.fsencode(path.parent) + b"/\xe9t\xe9" + suffix.encode(),
                        os.O_CREAT | os.O_WRONLY,
                    )
                )
            elif kind == "dangling":
                path.symlink_to(folder / "no such file.mp4")
            else:
                path.symlink_to(targets[kind])
        except (OSError, ValueError):
            pass


@pytest.mark.slow
@fuzz_settings(examples=100)
@given(entries=tree_entries)
def test_a_folder_of_new_videos_loads_or_names_the_file(entries):
    """A predict folder with any names, nesting and links: videos inside it, or one message."""
    with tempfile.TemporaryDirectory() as tmp:
        folder, outside = Path(tmp) / "videos", Path(tmp) / "outside"
        folder.mkdir()
        outside.mkdir()
        (outside / "elsewhere.mp4").write_bytes(b"outside")
        build_tree(folder, outside, entries)
        outcome = run_bounded(lambda: read_new_videos(folder), (CorpusError, ConfigError))
        if outcome.error is not None:
            assert_names_file(outcome.error, folder)
            return
        real = os.path.realpath(folder)
        for record in outcome.value:
            target = os.path.realpath(record.path)
            assert target.startswith(real + os.sep), f"{record.path} -> {target}, outside"
            assert os.path.isfile(target), f"{record.path}: not a file"


# --- 3. exported ensembles -------------------------------------------------------------------

EXPORT_CONFIG = export_config()


@pytest.fixture(scope="module")
def valid_export(tmp_path_factory) -> Path:
    """A tiny valid export of untrained models, saved and exported by the library itself."""
    export = build_export(tmp_path_factory.mktemp("fuzz-export"))
    read_export(export)  # the base every example mutates is valid
    return export


@functools.cache
def export_slice() -> dict[str, Any]:
    """The config.yaml the valid export holds (what the YAML edits start from)."""
    from ahrec.predict.export import export_plan

    return export_plan(load_settings(EXPORT_CONFIG), "tiny")["config"]


def export_files(folder: Path) -> list[str]:
    return sorted(
        p.relative_to(folder).as_posix()
        for p in folder.rglob("*")
        if p.is_file() and not p.is_symlink()
    )


EXPORT_OPS = st.sampled_from(
    [
        "json",
        "json",
        "yaml",
        "add",
        "link",
        "hardlink",
        "fifo",
        "resize",
        "delete",
        "deep",
        "hash",
        "reseal",
    ]
)
ADDED_NAMES = st.one_of(
    st.sampled_from(
        [
            "__init__.py",
            "unimodal/__init__.py",
            "unimodal/face_mlp/model.py",
            "test_x.py",
            "sitecustomize.py",
            "x.pth",
            "lib.so",
            "unimodal/face_mlp/backbone/config.json",
            "fusion/seed3/extra.yaml",
            "notes.txt",
            ".hidden",
            "unimodal/new_model/model.json",
        ]
    ),
    st.tuples(st.lists(path_parts, min_size=1, max_size=3).map("/".join), suffixes).map("".join),
)


@st.composite
def export_edits(draw: st.DrawFn) -> list[tuple[str, Any]]:
    """A list of edits of an export: JSON and YAML bodies, added code, links, sizes, hashes, resealing."""
    edits = []
    for op in draw(st.lists(EXPORT_OPS, min_size=1, max_size=4)):
        if op == "json":
            edits.append((op, (draw(st.integers(0, 10**6)), draw(st.integers(0, 2**32)))))
        elif op == "yaml":
            edits.append((op, draw(yaml_texts(export_slice(), bomb_key="media"))))
        elif op == "add":
            edits.append((op, (draw(ADDED_NAMES), draw(st.binary(max_size=64)))))
        elif op == "link":
            target = draw(
                st.sampled_from(["/dev/zero", "outside", "loop", "/", "inside", "dangling"])
            )
            edits.append((op, (draw(st.integers(0, 10**6)), target, draw(st.booleans()))))
        elif op == "resize":
            size = draw(st.sampled_from([0, 1, 10, -1, 65 * 1024 * 1024]))
            edits.append((op, (draw(st.integers(0, 10**6)), size)))
        elif op == "hash":
            edits.append((op, (draw(st.integers(0, 10**6)), draw(json_values))))
        else:
            edits.append((op, draw(st.integers(0, 10**6))))
    if draw(st.booleans()):  # resealed: the edits reach the checks behind the SHA-256s
        edits.append(("reseal", 0))
    return edits


def apply_edit(folder: Path, outside: Path, op: str, arg: Any, draw_json: Any) -> None:
    """One edit of the export in ``folder`` (best effort: a name the file system refuses is skipped)."""
    from ahrec.predict.files import write_files_json

    files = export_files(folder)
    pick = (lambda i: folder / files[i % len(files)]) if files else (lambda i: folder / "x")
    if op == "json":
        index, seed = arg
        jsons = [f for f in files if f.endswith(".json")] or ["ensemble.json"]
        path = folder / jsons[index % len(jsons)]
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            document = {}
        path.write_text(json.dumps(draw_json(document)), encoding="utf-8")
    elif op == "yaml":
        (folder / "config.yaml").write_text(arg, encoding="utf-8")
    elif op == "add":
        name, data = arg
        target = resolve_inside(folder, name)
        if target is not None:
            write_quietly(target, data)
    elif op == "link":
        index, target, replace = arg
        path = pick(index) if replace else pick(index).with_name("linked.json")
        source = {
            "/dev/zero": Path("/dev/zero"),
            "outside": outside / "weights.bin",
            "loop": path,
            "/": Path("/"),
            "inside": folder / "ensemble.json",
            "dangling": folder / "nothing",
        }[target]
        path.unlink(missing_ok=True)
        path.symlink_to(source)
    elif op == "hardlink":
        path = pick(arg)
        link = path.with_name("hard.bin")
        if not link.exists():
            os.link(path, link)
    elif op == "fifo":
        os.mkfifo(pick(arg).with_name("pipe.json"))
    elif op == "resize":
        index, size = arg
        path = pick(index)
        if path.is_file() and not path.is_symlink():
            with open(path, "r+b") as handle:
                handle.truncate(path.stat().st_size // 2 if size < 0 else size)
    elif op == "delete":
        pick(arg).unlink(missing_ok=True)
    elif op == "deep":
        write_quietly(folder.joinpath(*["d"] * 20, "deep.json"), b"{}")
    elif op == "hash":
        index, value = arg
        record = json.loads((folder / "files.json").read_text(encoding="utf-8"))
        entries = record.get("files") if isinstance(record, dict) else None
        if (
            isinstance(entries, list)
            and entries
            and isinstance(entries[index % len(entries)], dict)
        ):
            key = ["sha256", "size", "path"][index % 3]
            entries[index % len(entries)][key] = value
            (folder / "files.json").write_text(json.dumps(record), encoding="utf-8")
    elif op == "reseal":
        write_files_json(folder)


@pytest.mark.slow
@fuzz_settings(examples=60)
@given(edits=export_edits(), data=st.data())
@example(edits=[("yaml", "[" * 3000 + "]" * 3000), ("reseal", 0)], data=None)
@example(edits=[("link", (0, "/dev/zero", True)), ("reseal", 0)], data=None)
@example(edits=[("add", ("__init__.py", b"raise SystemExit")), ("reseal", 0)], data=None)
@example(
    edits=[("yaml", "media: \x16\n"), ("reseal", 0)], data=None
)  # found: yaml.ReaderError escaped
def test_an_edited_export_loads_or_names_the_file(valid_export, edits, data):
    """An export with any of its files edited, added, linked, resized or unlisted: loads or one ConfigError.

    What loads holds no link, no unlisted file and no code, and every file
    is the one files.json lists (size and SHA-256).
    """
    from ahrec.predict.files import CODE_SUFFIXES, FILES_JSON

    def draw_json(document: Any) -> Any:
        if data is None:
            return document
        return data.draw(
            edited(document) if isinstance(document, dict | list) and document else json_values
        )

    with tempfile.TemporaryDirectory() as tmp:
        folder, outside = Path(tmp) / "export", Path(tmp) / "outside"
        shutil.copytree(valid_export, folder)
        outside.mkdir()
        (outside / "weights.bin").write_bytes(b"outside the export")
        for op, arg in edits:
            with contextlib.suppress(OSError, ValueError):
                apply_edit(folder, outside, op, arg, draw_json)
        outcome = run_bounded(lambda: read_export(folder), (ConfigError,))
        if outcome.error is not None:
            message = str(outcome.error)
            assert message.startswith(str(folder)), f"the export is not named: {message[:300]!r}"
            assert len(message) < 50_000, f"a {len(message):,}-character message"
            return
        listed = {e["path"]: e for e in json.loads((folder / FILES_JSON).read_text())["files"]}
        for directory, subfolders, names in os.walk(folder):
            for name in subfolders + names:
                path = Path(directory) / name
                relative = path.relative_to(folder).as_posix()
                assert not path.is_symlink(), f"accepted a link: {relative}"
                if path.is_dir():
                    continue
                assert path.is_file(), f"accepted a special file: {relative}"
                assert not name.lower().endswith(CODE_SUFFIXES), f"accepted code: {relative}"
                if relative != FILES_JSON:
                    assert relative in listed, f"accepted an unlisted file: {relative}"
                    assert (
                        hashlib.sha256(path.read_bytes()).hexdigest() == listed[relative]["sha256"]
                    )
        assert_plain_numbers(outcome.value.config, "read_export")
