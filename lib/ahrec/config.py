"""Loading and validating the workflow configuration: one path for every key.

``load_settings`` is the only validator. The JSON Schema
(``schemas/config.schema.yaml``) describes the sections and the defaults of
plain keys; every entry with a ``kind`` (encoders, models, the detector, the
recogniser, the corpus ``type``) is checked by its kind table's options class
(``ahrec.kinds``), which also holds that entry's defaults; then the
references between sections (a model's encoder, a run's models, a search's
run) are checked. Every problem is reported at once, one line each, with a
"did you mean" for typos, when the Snakefile is parsed: a typo or an
impossible value stops the run before any job starts.

The result is a ``Settings``: the configuration with every default filled in
(what rules slice into their params) and the parsed specs.
"""

from __future__ import annotations

import copy
import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from ahrec.corpus.formats import FORMATS, DemoSpec
from ahrec.embeddings.kinds import EncoderSpec, parse_encoder
from ahrec.errors import ConfigError, one_line
from ahrec.evaluation.settings import CalibrationSettings, EvaluationSettings
from ahrec.faces.kinds import DETECTORS
from ahrec.fusion.params import (
    FusionParams,
    FusionRun,
    SearchSpec,
    parse_fusion_run,
    parse_search,
)
from ahrec.kinds import (
    Kind,
    did_you_mean,
    key_order,
    options_dict,
    parse_options,
    require,
    shown_key,
    unknown_key,
)
from ahrec.transcripts.kinds import RECOGNIZERS, VOICE_DETECTORS
from ahrec.unimodal.kinds import UnimodalSpec, parse_unimodal

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "schemas" / "config.schema.yaml"


def load_yaml(path: str | Path) -> Any:
    """Read a configuration file: plain data only, bounded, without anchors or aliases.

    A config file must never run code nor expand into gigabytes (see
    ``ahrec.safe_load``); a refused file raises ConfigError naming it and the line.
    """
    from ahrec.safe_load import MAX_CONFIG_BYTES, DocumentError
    from ahrec.safe_load import load_yaml as bounded_yaml

    try:
        return bounded_yaml(path, MAX_CONFIG_BYTES, what="configuration files")
    except DocumentError as exc:
        raise ConfigError(str(exc)) from None


def load_schema(path: str | Path = SCHEMA_PATH) -> dict[str, Any]:
    schema = load_yaml(path)
    if not isinstance(schema, dict):
        raise ConfigError(f"{path}: the schema is not a mapping")
    return schema


def _extend_with_defaults(validator_class: type) -> type:
    """A validator that fills in schema defaults while it validates.

    Filling happens before the nested properties are validated so that a
    default object (``default: {}``) is itself completed with its own
    properties' defaults.
    """
    validate_properties = validator_class.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, schema):  # type: ignore[no-untyped-def]
        if isinstance(instance, dict):
            for name, subschema in properties.items():
                if isinstance(subschema, dict) and "default" in subschema:
                    instance.setdefault(name, copy.deepcopy(subschema["default"]))
        yield from validate_properties(validator, properties, instance, schema)

    return jsonschema.validators.extend(validator_class, {"properties": set_defaults})


def _is_integer(checker: Any, instance: Any) -> bool:
    """An integer in the YAML, not a float that happens to be whole (``shards: 4.0``).

    Draft 7 counts 4.0 as an integer; the workflow hands the value to ``range`` and
    array shapes, which refuse floats, so the configuration refuses it first.
    """
    return isinstance(instance, int) and not isinstance(instance, bool)


def _is_number(checker: Any, instance: Any) -> bool:
    """A finite number: NaN passes every minimum and maximum (each comparison is false)."""
    if isinstance(instance, bool) or not isinstance(instance, int | float):
        return False
    return isinstance(instance, int) or math.isfinite(instance)


_TYPES = jsonschema.Draft7Validator.TYPE_CHECKER.redefine_many(
    {"integer": _is_integer, "number": _is_number}
)
_DefaultFillingValidator = _extend_with_defaults(
    jsonschema.validators.extend(jsonschema.Draft7Validator, type_checker=_TYPES)
)


def _known_keys(schema: Mapping[str, Any], path: Iterable[Any]) -> list[str]:
    node: Mapping[str, Any] = schema
    for part in path:
        props = node.get("properties", {})
        if isinstance(part, str) and part in props:
            node = props[part]
        else:
            return []
    return sorted(node.get("properties", {}))


