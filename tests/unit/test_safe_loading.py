"""Nothing the workflow reads can run code: no pickles anywhere in the library.

Checkpoints are safetensors or state dicts loaded with
``torch.load(weights_only=True)``; tables are Parquet, CSV or JSON; frame
stores are ``.npz`` read with ``allow_pickle=False``; config is YAML read with
the safe loader. This test reads the library's source and fails on any way
around that.
"""

import ast
import os
import time
from pathlib import Path

import pytest

from ahrec.config import load_config, load_yaml
from ahrec.errors import ConfigError
from ahrec.safe_load import MAX_DEPTH, DocumentError, load_json, read_bounded
from ahrec.safe_load import load_yaml as bounded_yaml

LIB = Path(__file__).resolve().parents[2] / "lib" / "ahrec"


def calls(tree: ast.AST, name: str) -> list[ast.Call]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            dotted = []
            while isinstance(func, ast.Attribute):
                dotted.append(func.attr)
                func = func.value
            if isinstance(func, ast.Name):
                dotted.append(func.id)
            if ".".join(reversed(dotted)) == name:
                found.append(node)
    return found


def keyword(call: ast.Call, name: str):
    for item in call.keywords:
        if item.arg == name and isinstance(item.value, ast.Constant):
            return item.value.value
    return None


def sources():
    return sorted(LIB.rglob("*.py"))


def test_no_pickle_modules():
    for path in sources():
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            for name in names:
                assert name.split(".")[0] not in {
                    "pickle",
                    "dill",
                    "joblib",
                    "cloudpickle",
                    "shelve",
                }, path


def test_torch_load_is_weights_only_and_numpy_refuses_pickles():
    seen = 0
    for path in sources():
        tree = ast.parse(path.read_text())
        for call in calls(tree, "torch.load"):
            seen += 1
            assert keyword(call, "weights_only") is True, f"{path}:{call.lineno}"
        for call in calls(tree, "np.load"):
            assert keyword(call, "allow_pickle") is False, f"{path}:{call.lineno}"
        for call in calls(tree, "yaml.load"):
            raise AssertionError(f"{path}:{call.lineno}: use yaml.safe_load")
        assert not calls(tree, "pd.read_pickle"), path
    assert seen >= 1  # the state-dict loader exists and was checked


def test_model_locations_are_never_resolved_by_importing():
    """``importlib.util.find_spec("a.b")`` imports ``a``: a model location must not reach it."""
    for path in sources():
        tree = ast.parse(path.read_text())
        assert not calls(tree, "importlib.util.find_spec"), path
        assert not calls(tree, "find_spec") or path.name == "models.py", path


# --- the bounded loaders (ahrec.safe_load) ------------------------------------------

LAUGHS = "\n".join(
    [
        "a: &a [x, x, x, x, x, x, x, x, x]",
        *(
            f"{c}: &{c} [{', '.join([f'*{p}'] * 9)}]"
            for p, c in zip("abcdefgh", "bcdefghi", strict=True)
        ),
        "shards: *i",
    ]
)


def test_a_config_with_aliases_is_refused_before_anything_walks_it(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text(LAUGHS)
    assert len(LAUGHS) < 600
    started = time.perf_counter()
    with pytest.raises(ConfigError, match=r"config\.yaml:1: YAML anchors and aliases") as caught:
        load_config(path)
    assert time.perf_counter() - started < 1 and len(str(caught.value)) < 500


def test_files_that_are_not_regular_are_refused_without_reading(tmp_path):
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)
    link = tmp_path / "zero.json"
    link.symlink_to("/dev/zero")
    with pytest.raises(ConfigError, match="not a regular file"):
        load_yaml(fifo)  # would block forever if opened for reading without O_NONBLOCK
    with pytest.raises(DocumentError, match="not a regular file"):
        load_json(link)  # followed: /dev/zero is a device
    with pytest.raises(DocumentError, match="symbolic link"):
        load_json(link, follow_links=False)
    with pytest.raises(DocumentError, match="no such file"):
        read_bounded(tmp_path / "missing", 10)


def test_size_and_depth_are_bounded(tmp_path):
    big = tmp_path / "big.json"
    big.write_text("[" + "1," * 600 + "1]")
    with pytest.raises(
        DocumentError, match=r"big\.json:1: file of 1,203 bytes, more than the 1,000"
    ):
        load_json(big, 1000)
    deep = tmp_path / "deep.yaml"
    deep.write_text("a: " + "[" * (MAX_DEPTH + 5) + "]" * (MAX_DEPTH + 5) + "\n")
    with pytest.raises(DocumentError, match=f"deep.yaml:1: nested more than {MAX_DEPTH}"):
        bounded_yaml(deep)
    deeper = tmp_path / "deeper.json"
    deeper.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(DocumentError, match="nested"):
        load_json(deeper)
    digits = tmp_path / "digits.yaml"
    digits.write_text("shards: " + "9" * 10_000 + "\n")
    with pytest.raises(DocumentError, match="not usable YAML"):
        bounded_yaml(digits)
    bad = tmp_path / "bad.yaml"
    bad.write_bytes(b"a: 1\nb: \xff\n")
    with pytest.raises(DocumentError, match=r"bad\.yaml:2: not UTF-8"):
        bounded_yaml(bad)
    plain = tmp_path / "plain.yaml"
    plain.write_text("\ufeffa: [1, {b: c}]\n")
    assert bounded_yaml(plain) == {"a": [1, {"b": "c"}]}


@pytest.mark.slow
def test_snakemake_refuses_a_config_file_with_aliases(tmp_path):
    """Snakemake reads --configfile itself; the Snakefile reads it again, bounded, first."""
    import subprocess
    import sys

    from ahrec.devtools.runs import snakemake_env

    repo = LIB.parents[1]
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(LAUGHS)
    done = subprocess.run(
        [
            str(Path(sys.executable).with_name("snakemake")),
            "-n",
            "--snakefile",
            str(repo / "Snakefile"),
            "--configfile",
            str(bomb),
            "--directory",
            str(tmp_path / "work"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env=snakemake_env(),
    )
    assert done.returncode != 0
    assert f"{bomb}:1: YAML anchors and aliases" in done.stdout + done.stderr
