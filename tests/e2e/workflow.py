"""Running the real workflow (Snakemake CLI) on a tiny corpus, for end-to-end tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]

TINY_DEMO = {
    "participants": 8,
    "questions_per_participant": 1,
    "split_participants": {"train": 4, "val": 2, "test": 2},
    "seed": 11,
    "min_seconds": 3.0,
    "max_seconds": 4.0,
    "test_videos_without_transcript": 1,
}


# Small models and few seeds: the DAG end to end in minutes on 2 cores.
TINY_MODELS = {
    "evaluation": {"oof_folds": 2},
    "unimodal": {
        "audio_mamba": {"d_model": 32, "layers": 1, "pool_steps": 4, "epochs": 5},
        "text_minilm": {"epochs": 2},
        "text_tfidf_catboost": {"iterations": 30},
    },
    "fusion": {"seeds": [42, 2025], "defaults": {"d": 32, "epochs": 8, "patience": 3}},
    "search": {"proto": {"run": "fusion_proto", "n_trials": 2}},
}


def write_config(workdir: Path, overrides: dict[str, Any], tiny_models: bool = True) -> Path:
    """A config file in ``workdir``; it extends config.yaml unless Snakemake is told to replace it."""
    base = {"results": "results", "shards": 2, "demo": TINY_DEMO}
    config = {**base, **(TINY_MODELS if tiny_models else {}), **overrides}
    path = workdir / "config.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def snakemake(
    workdir: Path, *args: str, timeout: int = 1800, replace_config: bool = False
) -> subprocess.CompletedProcess:
    """Run Snakemake on the repository's Snakefile with ``workdir`` as working directory."""
    command = [
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
        "2",
        *(["--replace-workflow-config"] if replace_config else []),
        *args,
    ]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "YOLO_OFFLINE": "1"}
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=timeout)
    if result.returncode != 0:
        logs = sorted((workdir / "results" / "logs").rglob("*.log"))
        tails = "\n".join(f"--- {p}\n{p.read_text()[-1500:]}" for p in logs[-5:])
        raise AssertionError(
            f"snakemake {' '.join(args)} failed ({result.returncode}):\n"
            f"{result.stderr[-4000:]}\n{tails}"
        )
    return result
