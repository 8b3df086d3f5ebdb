"""Step: a trained ensemble as one folder that another machine can use.

The folder holds everything prediction needs and nothing it must trust:
the unimodal models and the fusion seeds (safetensors, JSON, CatBoost's
``.cbm``; no pickles), the training prior (for a video that lacks every
modality), the ensemble's validation metrics, and ``config.yaml``, the slice
of configuration that built the inputs (frame sampling, face detector, ASR,
the encoders' hub ids or paths and options). Prediction on new videos reads
that slice, so the new videos go through the media, transcript and encoder
settings the models were trained on, whatever the local ``config.yaml`` says.

Layout::

    ensemble.json        run, seeds, models (name, modality, input, embedding), prior
    config.yaml          media, scene, face, transcripts, embeddings, unimodal, fusion
    metrics.json         the ensemble's metrics on this run's validation/test splits
    unimodal/<model>/    one saved unimodal model each
    fusion/seed<N>/      one saved fusion model per seed
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import yaml

from ahrec.errors import ConfigError
from ahrec.training.labels import prior_proba, read_labels

if TYPE_CHECKING:
    from ahrec.config import Settings

LOG = logging.getLogger(__name__)

FORMAT = 1
ENSEMBLE_JSON = "ensemble.json"
CONFIG_YAML = "config.yaml"
INPUT_SECTIONS = ("media", "scene", "face", "transcripts")


@dataclasses.dataclass(frozen=True)
class ExportedModel:
    """A unimodal model of the ensemble and what it reads."""

    name: str
    modality: str
    kind: str
    input: str  # embedding | sequence | transcripts | scene_frames
    embedding: str | None  # the encoder whose table it reads (embedding/sequence inputs)


@dataclasses.dataclass(frozen=True)
class ExportedEnsemble:
    folder: Path
    run: str
    label: str
    seeds: tuple[int, ...]
    models: tuple[ExportedModel, ...]
    prior: tuple[float, float]
    config: dict[str, Any]

    def unimodal_folder(self, model: str) -> Path:
        return self.folder / "unimodal" / model

    def seed_folder(self, seed: int) -> Path:
        return self.folder / "fusion" / f"seed{seed}"


def config_slice(config: Mapping[str, Any], run: str) -> dict[str, Any]:
    """The configuration a run's inputs and models were built with, and nothing else."""
    spec = config["fusion"]["runs"][run]
    models = {name: config["unimodal"][name] for name in spec["models"]}
    encoders: dict[str, dict[str, Any]] = {}
    for raw in models.values():
        name = raw.get("embedding")
        if name:
            modality = raw["modality"]
            encoders.setdefault(modality, {})[name] = config["embeddings"][modality][name]
    return {
        **{section: config[section] for section in INPUT_SECTIONS},
        "embeddings": encoders,
        "unimodal": models,
        "fusion": {"defaults": config["fusion"].get("defaults") or {}, "runs": {run: spec}},
    }


def export_ensemble(
    run: str,
    export: Mapping[str, Any],
    unimodal_folders: Sequence[str | Path],
    seed_folders: Sequence[str | Path],
    labels_path: str | Path,
    metrics_path: str | Path | None,
    out: str | Path,
) -> Path:
    """Copy a run's models into ``out`` (written beside it, then renamed: never half there).

    ``export`` is what ``export_plan`` gives: the run's label, seeds, models
    (in fusion order) and the configuration slice that built their inputs.
    """
    label, seeds, models, slice_ = (export[k] for k in ("label", "seeds", "models", "config"))
    out = Path(out)
    staging = out.with_name(f".tmp-{out.name}")
    shutil.rmtree(staging, ignore_errors=True)
    (staging / "unimodal").mkdir(parents=True)
    (staging / "fusion").mkdir()
    if len(unimodal_folders) != len(models) or len(seed_folders) != len(seeds):
        raise ValueError("one model folder per model and one per seed are needed")
    for model, folder in zip(models, unimodal_folders, strict=True):
        shutil.copytree(folder, staging / "unimodal" / model["name"])
    for seed, folder in zip(seeds, seed_folders, strict=True):
        shutil.copytree(folder, staging / "fusion" / f"seed{seed}")
    labels = read_labels(labels_path)
    train = labels[(labels["split"] == "train") & labels["label"].notna()]
    prior = prior_proba([int(v) for v in train["label"]])
    record = {
        "format": FORMAT,
        "run": run,
        "label": label,
        "seeds": [int(s) for s in seeds],
        "models": [dict(m) for m in models],
        "prior": [float(p) for p in np.asarray(prior)],
    }
    (staging / ENSEMBLE_JSON).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    (staging / CONFIG_YAML).write_text(
        "# The configuration these models were trained with (inputs, encoders, models).\n"
        + yaml.safe_dump(dict(slice_), sort_keys=False),
        encoding="utf-8",
    )
    if metrics_path:
        shutil.copy(metrics_path, staging / "metrics.json")
    if out.exists():
        shutil.rmtree(out)
    os.replace(staging, out)
    LOG.info("exported %s: %d unimodal models, %d seeds -> %s", run, len(models), len(seeds), out)
    return out


def read_export(folder: str | Path) -> ExportedEnsemble:
    """An exported ensemble; a missing or foreign folder gets one message that says what to do."""
    folder = Path(folder)
    path = folder / ENSEMBLE_JSON
    if not path.is_file():
        raise ConfigError(
            f"{folder}: not an exported ensemble ({ENSEMBLE_JSON} is missing); export one with "
            "`snakemake results/export/<fusion run>` and copy that folder"
        )
    record = json.loads(path.read_text(encoding="utf-8"))
    if record.get("format") != FORMAT:
        raise ConfigError(f"{path}: unsupported export format {record.get('format')!r}")
    config = yaml.safe_load((folder / CONFIG_YAML).read_text(encoding="utf-8")) or {}
    missing = [s for s in (*INPUT_SECTIONS, "embeddings") if s not in config]
    if missing:
        raise ConfigError(f"{folder / CONFIG_YAML}: missing section(s) {', '.join(missing)}")
    return ExportedEnsemble(
        folder=folder,
        run=record["run"],
        label=record.get("label", record["run"]),
        seeds=tuple(int(s) for s in record["seeds"]),
        models=tuple(ExportedModel(**m) for m in record["models"]),
        prior=(float(record["prior"][0]), float(record["prior"][1])),
        config=config,
    )


def export_models(settings: Settings, run: str) -> list[ExportedModel]:
    """A run's unimodal models and what each reads, in fusion order."""
    return [
        ExportedModel(name, spec.modality, spec.kind, spec.input, spec.embedding)
        for name in settings.runs[run].models
        for spec in [settings.unimodal[name]]
    ]


def export_plan(settings: Settings, run: str) -> dict[str, Any]:
    """What the export rule hands ``export_ensemble`` (its params: a change re-exports)."""
    spec = settings.runs[run]
    return {
        "label": spec.label,
        "seeds": list(spec.seeds),
        "models": [dataclasses.asdict(m) for m in export_models(settings, run)],
        "config": config_slice(settings.config, run),
    }