def _describe(error: jsonschema.ValidationError, schema: Mapping[str, Any]) -> list[str]:
    where = one_line(".".join(shown_key(p) for p in error.absolute_path) or "(top level)", 200)
    if (
        error.validator == "type"
        and isinstance(error.instance, float)
        and not math.isfinite(error.instance)
    ):
        return [f"{where}: expected a finite number, got {error.instance}"]
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = set(error.schema.get("properties", {}))
        known = _known_keys(schema, error.absolute_path)
        return [
            unknown_key(where, key, known)
            for key in sorted(set(error.instance) - allowed, key=lambda k: key_order([k]))
        ]
    if error.validator == "enum":
        hint = (
            did_you_mean(error.instance, error.validator_value)
            if isinstance(error.instance, str)
            else ""
        )
        return [f"{where}: {one_line(error.message, 300)}{hint}"]
    return [f"{where}: {one_line(error.message, 300)}"]


@dataclass(frozen=True)
class Settings:
    """The validated configuration: every default filled in, every kind entry parsed."""

    config: dict[str, Any]
    corpus: Any
    detector: Any
    asr: Any
    encoders: tuple[EncoderSpec, ...]
    detector_kind: Kind
    asr_kind: Kind
    evaluation: EvaluationSettings
    calibration: CalibrationSettings = field(default_factory=CalibrationSettings)
    unimodal: dict[str, UnimodalSpec] = field(default_factory=dict)
    runs: dict[str, FusionRun] = field(default_factory=dict)
    searches: dict[str, SearchSpec] = field(default_factory=dict)

    def encoder(self, modality: str, name: str) -> EncoderSpec:
        for spec in self.encoders:
            if spec.modality == modality and spec.name == name:
                return spec
        raise ConfigError(f"no encoder named {name!r} under embeddings.{modality}")

    @property
    def device(self) -> str:
        return str(self.config["device"])


def load_settings(
    config: Mapping[str, Any] | None, schema: Mapping[str, Any] | None = None
) -> Settings:
    """The settings of ``config``; raises ConfigError listing every problem at once."""
    schema = load_schema() if schema is None else schema
    filled: dict[str, Any] = copy.deepcopy(dict(config or {}))
    problems: list[str] = []
    if "demo" in filled:
        filled.pop("demo")
        problems.append(
            "demo: the demo corpus's settings are options of its format; move them under "
            "corpus: {type: demo, participants: ..., ...} (docs/configuration.md)"
        )
    problems.extend(_add_paper_runs(filled))
    for error in sorted(
        _DefaultFillingValidator(schema).iter_errors(filled),
        key=lambda e: key_order(e.absolute_path),
    ):
        problems.extend(_describe(error, schema))
    require(problems)
    settings = _parse_sections(filled, problems)
    require(problems)
    return settings


def _kind_entry(kind_key: str, name: str, options: Any, **extra: Any) -> dict[str, Any]:
    return {**extra, kind_key: name, **options_dict(options)}


