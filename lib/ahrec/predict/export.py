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
import math
import os
import re
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


NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")


def read_export(folder: str | Path) -> ExportedEnsemble:
    """An exported ensemble, validated before anything uses it: an export comes from elsewhere.

    Every name must be a plain name (a model called ``../../x`` would be read,
    and its predictions written, outside the folders it names), every model
    and seed folder must be a real folder inside the export, the prior a
    probability pair, and ``config.yaml`` a valid configuration. Problems are
    reported together, each naming the file and key.
    """
    folder = Path(folder)
    path = folder / ENSEMBLE_JSON
    if not path.is_file():
        raise ConfigError(
            f"{folder}: not an exported ensemble ({ENSEMBLE_JSON} is missing); export one with "
            "`snakemake results/export/<fusion run>` and copy that folder"
        )
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{path}: not valid JSON ({exc}); export the ensemble again") from None
    if not isinstance(record, dict) or record.get("format") != FORMAT:
        raise ConfigError(
            f"{path}: unsupported export format {record.get('format') if isinstance(record, dict) else record!r}"
        )
    problems: list[str] = []
    run = record.get("run")
    if not isinstance(run, str) or not NAME.fullmatch(run):
        problems.append(f"{path}: run: expected a plain name, got {run!r}")
    seeds = record.get("seeds")
    if (
        not isinstance(seeds, list)
        or not seeds
        or not all(isinstance(x, int) and not isinstance(x, bool) and x >= 0 for x in seeds)
    ):
        problems.append(f"{path}: seeds: expected a non-empty list of integers >= 0, got {seeds!r}")
        seeds = []
    prior = record.get("prior")
    if not (
        isinstance(prior, list)
        and len(prior) == 2
        and all(
            isinstance(p, int | float)
            and not isinstance(p, bool)
            and math.isfinite(p)
            and 0 <= p <= 1
            for p in prior
        )
        and abs(sum(prior) - 1.0) < 1e-3
    ):
        problems.append(f"{path}: prior: expected two probabilities adding up to 1, got {prior!r}")
    models = _exported_models(path, record.get("models"), problems)
    for model in models:
        problems.extend(_inside(folder, Path("unimodal") / model.name, path))
    for seed in seeds:
        problems.extend(_inside(folder, Path("fusion") / f"seed{seed}", path))
    config = _export_config(folder / CONFIG_YAML, problems)
    if problems:
        raise ConfigError(
            f"{folder}: not a usable exported ensemble:\n" + "\n".join(f"  - {p}" for p in problems)
        )
    return ExportedEnsemble(
        folder=folder,
        run=run,
        label=str(record.get("label", run)),
        seeds=tuple(int(s) for s in seeds),
        models=tuple(models),
        prior=(float(prior[0]), float(prior[1])),
        config=config,
    )


def _exported_models(path: Path, raw: Any, problems: list[str]) -> list[ExportedModel]:
    from ahrec.unimodal.kinds import INPUTS, MODALITIES, UNIMODAL_KINDS

    if not isinstance(raw, list) or not raw:
        problems.append(f"{path}: models: expected a non-empty list")
        return []
    models = []
    for index, entry in enumerate(raw):
        where = f"{path}: models[{index}]"
        fields = {f.name for f in dataclasses.fields(ExportedModel)}
        if not isinstance(entry, dict) or set(entry) != fields:
            problems.append(f"{where}: expected exactly the keys {', '.join(sorted(fields))}")
            continue
        found = []
        if not isinstance(entry["name"], str) or not NAME.fullmatch(entry["name"]):
            found.append(f"{where}.name: expected a plain name, got {entry['name']!r}")
        if entry["modality"] not in MODALITIES:
            found.append(
                f"{where}.modality: one of {', '.join(MODALITIES)}, got {entry['modality']!r}"
            )
        if entry["kind"] not in UNIMODAL_KINDS:
            found.append(f"{where}.kind: not a unimodal model kind: {entry['kind']!r}")
        if entry["input"] not in INPUTS:
            found.append(f"{where}.input: one of {', '.join(INPUTS)}, got {entry['input']!r}")
        embedding = entry["embedding"]
        if embedding is not None and (
            not isinstance(embedding, str) or not NAME.fullmatch(embedding)
        ):
            found.append(f"{where}.embedding: expected a plain name or null, got {embedding!r}")
        problems.extend(found)
        if not found:
            models.append(ExportedModel(**entry))
    return models


def _inside(folder: Path, relative: Path, path: Path) -> list[str]:
    """A model or seed folder must be a real folder inside the export (no link out of it)."""
    target = folder / relative
    if not target.is_dir() or target.is_symlink():
        return [f"{path}: {relative} is missing from the export (or is a link)"]
    if not target.resolve().is_relative_to(folder.resolve()):
        return [f"{path}: {relative} leads outside the export"]
    return []


def _export_config(path: Path, problems: list[str]) -> dict[str, Any]:
    """The export's configuration slice, validated as a configuration of its own."""
    from ahrec.config import load_settings

    try:
        config = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        problems.append(f"{path}: not readable YAML ({exc})")
        return {}
    if not isinstance(config, dict):
        problems.append(f"{path}: the top level must be a mapping")
        return {}
    missing = [s for s in (*INPUT_SECTIONS, "embeddings") if s not in config]
    if missing:
        problems.append(f"{path}: missing section(s) {', '.join(missing)}")
        return config
    try:
        load_settings({k: config[k] for k in (*INPUT_SECTIONS, "embeddings")})
    except ConfigError as exc:
        problems.append(f"{path}: {exc}")
    return config


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
