"""Step: a trained ensemble as one folder that another machine can use.

The folder holds everything prediction needs and nothing it must trust:
the unimodal models and the fusion seeds (safetensors, JSON, CatBoost's
``.cbm``; no pickles), the training prior (for a video that lacks every
modality), the ensemble's validation metrics, and ``config.yaml``, the slice
of configuration that built the inputs (frame sampling, face detector, ASR,
the encoders' hub ids or the local model folders copied into ``models/``,
and options). Prediction on new videos reads that slice, so the new videos
go through the media, transcript and encoder settings the models were
trained on, whatever the local ``config.yaml`` says.

An export comes from elsewhere, so it is data, never code. ``files.json``
lists every file it holds with its size and SHA-256; ``read_export`` checks
the folder against it before anything is used: a file that is not listed
(a ``*.py`` dropped beside the models, say), a listed file that is missing,
changed or of another size, a symbolic or hard link, a device or FIFO, code
(``.py``, ``.so``...) and anything over the size caps are refused. Every JSON
and YAML file is parsed with the bounded, alias-free loaders
(``ahrec.safe_load``); ``config.yaml`` and every ``model.json`` are validated
with the configuration's options classes and bounds; every model location
the export names is a folder inside it, a hub id or ``package:<module>``.

Layout::

    files.json           every other file: path, size, sha256
    ensemble.json        run, seeds, models (name, modality, input, embedding), prior
    config.yaml          media, scene, face, transcripts, embeddings, unimodal, fusion
    metrics.json         the ensemble's metrics on this run's validation/test splits
    calibration.json     the run's calibration map and label policy (fitted on validation)
    unimodal/<model>/    one saved unimodal model each
    fusion/seed<N>/      one saved fusion model per seed
    models/<name>/       local model folders or files the configuration named
"""

from __future__ import annotations

import copy
import dataclasses
import json
import logging
import math
import os
import re
import shutil
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

import numpy as np
import yaml

from ahrec.errors import ConfigError
from ahrec.predict.files import (
    CODE_SUFFIXES,
    ENSEMBLE_JSON,
    FORMAT,
    SNAKEMAKE_MARKER,
    plain_relative,
    verify_export,
    write_files_json,
)

if TYPE_CHECKING:
    from ahrec.config import Settings
    from ahrec.evaluation.calibration import CalibrationMap

LOG = logging.getLogger(__name__)

CONFIG_YAML = "config.yaml"
METRICS_JSON = "metrics.json"
CALIBRATION_JSON = "calibration.json"
MODELS_DIR = "models"
INPUT_SECTIONS = ("media", "scene", "face", "transcripts")

HUB_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,95}(/[A-Za-z0-9][A-Za-z0-9_.-]{0,95})?")
ACCEPTED_LOCATIONS = (
    "a folder or file inside the export (models/<name>), a hub id (org/name) or "
    "package:<module>/<subfolder> (<module> a top-level installed package)"
)


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
    config: dict[str, Any]  # model locations inside the export made absolute
    # the run's calibration map (an export made before maps were exported: the identity)
    calibration: CalibrationMap = dataclasses.field(default_factory=lambda: _identity())

    def unimodal_folder(self, model: str) -> Path:
        return self.folder / "unimodal" / model

    def seed_folder(self, seed: int) -> Path:
        return self.folder / "fusion" / f"seed{seed}"


def _identity() -> CalibrationMap:
    from ahrec.evaluation.calibration import CalibrationMap

    return CalibrationMap()


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
    return copy.deepcopy(
        {
            **{section: config[section] for section in INPUT_SECTIONS},
            "embeddings": encoders,
            "unimodal": models,
            "fusion": {"defaults": config["fusion"].get("defaults") or {}, "runs": {run: spec}},
        }
    )


# --- model locations ----------------------------------------------------------------


