"""Loading and validating the workflow configuration.

The schema (``schemas/config.schema.yaml``) is the single place that documents
every key and its default. Validation runs when the Snakefile is parsed, so a
typo or an impossible value stops the run before any job starts, with one
line per problem that names the key and what is expected.
"""

from __future__ import annotations

import copy
import difflib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from ahrec.errors import ConfigError

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "schemas" / "config.schema.yaml"


def load_yaml(path: str | Path) -> Any:
    """Read YAML with the safe loader: a config file must never run code."""
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


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


_DefaultFillingValidator = _extend_with_defaults(jsonschema.Draft7Validator)


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
    where = ".".join(str(p) for p in error.absolute_path) or "(top level)"
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = set(error.schema.get("properties", {}))
        messages = []
        for key in sorted(set(error.instance) - allowed):
            known = _known_keys(schema, error.absolute_path)
            hint = difflib.get_close_matches(str(key), known, n=1)
            suggestion = f" (did you mean '{hint[0]}'?)" if hint else ""
            valid = f"; valid keys: {', '.join(known)}" if known else ""
            messages.append(f"{where}: unknown key '{key}'{suggestion}{valid}")
        return messages
    return [f"{where}: {error.message}"]


def validate_config(
    config: Mapping[str, Any] | None, schema: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Return a validated copy of ``config`` with every default filled in.

    Raises ConfigError listing every problem at once.
    """
    schema = load_schema() if schema is None else schema
    filled: dict[str, Any] = copy.deepcopy(dict(config or {}))
    validator = _DefaultFillingValidator(schema)
    problems: list[str] = []
    for error in sorted(validator.iter_errors(filled), key=lambda e: list(e.absolute_path)):
        problems.extend(_describe(error, schema))
    if not problems:
        problems.extend(_cross_checks(filled))
    if problems:
        raise ConfigError("invalid configuration:\n" + "\n".join(f"  - {p}" for p in problems))
    return filled


def _cross_checks(config: Mapping[str, Any]) -> list[str]:
    """Checks that involve more than one key, which JSON Schema cannot express."""
    problems: list[str] = []
    corpus = config["corpus"]
    if corpus["type"] == "bah" and not corpus["root"]:
        problems.append(
            "corpus.root: required when corpus.type is 'bah' (the folder with train.txt)"
        )
    if corpus["type"] == "csv" and not corpus["manifest"]:
        problems.append("corpus.manifest: required when corpus.type is 'csv' (the CSV file)")
    demo = config["demo"]
    if corpus["type"] == "demo":
        if sum(demo["split_participants"].values()) != demo["participants"]:
            problems.append(
                "demo.split_participants: the train/val/test counts must add up to "
                f"demo.participants ({demo['participants']})"
            )
        if demo["max_seconds"] < demo["min_seconds"]:
            problems.append("demo.max_seconds: must be at least demo.min_seconds")
    detector = config["face"]["detector"]
    if detector["kind"] == "yolo" and not detector["checkpoint"]:
        problems.append(
            "face.detector.checkpoint: required when face.detector.kind is 'yolo' "
            "(a YOLO face .pt file, e.g. yolov8n-face.pt)"
        )
    asr = config["transcripts"]["asr"]
    if asr["kind"] == "whisper" and not asr["model"]:
        problems.append(
            "transcripts.asr.model: required when transcripts.asr.kind is 'whisper' "
            "(a hub id such as openai/whisper-small, or a local folder)"
        )
    # Encoder options are checked by the encoder specs (imported lazily: the
    # specs module is light, but keep config importable on its own).
    from ahrec.embeddings.specs import validate_encoder_specs

    problems.extend(validate_encoder_specs(config["embeddings"]))
    if not problems:
        from ahrec.models.specs import validate_models_config

        problems.extend(validate_models_config(config))
    runs = (config.get("fusion") or {}).get("runs") or {}
    for name, entry in (config.get("predict") or {}).items():
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


def load_config(path: str | Path) -> dict[str, Any]:
    """Load and validate a config file; errors name the file."""
    try:
        raw = load_yaml(path)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    if raw is not None and not isinstance(raw, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of keys to values")
    try:
        return validate_config(raw)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from exc


def lookup(config: Mapping[str, Any], dpath: str) -> Any:
    """Read ``a/b/c`` from nested mappings, with a clear error if absent."""
    node: Any = config
    for part in dpath.split("/"):
        if not isinstance(node, Mapping) or part not in node:
            raise ConfigError(f"config key '{dpath.replace('/', '.')}' is missing")
        node = node[part]
    return node