def _parse_sections(config: dict[str, Any], problems: list[str]) -> Settings:
    """Parse every kind entry and check the references between sections; fill in their defaults."""
    problems.extend(_check_results(str(config["results"])))
    corpus_row, corpus, found = FORMATS.parse("corpus", config["corpus"])
    problems.extend(found)
    if isinstance(corpus, DemoSpec):
        if corpus.folder is not None:
            problems.extend(_check_results(corpus.folder, "corpus.folder"))
        corpus = corpus.in_results(str(config["results"]))
    if corpus_row is not None and not found:
        config["corpus"] = _kind_entry("type", corpus_row.name, corpus)
    detector_row, detector, found = DETECTORS.parse("face.detector", config["face"]["detector"])
    problems.extend(found)
    if detector_row is not None and not found:
        config["face"]["detector"] = _kind_entry("kind", detector_row.name, detector)
    asr_row, asr, found = RECOGNIZERS.parse("transcripts.asr", config["transcripts"]["asr"])
    problems.extend(found)
    if asr_row is not None and not found:
        config["transcripts"]["asr"] = _kind_entry("kind", asr_row.name, asr)
    vad_row, vad, found = VOICE_DETECTORS.parse("transcripts.vad", config["transcripts"]["vad"])
    problems.extend(found)
    if vad_row is not None and not found:
        config["transcripts"]["vad"] = _kind_entry("kind", vad_row.name, vad)

    encoders = []
    for modality, entries in config["embeddings"].items():
        for name, raw in (entries or {}).items():
            spec, found = parse_encoder(modality, name, raw)
            problems.extend(found)
            if spec is not None:
                encoders.append(spec)
                entries[name] = _kind_entry("kind", spec.kind, spec.options)

    unimodal: dict[str, UnimodalSpec] = {}
    for name, raw in config["unimodal"].items():
        spec, found = parse_unimodal(name, raw)
        problems.extend(found)
        if spec is None:
            continue
        found = _check_model_input(spec, encoders)
        problems.extend(found)
        if not found:
            unimodal[name] = spec
            config["unimodal"][name] = {
                "label": spec.label,
                **_kind_entry("kind", spec.kind, spec.options, modality=spec.modality),
            }

    fusion = config["fusion"]
    # The defaults on their own first: a bad one is named once, as fusion.defaults, not
    # once per run that inherits it (the runs are then checked on their own values).
    _, found = parse_options("fusion.defaults", FusionParams, fusion["defaults"])
    problems.extend(found)
    defaults = {} if found else fusion["defaults"]
    runs: dict[str, FusionRun] = {}
    for name, raw in fusion["runs"].items():
        run, found = parse_fusion_run(name, raw, defaults, fusion["seeds"])
        models = raw.get("models") if isinstance(raw, dict) else None
        if isinstance(models, list) and all(isinstance(m, str) for m in models):
            found += _check_run_models(name, models, config["unimodal"])
        problems.extend(found)
        if run is not None and not found:
            runs[name] = run
    searches: dict[str, SearchSpec] = {}
    for name, raw in config["search"].items():
        search, found = parse_search(name, raw, fusion["seeds"])
        problems.extend(found)
        if search is None:
            continue
        if search.run not in fusion["runs"]:
            problems.append(
                f"search.{name}.run: no fusion run named {search.run!r}{did_you_mean(search.run, fusion['runs'])}"
            )
        elif search.run in runs and runs[search.run].params.late:
            problems.append(
                f"search.{name}: its run {search.run!r} is a late fusion "
                f"(method {runs[search.run].params.method}), which has no network to search"
            )
        elif (fusion["runs"][search.run] or {}).get("from_search") == name:
            problems.append(
                f"search.{name}: its run {search.run!r} cannot take its parameters from this same search"
            )
        else:
            searches[name] = search
    for name, run in runs.items():
        if run.from_search is not None and run.from_search not in config["search"]:
            problems.append(
                f"fusion.runs.{name}.from_search: no search named {run.from_search!r} under search:"
            )
    submission = fusion["submission"]
    if submission is not None and submission != "auto" and submission not in fusion["runs"]:
        problems.append(
            f"fusion.submission: no fusion run named {submission!r}{did_you_mean(submission, fusion['runs'])}"
        )
    evaluation, found = parse_options("evaluation", EvaluationSettings, config["evaluation"])
    problems.extend(found)
    if evaluation is not None:
        config["evaluation"] = options_dict(evaluation)
    problems.extend(_check_predict(config))
    calibration = CalibrationSettings.from_config(config["calibration"])
    return Settings(
        config=config,
        corpus=corpus,
        detector=detector,
        asr=asr,
        encoders=tuple(encoders),
        detector_kind=detector_row,
        asr_kind=asr_row,
        evaluation=evaluation,
        calibration=calibration,
        unimodal=unimodal,
        runs=runs,
        searches=searches,
    )


# The paper's table of fusion runs (Table 1): the full fusion with and without the
# prototype head, then the ten ablations (without it, one model each: seed 42), each
# fusing its modalities in this order.
PAPER_MODALITIES = ("face", "scene", "audio", "text")
PAPER_ABLATIONS = (
    ("face", "audio"),
    ("face", "text"),
    ("face", "scene"),
    ("audio", "text"),
    ("scene", "audio"),
    ("scene", "text"),
    ("scene", "audio", "text"),
    ("face", "scene", "text"),
    ("face", "scene", "audio"),
    ("face", "audio", "text"),
)