def model_locations(config: Mapping[str, Any]) -> Iterator[tuple[tuple[str, ...], str]]:
    """Every model location a configuration (slice) names: (key path, value).

    The face detector's checkpoint, the speech recogniser's model, every
    encoder's model and every unimodal model's pretrained backbone.
    """

    def entry(*keys: str) -> Any:
        node: Any = config
        for key in keys:
            node = node.get(key) if isinstance(node, Mapping) else None
        return node

    detector = entry("face", "detector")
    if isinstance(detector, Mapping) and isinstance(detector.get("checkpoint"), str):
        yield ("face", "detector", "checkpoint"), detector["checkpoint"]
    asr = entry("transcripts", "asr")
    if isinstance(asr, Mapping) and isinstance(asr.get("model"), str):
        yield ("transcripts", "asr", "model"), asr["model"]
    for modality, entries in (entry("embeddings") or {}).items():
        for name, spec in (entries or {}).items() if isinstance(entries, Mapping) else ():
            if isinstance(spec, Mapping) and isinstance(spec.get("model"), str):
                yield ("embeddings", str(modality), str(name), "model"), spec["model"]
    for name, spec in (entry("unimodal") or {}).items():
        if isinstance(spec, Mapping) and isinstance(spec.get("model"), str):
            yield ("unimodal", str(name), "model"), spec["model"]


def _set(config: dict[str, Any], keys: tuple[str, ...], value: str) -> None:
    node = config
    for key in keys[:-1]:
        node = node[key]
    node[keys[-1]] = value


def _local_path(value: str) -> Path | None:
    """The local file or folder a location names on this machine, or None (hub id, package)."""
    from ahrec.models import PACKAGE_PREFIX

    if value.startswith(PACKAGE_PREFIX):
        return None
    path = Path(value).expanduser()
    return path if path.exists() else None


def _copy_data(source: Path, target: Path) -> None:
    """Copy a model folder or file, following links (their content is copied) and leaving code out."""

    def ignore(folder: str, names: list[str]) -> list[str]:
        return [
            n
            for n in names
            if n.endswith(CODE_SUFFIXES) or n in ("__pycache__", ".git", SNAKEMAKE_MARKER)
        ]

    target.parent.mkdir(parents=True, exist_ok=True)
    if source.is_dir():
        shutil.copytree(source, target, symlinks=False, ignore=ignore)
    else:
        shutil.copyfile(source, target)


def _copy_locations(config: dict[str, Any], staging: Path) -> None:
    """Copy the local models prediction reads into ``models/`` and point the slice at them.

    A unimodal model's pretrained backbone is not read by prediction (the saved
    model holds its own backbone config): a local one is named by the saved
    model's ``backbone`` folder instead of being copied.
    """
    for keys, value in list(model_locations(config)):
        local = _local_path(value)
        if local is None:
            continue
        if keys[0] == "unimodal":
            _set(config, keys, f"unimodal/{keys[1]}/backbone")
            continue
        name = "_".join(keys[:-1]) if keys[0] != "embeddings" else "_".join(keys[1:-1])
        relative = f"{MODELS_DIR}/{name}"
        if local.is_file():
            relative = f"{relative}/{local.name}"
        _copy_data(local, staging / relative)
        _set(config, keys, relative)
        LOG.info("copied %s (%s) into the export as %s", value, ".".join(keys), relative)


def _rewrite_backbone_locations(staging: Path, models: Sequence[Mapping[str, Any]]) -> None:
    """A saved model's spec names a local pretrained backbone as its own backbone folder."""
    for model in models:
        path = staging / "unimodal" / model["name"] / "model.json"
        if not path.is_file():
            continue
        record = json.loads(path.read_text(encoding="utf-8"))
        value = (record.get("spec") or {}).get("model")
        if isinstance(value, str) and _local_path(value) is not None:
            record["spec"]["model"] = f"unimodal/{model['name']}/backbone"
            path.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")


# --- writing ----------------------------------------------------------------------------


