"""The ``model.json`` of a saved model, read and validated like the configuration.

A saved unimodal model or fusion seed is rebuilt from its ``model.json``: the
kind, the options (spec) and what the network's shape needs. A model folder
may come from elsewhere (an exported ensemble), so the record is read with
the bounded JSON loader and every value goes through the same options class
and bounds as ``config.yaml`` (``ahrec.kinds.parse_options``), with the same
messages prefixed by the file: ``.../model.json: spec.dropout: must be below
1.0, got 7``. Nothing here imports torch: exports are checked at planning time.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ahrec.errors import ConfigError
from ahrec.kinds import parse_options, require
from ahrec.safe_load import MAX_JSON_BYTES, DocumentError, load_json

MODEL_JSON = "model.json"
UNIMODAL_FORMAT = 1
MAX_INPUT_DIM = 1_000_000  # widest embedding a model reads (ComParE's LLDs are ~6,000)
MAX_RECORD_BYTES = 4 * 1024 * 1024  # a model.json holds a spec, a history and a few numbers
PLAIN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
MAX_LIST = 64  # values of a list option (hidden widths, a grid of C values)
INFO_KEYS = ("input_dim", "backbone", "max_length", "chosen")


def read_record(path: str | Path) -> Any:
    """A ``model.json`` as plain data (bounded, no link followed); ConfigError otherwise."""
    try:
        return load_json(path, min(MAX_RECORD_BYTES, MAX_JSON_BYTES), follow_links=False)
    except DocumentError as exc:
        raise ConfigError(str(exc)) from None


def _int_in(value: Any, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


@dataclass(frozen=True)
class UnimodalRecord:
    kind: str
    spec: Any
    info: dict[str, Any]


def parse_unimodal_record(path: str | Path, record: Any) -> UnimodalRecord:
    """Kind, spec (its options class) and info of a unimodal ``model.json``; every problem at once."""
    from ahrec.unimodal.kinds import UNIMODAL_KINDS

    problems: list[str] = []
    if not isinstance(record, Mapping):
        raise ConfigError(f"{path}: expected a mapping with format, kind, spec and info")
    if record.get("format") != UNIMODAL_FORMAT:
        raise ConfigError(f"{path}: unsupported model format {record.get('format')!r}")
    kind = record.get("kind")
    if not isinstance(kind, str) or kind not in UNIMODAL_KINDS:
        raise ConfigError(
            f"{path}: kind: not a unimodal model kind: {kind!r}; one of "
            f"{', '.join(UNIMODAL_KINDS.names())}"
        )
    raw_spec = record.get("spec")
    spec, found = parse_options(f"{path}: spec", UNIMODAL_KINDS[kind].options, raw_spec)
    problems.extend(found)
    for key, value in (raw_spec or {}).items() if isinstance(raw_spec, Mapping) else ():
        if isinstance(value, list) and len(value) > MAX_LIST:
            # a network of a million hidden layers is slow to build even without memory
            problems.append(f"{path}: spec.{key}: at most {MAX_LIST} values, got {len(value):,}")
    info = record.get("info", {})
    if not isinstance(info, Mapping) or not all(isinstance(k, str) for k in info):
        problems.append(f"{path}: info: expected a mapping, got {info!r}"[:300])
        info = {}
    for key, value in info.items():
        where = f"{path}: info.{key}"
        if key not in INFO_KEYS:
            problems.append(f"{where}: unknown key; valid keys: {', '.join(INFO_KEYS)}")
        elif key == "input_dim" and value is not None and not _int_in(value, 1, MAX_INPUT_DIM):
            problems.append(
                f"{where}: expected an integer from 1 to {MAX_INPUT_DIM:,}, got {value!r}"
            )
        elif key == "max_length" and not _int_in(value, 1, 1_000_000):
            problems.append(f"{where}: expected a positive integer, got {value!r}")
        elif key == "backbone" and (
            not isinstance(value, str) or not PLAIN_NAME.fullmatch(value) or value in (".", "..")
        ):
            problems.append(
                f"{where}: expected the name of a folder beside model.json (such as backbone), "
                f"got {value!r}; a saved model reads nothing outside its folder"
            )
        elif key == "chosen" and not isinstance(value, Mapping):
            problems.append(f"{where}: expected a mapping, got {value!r}")
    require(problems, f"{path}: not a usable saved model")
    return UnimodalRecord(kind, spec, dict(info))


def read_unimodal_record(folder: str | Path) -> UnimodalRecord:
    """The validated ``model.json`` of a saved unimodal model."""
    path = Path(folder) / MODEL_JSON
    if not path.exists() and not path.is_symlink():
        raise FileNotFoundError(f"{path}: no saved unimodal model here (model.json is missing)")
    return parse_unimodal_record(path, read_record(path))


@dataclass(frozen=True)
class FusionRecord:
    input_dims: dict[str, int]
    params: Any
    prototypes: bool


def parse_fusion_record(path: str | Path, record: Any) -> FusionRecord:
    """Input sizes, hyperparameters (FusionParams) and prototypes of a fusion seed's ``model.json``."""
    from ahrec.fusion.params import FusionParams
    from ahrec.unimodal.kinds import MODALITIES

    if not isinstance(record, Mapping):
        raise ConfigError(f"{path}: expected a mapping with input_dims, params and prototypes")
    problems = [
        f"{path}: unknown key {key!r}; valid keys: input_dims, params, prototypes"
        for key in record
        if key not in ("input_dims", "params", "prototypes")
    ]
    dims = record.get("input_dims")
    if (
        not isinstance(dims, Mapping)
        or not dims
        or not all(m in MODALITIES and _int_in(d, 1, MAX_INPUT_DIM) for m, d in dims.items())
    ):
        problems.append(
            f"{path}: input_dims: expected a mapping of modalities ({', '.join(MODALITIES)}) to "
            f"sizes from 1 to {MAX_INPUT_DIM:,}, got {dims!r}"[:400]
        )
        dims = {}
    params, found = parse_options(f"{path}: params", FusionParams, record.get("params"))
    problems.extend(found)
    prototypes = record.get("prototypes")
    if not isinstance(prototypes, bool):
        problems.append(f"{path}: prototypes: expected true or false, got {prototypes!r}")
    require(problems, f"{path}: not a usable fusion model")
    return FusionRecord({str(m): int(d) for m, d in dims.items()}, params, bool(prototypes))


def read_fusion_record(folder: str | Path) -> FusionRecord:
    """The validated ``model.json`` of a saved fusion seed."""
    path = Path(folder) / MODEL_JSON
    return parse_fusion_record(path, read_record(path))