def paper_runs(models: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """The paper's runs over ``models`` (a unimodal model name per modality), in its order."""
    full = " + ".join(PAPER_MODALITIES)
    runs: dict[str, dict[str, Any]] = {
        "fusion": {"label": f"Fusion, {full}", "models": [models[m] for m in PAPER_MODALITIES]},
        "fusion_proto": {
            "label": f"Fusion with prototype head, {full}",
            "models": [models[m] for m in PAPER_MODALITIES],
            "prototypes": True,
        },
    }
    for modalities in PAPER_ABLATIONS:
        runs["ablation_" + "_".join(modalities)] = {
            "label": "Ablation: " + " + ".join(modalities),
            "models": [models[m] for m in modalities],
            "seeds": [42],
        }
    # the yardstick a reviewer asks for first (fusion/late.py): not the paper's, but in
    # every table beside it; deterministic, so one seed
    for method, how in (("logreg", "logistic regression"), ("mean", "mean")):
        runs[f"late_{method}"] = {
            "label": f"Late fusion, {how} of the log-odds, {full}",
            "models": [models[m] for m in PAPER_MODALITIES],
            "seeds": [42],
            "params": {"method": method},
        }
    return runs


def _add_paper_runs(config: dict[str, Any]) -> list[str]:
    """Put the paper's runs over ``fusion.paper_runs`` under ``fusion.runs``.

    The configuration's own runs are merged over them, run by run (a run of the
    table given a new label keeps its models), and follow them. Nothing is added
    while ``fusion.paper_runs`` is empty or wrong (the schema reports its types).
    """
    fusion = config.get("fusion")
    chosen = fusion.get("paper_runs") if isinstance(fusion, dict) else None
    if not isinstance(chosen, dict) or not chosen:
        return []
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in chosen.items()):
        return []
    if set(chosen) - set(PAPER_MODALITIES):
        return []
    where = "fusion.paper_runs"
    missing = [m for m in PAPER_MODALITIES if m not in chosen]
    if missing:
        return [
            f"{where}: name a unimodal model for each of {', '.join(PAPER_MODALITIES)} "
            f"(missing: {', '.join(missing)}), or none at all"
        ]
    declared = config.get("unimodal") if isinstance(config.get("unimodal"), dict) else {}
    problems = []
    for modality, name in chosen.items():
        entry = declared.get(name)
        if entry is None:
            problems.append(
                f"{where}.{modality}: no unimodal model named {name!r}"
                f"{did_you_mean(name, declared)} (have: {', '.join(map(str, declared)) or 'none'})"
            )
        elif isinstance(entry, dict) and entry.get("modality") not in (None, modality):
            problems.append(
                f"{where}.{modality}: {name!r} is a {entry.get('modality')} model, "
                f"not a {modality} one"
            )
    if problems:
        return problems
    own = fusion.get("runs")
    own = own if isinstance(own, dict) else {}
    runs = paper_runs(chosen)
    for name, entry in own.items():
        base = runs.get(name)
        merged = isinstance(base, dict) and isinstance(entry, dict)
        runs[name] = {**base, **entry} if merged else entry
        if (
            merged
            and isinstance(base.get("params"), dict)
            and isinstance(entry.get("params"), dict)
        ):
            runs[name]["params"] = {
                **base["params"],
                **entry["params"],
            }  # a late run keeps its method
    fusion["runs"] = runs
    return []


# Folders a workflow must never write into (the results folder or anything inside it).
SYSTEM_FOLDERS = (
    "/bin",
    "/boot",
    "/dev",
    "/etc",
    "/lib",
    "/lib32",
    "/lib64",
    "/libx32",
    "/proc",
    "/run",
    "/sbin",
    "/sys",
    "/usr",
    "/var",
)
SYSTEM_ROOTS = ("/", "/home", "/mnt", "/media", "/opt", "/root", "/srv", "/tmp")


def canonical_folder(path: str) -> str:
    """The folder ``path`` names, as the kernel reads it: ``.``/``..`` and repeated or
    trailing slashes folded (``os.path.normpath``), a leading ``//`` read as ``/`` (POSIX
    leaves ``//`` to the system; Linux reads ``//etc`` as ``/etc``), and the links of its
    existing part followed (``os.path.realpath``)."""
    folded = os.path.normpath(path)
    if folded.startswith("//"):
        folded = "/" + folded.lstrip("/")
    return os.path.realpath(folded) if os.path.isabs(folded) else folded


def _is_system(folder: str) -> bool:
    return folder in SYSTEM_ROOTS or any(
        folder == f or folder.startswith(f + "/") for f in SYSTEM_FOLDERS
    )


