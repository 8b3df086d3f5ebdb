"""No import in lib/ahrec climbs back up the layers.

The library is layered so that data flows straight down: a module imports its
own package, lower layers and nothing above. Run as a script to print the
layer order and every import that climbs:

    .venv/bin/python tests/unit/test_layers.py [LIB_DIR]

Three rules, checked on the source (``ast``, nothing is imported):
- packages sit in the layers of ``LAYERS``; a module may import its own
  package, its own layer and any lower one;
- the declarations (each package's ``kinds.py``, ``settings.py``, ``params.py``
  and ``corpus/formats.py``: options classes and kind tables, which name their
  implementations as strings) form one layer under every stage, because
  ``config.py`` validates them all;
- no module imports another's ``steps.py``: a stage's steps are what its rule
  scripts call, so what two stages share lives in a lower module.
``devtools`` (tiny models and manifests for the tests and the benchmarks) is
the top layer: it may import anything in ``ahrec``, steps included, and
nothing in ``ahrec`` imports it, since the workflow never runs it.
Imports under ``if TYPE_CHECKING:`` are annotations, not dependencies, and are
not checked.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

LIB = Path(__file__).resolve().parents[2] / "lib"

# Lowest first. A name is a top-level module or package of ``ahrec``.
LAYERS: list[tuple[str, ...]] = [
    ("errors", "safe_load", "processes", "io", "kinds", "device", "runtime", "metrics", "models"),
    ("media",),
    ("corpus", "demo"),
    ("<declarations>",),
    ("config", "model_records"),
    ("training",),
    ("faces", "transcripts"),
    ("embeddings",),
    ("unimodal",),
    ("fusion",),
    ("evaluation",),
    ("predict", "reporting", "workflow", "reference"),
    ("devtools",),
]
TOP = "devtools"  # may import any module, steps included
DECLARATIONS = {"kinds", "settings", "params", "formats"}


def layer_of(module: str) -> int:
    """The layer of a dotted ``ahrec`` module name (``ahrec.fusion.params``)."""
    parts = module.split(".")
    name = "<declarations>" if len(parts) > 2 and parts[-1] in DECLARATIONS else parts[1]
    for index, names in enumerate(LAYERS):
        if name in names:
            return index
    raise KeyError(f"{module}: its package {parts[1]!r} is in no layer of LAYERS")


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    guarded: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            guarded.update(id(child) for child in ast.walk(node))
    return guarded


def imports(lib: Path) -> list[tuple[str, int, str]]:
    """Every (module, line, imported ahrec module) of the library, type-only ones left out."""
    found = []
    for path in sorted((lib / "ahrec").rglob("*.py")):
        parts = path.relative_to(lib).with_suffix("").parts
        module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        tree = ast.parse(path.read_text(encoding="utf-8"))
        guarded = _type_checking_nodes(tree)
        for node in ast.walk(tree):
            if id(node) in guarded:
                continue
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                targets = [node.module]
                if node.module == "ahrec" or node.module.count(".") == 1:
                    # ``from ahrec.corpus import plan`` imports ahrec.corpus.plan
                    targets = [f"{node.module}.{alias.name}" for alias in node.names]
            elif isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                continue
            found += [(module, node.lineno, t) for t in targets if t.startswith("ahrec.")]
    return found


def climbing(lib: Path = LIB) -> list[str]:
    """One line per import that climbs a layer or reaches into another package's steps."""
    problems = []
    for module, line, target in imports(lib):
        where = f"{module}:{line} imports {target}"
        if target.split(".")[1] == module.split(".")[1]:
            continue  # a package's own modules
        if module.split(".")[1] == TOP:
            continue
        if target.split(".")[-1] == "steps":
            problems.append(f"{where} (a stage's steps; move what is shared below)")
        elif layer_of(target) > layer_of(module):
            problems.append(f"{where} (layer {layer_of(module)} -> {layer_of(target)}: climbs)")
    return problems


def test_no_import_climbs() -> None:
    assert climbing() == []


def test_every_package_has_a_layer() -> None:
    for path in (LIB / "ahrec").iterdir():
        if path.name.startswith("_") or path.name == "py.typed" or path.suffix == ".pyc":
            continue
        layer_of(f"ahrec.{path.stem}")


def test_a_climbing_import_is_found(tmp_path: Path) -> None:
    package = tmp_path / "ahrec"
    for sub, text in {
        "training/loop.py": "from ahrec.evaluation.metrics import macro_f1\n",
        "embeddings/steps.py": "from ahrec.transcripts.steps import read_transcripts\n",
        "evaluation/metrics.py": "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from ahrec.predict.plan import PredictBatches\n",
        "fusion/model.py": "from ahrec.unimodal.kinds import UNIMODAL_KINDS\n",
        "devtools/runs.py": "from ahrec.fusion.steps import train_fusion_seed\n",
        "reporting/tables.py": "from ahrec.devtools.manifests import manifest_frame\n",
    }.items():
        (package / sub).parent.mkdir(parents=True, exist_ok=True)
        (package / sub).write_text(text)
    assert climbing(tmp_path) == [
        "ahrec.embeddings.steps:1 imports ahrec.transcripts.steps"
        " (a stage's steps; move what is shared below)",
        "ahrec.reporting.tables:1 imports ahrec.devtools.manifests (layer 11 -> 12: climbs)",
        "ahrec.training.loop:1 imports ahrec.evaluation.metrics (layer 5 -> 10: climbs)",
    ]


if __name__ == "__main__":
    lib = Path(sys.argv[1]) if len(sys.argv) > 1 else LIB
    print("layers, lowest first:")
    for index, names in enumerate(LAYERS):
        print(f"  {index:2d}  {', '.join(names)}")
    found = climbing(lib)
    print(f"{len(found)} import(s) climb:")
    for problem in found:
        print(f"  {problem}")
    sys.exit(1 if found else 0)