def export_ensemble(
    run: str,
    export: Mapping[str, Any],
    unimodal_folders: Sequence[str | Path],
    seed_folders: Sequence[str | Path],
    labels_path: str | Path,
    metrics_path: str | Path | None,
    out: str | Path,
    calibration_path: str | Path | None = None,
) -> Path:
    """Copy a run's models into ``out`` (written beside it, then renamed: never half there).

    ``export`` is what ``export_plan`` gives: the run's label, seeds, models
    (in fusion order) and the configuration slice that built their inputs.
    Local model folders the slice names are copied into ``models/`` and the
    slice points at them; ``files.json`` lists everything, last.
    """
    from ahrec.training.labels import prior_proba, read_labels

    label, seeds, models, slice_ = (export[k] for k in ("label", "seeds", "models", "config"))
    slice_ = copy.deepcopy(dict(slice_))
    out = Path(out)
    staging = out.with_name(f".tmp-{out.name}")
    shutil.rmtree(staging, ignore_errors=True)
    (staging / "unimodal").mkdir(parents=True)
    (staging / "fusion").mkdir()
    if len(unimodal_folders) != len(models) or len(seed_folders) != len(seeds):
        raise ValueError("one model folder per model and one per seed are needed")
    for model, folder in zip(models, unimodal_folders, strict=True):
        _copy_data(Path(folder), staging / "unimodal" / model["name"])
    for seed, folder in zip(seeds, seed_folders, strict=True):
        _copy_data(Path(folder), staging / "fusion" / f"seed{seed}")
    _copy_locations(slice_, staging)
    _rewrite_backbone_locations(staging, models)
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
        + yaml.safe_dump(slice_, sort_keys=False),
        encoding="utf-8",
    )
    if metrics_path:
        shutil.copyfile(metrics_path, staging / METRICS_JSON)
    if calibration_path:
        shutil.copyfile(calibration_path, staging / CALIBRATION_JSON)
    write_files_json(staging)
    if out.exists():
        shutil.rmtree(out)
    os.replace(staging, out)
    LOG.info("exported %s: %d unimodal models, %d seeds -> %s", run, len(models), len(seeds), out)
    return out


# --- reading ------------------------------------------------------------------------------

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")


def read_export(folder: str | Path) -> ExportedEnsemble:
    """An exported ensemble, validated before anything uses it: an export comes from elsewhere.

    First the folder is checked against ``files.json`` (``verify_export``).
    Then every name must be a plain name (a model called ``../../x`` would be
    read, and its predictions written, outside the folders it names), every
    model and seed folder must be there with a valid ``model.json``, the prior
    a probability pair, ``config.yaml`` a valid configuration and every model
    location it names inside the export, a hub id or ``package:<module>``.
    Problems are reported together, each naming the file and key; ConfigError.
    """
    from ahrec.safe_load import MAX_CONFIG_BYTES, DocumentError, load_json, load_yaml

    folder = Path(folder)
    verify_export(folder)
    path = folder / ENSEMBLE_JSON
    try:
        record = load_json(path, MAX_CONFIG_BYTES, follow_links=False)
    except DocumentError as exc:
        raise ConfigError(f"{exc}; export the ensemble again") from None
    if not isinstance(record, dict) or record.get("format") != FORMAT:
        found = record.get("format") if isinstance(record, dict) else record
        raise ConfigError(f"{path}: unsupported export format {str(found)[:80]!r}")
    problems: list[str] = []
    run = record.get("run")
    if not isinstance(run, str) or not NAME.fullmatch(run):
        problems.append(f"{path}: run: expected a plain name, got {str(run)[:80]!r}")
    seeds = record.get("seeds")
    if (
        not isinstance(seeds, list)
        or not seeds
        or len(seeds) > 1000
        or not all(isinstance(x, int) and not isinstance(x, bool) and 0 <= x < 2**32 for x in seeds)
        or len(set(seeds)) != len(seeds)
    ):
        problems.append(
            f"{path}: seeds: expected a non-empty list of integers >= 0 (each once, below 2**32), "
            f"got {str(seeds)[:80]}"
        )
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
        problems.append(
            f"{path}: prior: expected two probabilities adding up to 1, got {str(prior)[:80]}"
        )
    label = record.get("label", run)
    if not isinstance(label, str) or len(label) > 200:
        problems.append(f"{path}: label: expected a short text, got {str(label)[:80]!r}")
    models = _exported_models(path, record.get("models"), problems)
    for model in models:
        problems.extend(_unimodal_record(folder, model, path))
    for seed in seeds:
        problems.extend(_seed_record(folder, seed, path))
    metrics = folder / METRICS_JSON
    if metrics.exists():
        try:
            load_json(metrics, follow_links=False)
        except DocumentError as exc:
            problems.append(str(exc))
    try:
        config = load_yaml(
            folder / CONFIG_YAML,
            MAX_CONFIG_BYTES,
            follow_links=False,
            what="an exported ensemble's config.yaml",
        )
    except DocumentError as exc:
        problems.append(str(exc))
        config = None
    config = _export_config(folder, folder / CONFIG_YAML, config, problems)
    calibration = _export_calibration(folder / CALIBRATION_JSON, problems)
    if problems:
        raise ConfigError(
            f"{folder}: not a usable exported ensemble:\n" + "\n".join(f"  - {p}" for p in problems)
        )
    return ExportedEnsemble(
        folder=folder,
        run=run,
        label=str(label),
        seeds=tuple(int(s) for s in seeds),
        models=tuple(models),
        prior=(float(prior[0]), float(prior[1])),
        config=config,
        calibration=calibration,
    )