def _check_results(results: str, where: str = "results") -> list[str]:
    """``results`` is where everything is written: a relative folder, or a non-system absolute one.

    Compared in canonical form (``canonical_folder``), so ``//etc``, ``/./etc``,
    ``/etc/../etc`` and a link to ``/etc`` are ``/etc``. A relative folder must stay
    inside the working directory, also through links. ``where`` names the key: the
    demo corpus's ``corpus.folder`` is an output folder too.
    """
    shown = repr(results) if len(results) <= 200 else repr(results[:197]) + "..."
    if any(c in results for c in "{}"):
        return [
            f"{where}: {shown} holds a brace; Snakemake reads {{...}} in a path as a wildcard: "
            "name a folder without braces"
        ]
    if any(ord(c) < 32 or c == "\x7f" for c in results):
        return [f"{where}: {shown} holds a control character (a newline, a tab, a NUL); remove it"]
    if not results.strip() or os.path.normpath(results) == ".":
        return [
            f"{where}: must name an output folder such as results (every output and log goes there)"
        ]
    if not os.path.isabs(results):
        folded = os.path.normpath(results)
        if folded == ".." or folded.startswith("../"):
            return [
                f"{where}: {shown} climbs out of the working directory; name an absolute folder instead"
            ]
        here = os.path.realpath(os.curdir)
        resolved = os.path.realpath(folded)
        if os.path.commonpath([here, resolved]) == here or not _is_system(resolved):
            return []
        return [
            f"{where}: {shown} leads to the system folder {resolved} (through a link); "
            "name a folder of your own (e.g. results or /data/ah/results)"
        ]
    folded = canonical_folder(results)
    plain = os.path.normpath(results)
    plain = "/" + plain.lstrip("/")
    if _is_system(plain) or _is_system(folded):
        what = "" if folded == results.rstrip("/") or results == "/" else f" (it is {folded})"
        return [
            f"{where}: {shown} is a system folder{what}; name a folder of your own "
            "(e.g. results or /data/ah/results)"
        ]
    return []


def _check_model_input(spec: UnimodalSpec, encoders: Iterable[EncoderSpec]) -> list[str]:
    """A model reading an embedding table names a configured encoder of its modality."""
    if spec.embedding is None:
        return []
    where = f"unimodal.{spec.name}.embedding"
    mine = {e.name: e for e in encoders if e.modality == spec.modality}
    if spec.embedding not in mine:
        return [
            f"{where}: no encoder named {spec.embedding!r} under embeddings.{spec.modality}"
            f"{did_you_mean(spec.embedding, mine)} (have: {', '.join(mine) or 'none'})"
        ]
    if spec.input == "sequence" and not mine[spec.embedding].is_sequence:
        return [
            f"{where}: {spec.embedding!r} holds no sequences; a {spec.kind} model needs a sequence encoder "
            "(opensmile, wav2vec2)"
        ]
    return []


def _check_run_models(run: str, models: list[str], declared: Mapping[str, Any]) -> list[str]:
    """A run's models are declared under ``unimodal:`` (one declared but invalid is
    reported where it is declared), at most one per modality."""
    where = f"fusion.runs.{run}.models"
    problems = [
        f"{where}: no unimodal model named {m!r}{did_you_mean(m, declared)} (have: {', '.join(declared)})"
        for m in models
        if m not in declared
    ]
    declared_modalities = {
        name: entry.get("modality") for name, entry in declared.items() if isinstance(entry, dict)
    }
    modalities = [
        modality
        for m in models
        if isinstance(modality := declared_modalities.get(m), str)  # a bad one is reported there
    ]
    if len(set(modalities)) != len(modalities):
        problems.append(
            f"{where}: at most one model per modality, got {', '.join(map(str, modalities))}"
        )
    return problems


def _check_predict(config: Mapping[str, Any]) -> list[str]:
    problems = []
    runs = config["fusion"]["runs"]
    for name, entry in config["predict"].items():
        if not Path(entry["videos"]).exists():
            problems.append(
                f"predict.{name}.videos: {entry['videos']} does not exist "
                "(a folder of videos or a CSV list with a video_path column)"
            )
        ensemble = entry["ensemble"]
        if ensemble not in runs and not (Path(ensemble) / "ensemble.json").is_file():
            problems.append(
                f"predict.{name}.ensemble: {ensemble!r} is neither a fusion run "
                f"({', '.join(runs) or 'none configured'}) nor an exported ensemble folder "
                "(one with ensemble.json)"
            )
    return problems


def validate_config(
    config: Mapping[str, Any] | None, schema: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """A validated copy of ``config`` with every default filled in (see ``load_settings``)."""
    return load_settings(config, schema).config


def load_config(path: str | Path) -> dict[str, Any]:
    """Load and validate a config file; errors name the file."""
    try:
        raw = load_yaml(path)
    except yaml.constructor.ConstructorError as exc:
        raise ConfigError(
            f"{path}: refused: {exc.problem} (YAML tags that build Python objects are never loaded)"
        ) from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    if raw is not None and not isinstance(raw, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of keys to values")
    try:
        return validate_config(raw)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from exc
