"""Running the workflow's Snakemake CLI from Python: the tests' and the benchmarks' runner.

What both need to start the real workflow on a folder: the command line, an
environment that starts quickly and offline, the jobs a run executed, and the
configurations they run (a file over config.yaml as the Snakefile merges it,
the paper preset pointed at local tiny models).

Snakemake imports every installed executor plugin when it starts, and the
SLURM plugin asks ``scontrol show config`` for the cluster's ``MinJobAge``
while it is imported (``snakemake_executor_plugin_slurm/job_status_query.py``,
10 s timeout). On a machine with slurm-wlm installed and no controller running
(CI after installing slurm-wlm, a laptop between SLURM tests) every Snakemake
start waits about 10 s for that answer. Local runs point ``SLURM_CONF`` at a
configuration whose controller gives up at once, so ``scontrol`` fails in
milliseconds and the plugin keeps its defaults; runs that submit to SLURM keep
the real configuration (``snakemake_env(slurm=True)``).
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[3]

OFFLINE = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "YOLO_OFFLINE": "1"}

# A controller nobody runs, asked with a one-second message timeout (scontrol then
# does not retry): enough for scontrol to fail at once.
NO_CONTROLLER = "ClusterName=none\nSlurmctldHost=localhost\nMessageTimeout=1\n"


def no_controller_conf() -> Path:
    """A slurm.conf naming no running controller, written once per user in the temp folder."""
    path = Path(tempfile.gettempdir()) / f"ahrec-no-slurm-{os.getuid()}.conf"
    if not path.is_file() or path.read_text() != NO_CONTROLLER:
        partial = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        partial.write_text(NO_CONTROLLER)
        partial.replace(path)
    return path


def snakemake_env(slurm: bool = False) -> dict[str, str]:
    """os.environ for a Snakemake subprocess: offline; without SLURM unless ``slurm``."""
    env = {**os.environ, **OFFLINE}
    if not slurm:
        env["SLURM_CONF"] = str(no_controller_conf())
    return env


def deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """``extra`` over ``base``, nested mappings merged key by key (as Snakemake merges configs)."""
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def whole_config(path: Path) -> dict[str, Any]:
    """The configuration ``path`` makes: a preset alone, any other file over config.yaml
    (merged as the Snakefile has Snakemake merge them)."""
    config = yaml.safe_load(path.read_text()) or {}
    if config.get("preset"):
        return config
    return deep_merge(yaml.safe_load((REPO / "config.yaml").read_text()), config)


def edit_config(workdir: Path, changes: dict[str, Any]) -> None:
    """Change the run's config file as a user would edit it."""
    path = workdir / "config.yaml"
    current = yaml.safe_load(path.read_text())
    path.write_text(yaml.safe_dump(deep_merge(current, changes), sort_keys=False))


def executed_jobs(output: str) -> dict[str, int]:
    """Jobs a real run executed, per rule, from Snakemake's log."""
    counts: dict[str, int] = {}
    for line in output.splitlines():
        match = re.match(r"^(?:local)?(?:rule|checkpoint) (\w+):$", line.strip())
        if match:
            counts[match.group(1)] = counts.get(match.group(1), 0) + 1
    return counts


def snakemake_command(
    workdir: Path, *args: str, cores: int = 2, configfile: Path | None = None
) -> list[str]:
    """The Snakemake CLI on the repository's Snakefile, ``workdir`` as working directory.

    ``configfile`` (default ``workdir/config.yaml``) is the one config: passing
    another ``--configfile`` in ``args`` would swallow the targets after it
    (the option takes several values).
    """
    return [
        sys.executable,
        "-m",
        "snakemake",
        "--snakefile",
        str(REPO / "Snakefile"),
        "--directory",
        str(workdir),
        "--configfile",
        str(configfile or workdir / "config.yaml"),
        "--cores",
        str(cores),
        *args,
    ]


PAPER_PRESET = REPO / "presets" / "paper.yaml"


def paper_config(
    corpus: Path, models: dict[str, str], quick: bool = True, layer: int = 1
) -> dict[str, Any]:
    """``presets/paper.yaml`` itself, pointed at local models and a local corpus.

    Everything the preset says stays, except what a test machine cannot reach:
    the checkpoints become locally built models of the same architectures
    (``ahrec.devtools.tiny_models``; ``layer`` is the wav2vec2 layer kept, of the
    model's own), the corpus a generated one in the BAH layout, ``device: auto``.
    With ``quick`` (CI) shards, frames, crops, epochs, grids and trials shrink as well.
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
    config["shards"] = 2  # sharding itself is the default run's to check
    config["evaluation"] = {**config.get("evaluation", {}), "folds": 2}
    # one seed: the default run is the one that checks ensembles of seeds
    config["fusion"].update(seeds=[1], defaults={"d": 32, "epochs": 3})
    for search in config.get("search", {}).values():
        search["n_trials"] = 2
    return config
