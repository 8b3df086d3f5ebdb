"""Running the real workflow (Snakemake CLI) on a tiny corpus, for end-to-end tests."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]

# The configuration CI runs: the default workflow on a tiny corpus with small models.
TEST_CONFIG = REPO / ".test" / "config.yaml"


def deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """``extra`` over ``base``, nested mappings merged key by key (as Snakemake merges configs)."""
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def write_config(workdir: Path, overrides: dict[str, Any], base: Path | None = TEST_CONFIG) -> Path:
    """A whole configuration in ``workdir``: the ``base`` preset with ``overrides`` on top.

    ``base=None`` starts from nothing (the schema's defaults fill in the rest).
    """
    config = yaml.safe_load(base.read_text()) if base is not None else {}
    config = deep_merge({**config, "results": "results"}, overrides)
    config["preset"] = config.get("preset") or "custom"
    path = workdir / "config.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def edit_config(workdir: Path, changes: dict[str, Any]) -> None:
    """Change the run's config file as a user would edit it."""
    path = workdir / "config.yaml"
    current = yaml.safe_load(path.read_text())
    path.write_text(yaml.safe_dump(deep_merge(current, changes), sort_keys=False))


def copy_run(source: Path, target: Path) -> Path:
    """A copy of a finished run (results, Snakemake's metadata, dates kept) to change freely."""
    shutil.copytree(source, target, symlinks=True, copy_function=shutil.copy2)
    return target


def executed_jobs(output: str) -> dict[str, int]:
    """Jobs a real run executed, per rule, from Snakemake's log."""
    counts: dict[str, int] = {}
    for line in output.splitlines():
        match = re.match(r"^(?:local)?(?:rule|checkpoint) (\w+):$", line.strip())
        if match:
            counts[match.group(1)] = counts.get(match.group(1), 0) + 1
    return counts


def planned_jobs(workdir: Path, *args: str) -> dict[str, int]:
    """Jobs a dry run plans, per rule (the "Job stats" table), without the target rules."""
    result = snakemake(workdir, "--dry-run", *args)
    counts = executed_jobs(result.stdout + result.stderr)
    counts.pop("all", None)
    counts.pop("embeddings", None)
    return counts


def snakemake_command(workdir: Path, *args: str, cores: int = 2) -> list[str]:
    """The Snakemake CLI on the repository's Snakefile, ``workdir`` as working directory."""
    return [
        sys.executable,
        "-m",
        "snakemake",
        "--snakefile",
        str(REPO / "Snakefile"),
        "--directory",
        str(workdir),
        "--configfile",
        str(workdir / "config.yaml"),
        "--cores",
        str(cores),
        *args,
    ]


def snakemake(
    workdir: Path, *args: str, timeout: int = 1800, cores: int = 2
) -> subprocess.CompletedProcess:
    """Run Snakemake to the end; a failure raises with the output and the last job logs."""
    command = snakemake_command(workdir, *args, cores=cores)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "YOLO_OFFLINE": "1"}
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=timeout)
    if result.returncode != 0:
        logs = sorted(
            (workdir / "results" / "logs").rglob("*.log"), key=lambda p: p.stat().st_mtime
        )
        tails = "\n".join(f"--- {p}\n{p.read_text()[-1500:]}" for p in logs[-5:])
        raise AssertionError(
            f"snakemake {' '.join(args)} failed ({result.returncode}):\n"
            f"{result.stderr[-4000:]}\n{tails}"
        )
    return result


PAPER_PRESET = REPO / "presets" / "paper.yaml"


def paper_config(
    corpus: Path, models: dict[str, str], quick: bool = True, layer: int = 1
) -> dict[str, Any]:
    """``presets/paper.yaml`` itself, pointed at local models and a local corpus.

    Everything the preset says stays, except what a test machine cannot reach:
    the checkpoints become locally built models of the same architectures
    (``tests/tiny_models.py``; ``layer`` is the wav2vec2 layer kept, of the
    model's own), the corpus a generated one in the BAH layout, ``device: auto``.
    With ``quick`` (CI) frames, crops, epochs, grids and trials shrink as well.
    Every rule, unimodal model, fusion run (ablations, TF-IDF and
    EmotionTextClassifier rows included) and the search of the preset run.
    """
    config = yaml.safe_load(PAPER_PRESET.read_text())
    config.update(device="auto", results="results", corpus={"type": "bah", "root": str(corpus)})
    face = config["face"]
    face["detector"]["checkpoint"] = models["yolo"]
    config["transcripts"]["asr"]["model"] = models["whisper"]
    embeddings = config["embeddings"]
    embeddings["scene"]["videomae"]["model"] = models["videomae"]
    embeddings["face"]["effnet"]["model"] = models["effnet"]
    embeddings["audio"]["wav2vec2"].update(model=models["wav2vec2"], layer=layer)
    for entry in embeddings["text"].values():
        if entry["kind"] == "transformer":
            entry["model"] = models["distilroberta"]
    for entry in config["unimodal"].values():
        if entry["kind"] == "text_finetune":
            entry["model"] = models["distilroberta"]
        elif entry["kind"] == "videomae_finetune":
            entry["model"] = models["videomae"]
    if not quick:
        return config
    config["scene"] = {**config.get("scene", {}), "n_frames": 4, "short_side": 40}
    face.update(n_frames=6, crop_size=64)
    face["detector"]["imgsz"] = 160
    embeddings["face"]["effnet"]["batch_size"] = 16
    embeddings["text"]["tfidf"]["max_features"] = 200
    for entry in config["unimodal"].values():
        kind = entry["kind"]
        if kind in ("mlp", "temporal", "text_finetune", "videomae_finetune"):
            entry.update(epochs=2, patience=2)
        if kind == "videomae_finetune":
            entry.update(frozen_layers=1, batch_size=2)
        elif kind == "temporal":
            entry.update(d_model=32, layers=1)
        elif kind == "tfidf_logreg":
            entry.update(max_features=[50, 200], ngram_max=[1, 2], C=[1.0])
        elif kind == "tfidf_catboost":
            entry.update(max_features=[50, 200], ngram_max=[1], iterations=30)
    config["evaluation"] = {**config.get("evaluation", {}), "folds": 2}
    config["fusion"].update(seeds=[1, 2], defaults={"d": 32, "epochs": 3})
    for search in config.get("search", {}).values():
        search["n_trials"] = 2
    return config