def _export_calibration(path: Path, problems: list[str]) -> CalibrationMap:
    """The exported map, validated; the identity (with a warning) when the export has none."""
    from ahrec.evaluation.calibration import CalibrationMap
    from ahrec.safe_load import MAX_CONFIG_BYTES, DocumentError, load_json

    if not path.exists():
        LOG.warning("%s: no calibration map (an older export): uncalibrated probabilities", path)
        return CalibrationMap()
    try:
        return CalibrationMap.from_dict(
            load_json(path, MAX_CONFIG_BYTES, follow_links=False), str(path)
        )
    except (DocumentError, ValueError) as exc:
        problems.append(str(exc))
        return CalibrationMap()


def _exported_models(path: Path, raw: Any, problems: list[str]) -> list[ExportedModel]:
    from ahrec.unimodal.kinds import INPUTS, MODALITIES, UNIMODAL_KINDS

    if not isinstance(raw, list) or not raw or len(raw) > 100:
        problems.append(f"{path}: models: expected a non-empty list")
        return []
    models = []
    fields = {f.name for f in dataclasses.fields(ExportedModel)}
    for index, entry in enumerate(raw):
        where = f"{path}: models[{index}]"
        if not isinstance(entry, dict) or set(entry) != fields:
            problems.append(f"{where}: expected exactly the keys {', '.join(sorted(fields))}")
            continue
        found = []
        if not isinstance(entry["name"], str) or not NAME.fullmatch(entry["name"]):
            found.append(f"{where}.name: expected a plain name, got {str(entry['name'])[:80]!r}")
        if entry["modality"] not in MODALITIES:
            found.append(
                f"{where}.modality: one of {', '.join(MODALITIES)}, got {str(entry['modality'])[:80]!r}"
            )
        if not isinstance(entry["kind"], str) or entry["kind"] not in UNIMODAL_KINDS:
            found.append(f"{where}.kind: not a unimodal model kind: {str(entry['kind'])[:80]!r}")
        if entry["input"] not in INPUTS:
            found.append(
                f"{where}.input: one of {', '.join(INPUTS)}, got {str(entry['input'])[:80]!r}"
            )
        embedding = entry["embedding"]
        if embedding is not None and (
            not isinstance(embedding, str) or not NAME.fullmatch(embedding)
        ):
            found.append(
                f"{where}.embedding: expected a plain name or null, got {str(embedding)[:80]!r}"
            )
        problems.extend(found)
        if not found:
            models.append(ExportedModel(**entry))
    names = [m.name for m in models]
    if len(set(names)) != len(names):
        problems.append(f"{path}: models: a model name is listed twice")
    return models


def _folder_problem(folder: Path, relative: str, path: Path) -> str | None:
    target = folder / relative
    if not target.is_dir() or target.is_symlink():
        return f"{path}: {relative} is missing from the export (or is a link)"
    return None


def _unimodal_record(folder: Path, model: ExportedModel, path: Path) -> list[str]:
    """A unimodal model's folder and ``model.json``: its kind, spec bounds and locations."""
    from ahrec.model_records import MODEL_JSON, parse_unimodal_record, read_record

    relative = f"unimodal/{model.name}"
    missing = _folder_problem(folder, relative, path)
    if missing:
        return [missing]
    record_path = folder / relative / MODEL_JSON
    try:
        record = parse_unimodal_record(record_path, read_record(record_path))
    except ConfigError as exc:
        return [str(exc)]
    problems = []
    if record.kind != model.kind:
        problems.append(
            f"{record_path}: kind: holds a {record.kind!r} model, but {ENSEMBLE_JSON} says "
            f"{model.kind!r}"
        )
    backbone = record.info.get("backbone")
    if backbone is not None and not (folder / relative / backbone).is_dir():
        problems.append(f"{record_path}: info.backbone: {relative}/{backbone} is missing")
    value = getattr(record.spec, "model", None)
    if isinstance(value, str):
        _, problem = export_location(folder, f"{record_path}: spec.model", value)
        if problem:
            problems.append(problem)
    return problems


