"""Nothing the workflow reads can run code: no pickles anywhere in the library.

Checkpoints are safetensors or state dicts loaded with
``torch.load(weights_only=True)``; tables are Parquet, CSV or JSON; frame
stores are ``.npz`` read with ``allow_pickle=False``; config is YAML read with
the safe loader. This test reads the library's source and fails on any way
around that.
"""

import ast
from pathlib import Path

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
