"""The demo corpus is byte-identical whatever the cache state, workers and job order.

A regression test for a real bug: on a fresh machine the first videos made
differed from every later run, because espeak-ng's noise came from a libc
``rand()`` sequence that libpulse had advanced while creating its runtime
folder in a fresh home (see ``ahrec.demo.speech.espeak_environment``). So the
corpus is generated here in fresh Python processes whose home, caches and
temp folder are new empty folders, as on a fresh machine, and then again
with the same (now warm) folders and another worker count.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import ahrec
from ahrec.demo import DemoSettings, corpus_fingerprint
from ahrec.demo.fingerprint import toolchain
from tests.demo_tools import needs_tools

pytestmark = needs_tools

# Six short, small videos: the smallest corpus the settings allow with every
# split holding both labels; big enough to have a YAML transcript, a path with
# a space and a test video without a transcript.
TINY = DemoSettings(
    participants=3,
    questions_per_participant=2,
    split_participants={"train": 1, "val": 1, "test": 1},
    seed=11,
    min_seconds=1.0,
    max_seconds=1.5,
    fps=10,
    width=128,
    height=96,
    test_videos_without_transcript=1,
)
EXPECTED = Path(__file__).resolve().parents[1] / "expected" / "demo_tiny_fingerprint.txt"
UPDATE_VARIABLE = "AHREC_UPDATE_EXPECTED"
LIB = Path(ahrec.__file__).resolve().parents[1]

_GENERATE = """
import json, sys
from pathlib import Path
from ahrec.demo import DemoSettings, generate_demo_corpus
generate_demo_corpus(
    Path(sys.argv[1]),
    DemoSettings.from_config(json.loads(sys.argv[2])),
    workers=int(sys.argv[3]),
    progress=False,
)
"""


def fresh_state(folder: Path) -> dict[str, str]:
    """Environment variables pointing every per-user cache at folders under ``folder``."""
    names = {
        "HOME": "home",
        "MPLCONFIGDIR": "matplotlib",
        "XDG_CACHE_HOME": "cache",
        "XDG_CONFIG_HOME": "config",
        "TMPDIR": "tmp",
    }
    env = {}
    for variable, name in names.items():
        (folder / name).mkdir(parents=True, exist_ok=True)
        env[variable] = str(folder / name)
    return env


def generate_in_new_process(out: Path, state: dict[str, str], workers: int) -> None:
    """Generate TINY under ``out`` in a new interpreter (nothing imported or cached yet)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("XDG_")}
    env.pop("PULSE_RUNTIME_PATH", None)
    env.update(state)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(LIB), env.get("PYTHONPATH")]))
    settings = json.dumps(dataclasses.asdict(TINY))
    result = subprocess.run(
        [sys.executable, "-c", _GENERATE, str(out), settings, str(workers)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]


def sha256_tree(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def state(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Home, caches and temp folder of a fresh machine (warm once the first corpus is made)."""
    return fresh_state(tmp_path_factory.mktemp("fresh-machine"))


@pytest.fixture(scope="module")
def first_corpus(tmp_path_factory: pytest.TempPathFactory, state: dict[str, str]) -> Path:
    """TINY made with empty caches by two workers, as the first run on a fresh machine."""
    out = tmp_path_factory.mktemp("first") / "corpus"
    generate_in_new_process(out, state, workers=2)
    return out


@pytest.mark.slow
def test_same_bytes_with_fresh_or_warm_caches_and_any_workers(
    first_corpus: Path, state: dict[str, str], tmp_path: Path
) -> None:
    # Same (now warm) home and caches, three workers: other jobs share a
    # process and they finish in another order.
    again = tmp_path / "again"
    generate_in_new_process(again, state, workers=3)
    first, second = sha256_tree(first_corpus), sha256_tree(again)
    assert sorted(first) == sorted(second)
    assert len([name for name in first if name.endswith(".mp4")]) == TINY.n_videos
    differing = sorted(name for name in first if first[name] != second[name])
    assert differing == []


@pytest.mark.slow
def test_generation_leaves_the_users_home_alone(first_corpus: Path, state: dict[str, str]) -> None:
    # espeak-ng's sound library writes its runtime link here unless kept out (and
    # the first run's audio would depend on whether it exists).
    home = Path(state["HOME"])
    assert not (home / ".config" / "pulse").exists()
    assert not list(Path(state["TMPDIR"]).glob("pulse-*"))


def read_expected() -> dict[str, str]:
    values = {}
    for line in EXPECTED.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            key, _, value = line.partition(":")
            values[key.strip()] = value.strip()
    return values


@pytest.mark.slow
def test_fingerprint_matches_the_committed_value(first_corpus: Path) -> None:
    fingerprint = corpus_fingerprint(first_corpus)
    tools = toolchain()
    if os.environ.get(UPDATE_VARIABLE) == "1":
        text = EXPECTED.read_text(encoding="utf-8")
        header = "".join(line + "\n" for line in text.splitlines() if line.startswith("#"))
        EXPECTED.write_text(
            f"{header}toolchain: {tools}\nfingerprint: {fingerprint}\n", encoding="utf-8"
        )
        pytest.skip(f"wrote {EXPECTED}")
    expected = read_expected()
    if expected["toolchain"] != tools:
        pytest.skip(
            "the expected fingerprint was made with another toolchain "
            f"({expected['toolchain']}); this machine has {tools}"
        )
    assert fingerprint == expected["fingerprint"], (
        "the tiny demo corpus changed; if the generator changed on purpose, regenerate "
        f"{EXPECTED.name} as its header says"
    )


def test_fingerprint_covers_names_and_bytes(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.txt").write_bytes(b"one")
    (tmp_path / "b.txt").write_bytes(b"two")
    base = corpus_fingerprint(tmp_path)
    assert len(base) == 64 and base == corpus_fingerprint(tmp_path)
    (tmp_path / "b.txt").write_bytes(b"twO")
    changed = corpus_fingerprint(tmp_path)
    assert changed != base
    (tmp_path / "b.txt").rename(tmp_path / "c.txt")
    assert corpus_fingerprint(tmp_path) != changed
    (tmp_path / "empty").mkdir()  # empty folders carry no data
    assert corpus_fingerprint(tmp_path) == corpus_fingerprint(tmp_path)
    with pytest.raises(NotADirectoryError):
        corpus_fingerprint(tmp_path / "c.txt")