def _seed_record(folder: Path, seed: int, path: Path) -> list[str]:
    from ahrec.model_records import MODEL_JSON, parse_fusion_record, read_record

    relative = f"fusion/seed{seed}"
    missing = _folder_problem(folder, relative, path)
    if missing:
        return [missing]
    record_path = folder / relative / MODEL_JSON
    try:
        parse_fusion_record(record_path, read_record(record_path))
    except ConfigError as exc:
        return [str(exc)]
    return []


def export_location(folder: Path, where: str, value: str) -> tuple[str, str | None]:
    """(the value to use, why it is refused) for a model location an export names.

    A path inside the export becomes its absolute path; a hub id and
    ``package:<module>/<subfolder>`` stay as they are. Refused: absolute
    paths, ``~``, ``..``, a dotted or odd module name, and a relative path
    that is not in the export but exists here (it would be read from the
    working directory).
    """
    from ahrec.models import MODULE_NAME, PACKAGE_PREFIX

    shown = value[:200]
    if value.startswith(PACKAGE_PREFIX):
        module, _, subdir = value[len(PACKAGE_PREFIX) :].partition("/")
        if not MODULE_NAME.fullmatch(module) or (subdir and plain_relative(subdir)):
            return value, (
                f"{where}: {shown!r} is not a usable model location; accepted: {ACCEPTED_LOCATIONS}"
            )
        return value, None
    posix = PurePosixPath(value)
    if posix.is_absolute() or value.startswith("~") or "\\" in value or ".." in posix.parts:
        return value, (
            f"{where}: {shown!r} points outside the export; accepted: {ACCEPTED_LOCATIONS}"
        )
    if plain_relative(value) is None and (folder / value).exists():
        return str((folder / value).resolve()), None
    if not HUB_ID.fullmatch(value):
        return value, (
            f"{where}: {shown!r} is neither in the export nor a hub id; accepted: "
            f"{ACCEPTED_LOCATIONS}"
        )
    if Path(value).exists():
        return value, (
            f"{where}: {shown!r} is not in the export but names a local path here, which "
            f"would be read instead of the hub id; accepted: {ACCEPTED_LOCATIONS}"
        )
    return value, None


def _export_config(folder: Path, path: Path, config: Any, problems: list[str]) -> dict[str, Any]:
    """The export's configuration slice, validated as a configuration of its own.

    Model locations inside the export are made absolute (what the batch's
    rules read); every other location must be a hub id or a package.
    """
    from ahrec.config import load_settings

    if config is None:
        return {}
    if not isinstance(config, dict):
        problems.append(f"{path}: the top level must be a mapping")
        return {}
    missing = [s for s in (*INPUT_SECTIONS, "embeddings") if s not in config]
    if missing:
        problems.append(f"{path}: missing section(s) {', '.join(missing)}")
        return config
    known = (*INPUT_SECTIONS, "embeddings", "unimodal", "fusion")
    extra = [str(k)[:80] for k in config if k not in known]
    if extra:
        problems.append(
            f"{path}: unknown section(s) {', '.join(extra)}; an export's config.yaml holds "
            f"{', '.join(known)}"
        )
        return config
    checked = copy.deepcopy(config)
    fusion = checked.get("fusion")
    if isinstance(fusion, dict) and isinstance(fusion.get("runs"), dict):
        for spec in fusion["runs"].values():
            if isinstance(spec, dict):
                spec.pop("from_search", None)  # the search is not part of the export
    try:
        load_settings(checked)
    except ConfigError as exc:
        problems.append(f"{path}: {exc}")
        return config
    resolved = copy.deepcopy(config)
    for keys, value in model_locations(config):
        new, problem = export_location(folder, f"{path}: {'.'.join(keys)}", value)
        if problem:
            problems.append(problem)
        else:
            _set(resolved, keys, new)
    return resolved


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
