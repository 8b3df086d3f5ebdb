"""What the ``unimodal:``, ``fusion:`` and ``search:`` config sections may hold.

Like the encoder specs, these are light dataclasses (no torch) so the
Snakefile can validate the whole configuration at parse time. Defaults are the
paper's values (``paper-settings.md``); config.yaml may override any of them.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

MODALITIES = ("scene", "face", "audio", "text")


# --- unimodal models ---------------------------------------------------------


@dataclass(frozen=True)
class MlpSpec:
    """Face, the paper: statistical features -> MLP 2560 -> 16 -> 256 -> 2 (256-d embedding)."""

    embedding: str = "hog"
    hidden: tuple[int, ...] = (16, 256)
    dropout: float = 0.3
    optimizer: str = "adamw"
    lr: float = 1e-3
    weight_decay: float = 1e-3
    batch_size: int = 32
    epochs: int = 100
    patience: int = 20
    seed: int = 42


@dataclass(frozen=True)
class LinearSpec:
    """A linear head on a fixed embedding (the offline scene model); the embedding feeds the fusion."""

    embedding: str = "motion"
    optimizer: str = "adamw"
    lr: float = 1e-2
    weight_decay: float = 1e-3
    batch_size: int = 32
    epochs: int = 100
    patience: int = 20
    seed: int = 42


@dataclass(frozen=True)
class TemporalSpec:
    """Audio, the paper: a sequence -> Mamba (or Transformer) encoder -> masked mean -> head."""

    embedding: str = "egemaps"
    encoder: str = "mamba"
    d_model: int = 256
    layers: int = 4
    d_state: int = 8
    d_conv: int = 4
    expand: int = 2
    heads: int = 4  # transformer encoder only
    ff_dim: int = 512  # transformer encoder only
    dropout: float = 0.1
    pool_steps: int = 1  # average this many consecutive steps first (CPU speed)
    max_steps: int = 4000  # longer sequences are truncated (after pooling)
    optimizer: str = "adamw"
    lr: float = 1e-4
    weight_decay: float = 1e-2
    batch_size: int = 8
    epochs: int = 30
    patience: int = 3
    seed: int = 42


@dataclass(frozen=True)
class TextFinetuneSpec:
    """Text, the paper: a transformer fine-tuned with a 768 -> 128 -> 1 head (128-d embedding)."""

    model: str = "j-hartmann/emotion-english-distilroberta-base"
    pooling: str = "cls"
    hidden: int = 128
    dropout: float = 0.2
    max_length: int = 256
    freeze_embeddings: bool = True
    frozen_layers: int = 0
    optimizer: str = "sgd"
    lr: float = 1e-3
    momentum: float = 0.9
    weight_decay: float = 0.0
    batch_size: int = 16
    epochs: int = 10
    patience: int = 10
    seed: int = 42


@dataclass(frozen=True)
class TfidfLogregSpec:
    """Text baseline: TF-IDF + logistic regression; vocabulary, n-grams and C chosen on val."""

    max_features: tuple[int, ...] = (1000, 5000, 10000)
    ngram_max: tuple[int, ...] = (1, 2, 3)
    C: tuple[float, ...] = (0.01, 0.1, 1.0, 10.0)
    min_df: int = 1
    sublinear_tf: bool = True
    seed: int = 42


@dataclass(frozen=True)
class TfidfCatboostSpec:
    """Text baseline: TF-IDF + CatBoost; vocabulary and n-grams chosen on val, early stopping on val."""

    max_features: tuple[int, ...] = (1000, 5000)
    ngram_max: tuple[int, ...] = (1, 2)
    iterations: int = 500
    depth: int = 6
    learning_rate: float = 0.05
    early_stopping_rounds: int = 50
    min_df: int = 1
    sublinear_tf: bool = True
    seed: int = 42


@dataclass(frozen=True)
class VideoMAEFinetuneSpec:
    """Scene, the paper: VideoMAE with a 2-class head, first layers frozen, trained on frames."""

    model: str = "MCG-NJU/videomae-base-finetuned-kinetics"
    frozen_layers: int = 8
    optimizer: str = "adamw"
    lr: float = 3e-5
    weight_decay: float = 0.05
    scheduler: str = "cosine"
    label_smoothing: float = 0.1
    batch_size: int = 4
    epochs: int = 30
    patience: int = 5
    grad_clip: float = 1.0
    crop_scale: tuple[float, float] = (0.8, 1.0)
    flip: bool = True
    color_jitter: float = 0.2
    seed: int = 42


UNIMODAL_KINDS: dict[str, type] = {
    "mlp": MlpSpec,
    "linear": LinearSpec,
    "temporal": TemporalSpec,
    "text_finetune": TextFinetuneSpec,
    "tfidf_logreg": TfidfLogregSpec,
    "tfidf_catboost": TfidfCatboostSpec,
    "videomae_finetune": VideoMAEFinetuneSpec,
}
# What each kind reads: an embedding table (and which modality may use it), the
# transcripts, or the sampled scene frames.
KIND_INPUT = {
    "mlp": "embedding",
    "linear": "embedding",
    "temporal": "sequence",
    "text_finetune": "transcripts",
    "tfidf_logreg": "transcripts",
    "tfidf_catboost": "transcripts",
    "videomae_finetune": "scene_frames",
}
KIND_MODALITIES = {
    "text_finetune": ("text",),
    "tfidf_logreg": ("text",),
    "tfidf_catboost": ("text",),
    "videomae_finetune": ("scene",),
    "temporal": ("audio", "face", "scene"),
}


@dataclass(frozen=True)
class UnimodalSpec:
    name: str
    modality: str
    kind: str
    label: str
    options: Any

    @property
    def input(self) -> str:
        return KIND_INPUT[self.kind]

    def as_params(self) -> dict[str, Any]:
        return {
            "modality": self.modality,
            "kind": self.kind,
            "label": self.label,
            **dataclasses.asdict(self.options),
        }


# --- fusion -----------------------------------------------------------------


@dataclass(frozen=True)
class FusionParams:
    """Fusion hyperparameters: the paper's selected model (Optuna may replace them)."""

    d: int = 384
    layers: int = 1
    heads: int = 4
    ff_mult: int = 2
    dropout: float = 0.4
    readout: str = "mean"
    k: int = 8
    tau: float = 0.2
    lambda_proto: float = 0.65
    lambda_div: float = 0.0
    div_margin: float = 0.3
    optimizer: str = "rmsprop"
    lr: float = 1.56e-4
    weight_decay: float = 2.07e-4
    momentum: float = 0.9
    label_smoothing: float = 0.05
    grad_clip: float = 1.7
    scheduler: str = "cosine"
    plateau_factor: float = 0.5
    plateau_patience: int = 3
    batch_size: int = 32
    epochs: int = 100
    patience: int = 10


@dataclass(frozen=True)
class FusionRun:
    name: str
    models: tuple[str, ...]
    prototypes: bool
    seeds: tuple[int, ...]
    label: str
    params: FusionParams
    from_search: str | None = None
    overrides: dict[str, Any] = field(default_factory=dict)

    def as_params(self) -> dict[str, Any]:
        return {
            "models": list(self.models),
            "prototypes": self.prototypes,
            "params": dataclasses.asdict(self.params),
            "from_search": self.from_search,
        }


# --- validation -------------------------------------------------------------

_CHOICES = {
    "optimizer": ("adamw", "rmsprop", "sgd"),
    "scheduler": ("none", "cosine", "plateau"),
    "readout": ("mean", "cls"),
    "encoder": ("mamba", "transformer"),
    "pooling": ("mean", "cls"),
}
_PROBABILITIES = {"dropout", "label_smoothing"}


def _check_field(where: str, fld: dataclasses.Field, value: Any) -> list[str]:
    default = fld.default if fld.default is not dataclasses.MISSING else None
    name = fld.name
    if name in _CHOICES:
        return (
            []
            if value in _CHOICES[name]
            else [f"{where}.{name}: must be one of {', '.join(_CHOICES[name])}, got {value!r}"]
        )
    if isinstance(default, bool):
        return (
            []
            if isinstance(value, bool)
            else [f"{where}.{name}: expected true or false, got {value!r}"]
        )
    if isinstance(default, tuple):
        if not isinstance(value, list | tuple) or not value:
            return [f"{where}.{name}: expected a non-empty list, got {value!r}"]
        kind = type(default[0]) if default else float
        bad = [v for v in value if isinstance(v, bool) or not isinstance(v, int | float)]
        if bad or (kind is int and any(not isinstance(v, int) for v in value)):
            return [f"{where}.{name}: expected a list of {kind.__name__}s, got {value!r}"]
        if any(v <= 0 for v in value) and name not in ("crop_scale",):
            return [f"{where}.{name}: values must be positive, got {value!r}"]
        return []
    if isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, int):
            return [f"{where}.{name}: expected an integer, got {value!r}"]
        minimum = 0 if name in ("frozen_layers", "seed") else 1
        return (
            [] if value >= minimum else [f"{where}.{name}: must be at least {minimum}, got {value}"]
        )
    if isinstance(default, float) or default is None and name == "grad_clip":
        if isinstance(value, bool) or not isinstance(value, int | float):
            return [f"{where}.{name}: expected a number, got {value!r}"]
        if name in _PROBABILITIES and not 0 <= value < 1:
            return [f"{where}.{name}: must be in [0, 1), got {value}"]
        if name in ("lr", "tau") and value <= 0:
            return [f"{where}.{name}: must be positive, got {value}"]
        if value < 0:
            return [f"{where}.{name}: must not be negative, got {value}"]
        return []
    if isinstance(default, str):
        return (
            []
            if isinstance(value, str) and value
            else [f"{where}.{name}: expected a non-empty string, got {value!r}"]
        )
    return []


def _coerce(fld: dataclasses.Field, value: Any) -> Any:
    """YAML 1.1 reads ``1e-3`` (no dot) as a string; accept it where a number is expected."""
    if isinstance(fld.default, float) and isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


def _options(
    where: str, cls: type, raw: Mapping[str, Any], skip: set[str]
) -> tuple[Any, list[str]]:
    fields = {f.name: f for f in dataclasses.fields(cls)}
    problems = []
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key in skip:
            continue
        if key not in fields:
            hint = difflib.get_close_matches(key, list(fields) + sorted(skip), n=1)
            suggestion = f" (did you mean '{hint[0]}'?)" if hint else ""
            problems.append(
                f"{where}: unknown option '{key}'{suggestion}; valid options: {', '.join(sorted(fields))}"
            )
            continue
        value = _coerce(fields[key], value)
        found = _check_field(where, fields[key], value)
        problems.extend(found)
        if not found:
            values[key] = tuple(value) if isinstance(value, list) else value
    if problems:
        return None, problems
    return cls(**values), []


def parse_unimodal(
    name: str, raw: Mapping[str, Any], embeddings: Mapping[str, Any]
) -> UnimodalSpec:
    spec, problems = _parse_unimodal(name, raw, embeddings)
    if problems:
        raise ValueError("; ".join(problems))
    return spec


def _parse_unimodal(
    name: str, raw: Mapping[str, Any], embeddings: Mapping[str, Any]
) -> tuple[UnimodalSpec | None, list[str]]:
    where = f"unimodal.{name}"
    if not isinstance(raw, Mapping):
        return None, [f"{where}: expected a mapping with modality and kind"]
    modality, kind = raw.get("modality"), raw.get("kind")
    if modality not in MODALITIES:
        return None, [f"{where}.modality: must be one of {', '.join(MODALITIES)}, got {modality!r}"]
    if kind not in UNIMODAL_KINDS:
        return None, [f"{where}.kind: must be one of {', '.join(UNIMODAL_KINDS)}, got {kind!r}"]
    allowed = KIND_MODALITIES.get(kind)
    if allowed and modality not in allowed:
        return None, [f"{where}: kind {kind} works on {', '.join(allowed)}, not {modality}"]
    options, problems = _options(where, UNIMODAL_KINDS[kind], raw, {"modality", "kind", "label"})
    if problems:
        return None, problems
    if KIND_INPUT[kind] in ("embedding", "sequence"):
        encoders = embeddings.get(modality) or {}
        if options.embedding not in encoders:
            return None, [
                f"{where}.embedding: no encoder named {options.embedding!r} under "
                f"embeddings.{modality} (have: {', '.join(encoders) or 'none'})"
            ]
        from ahrec.embeddings.specs import SEQUENCE_KINDS

        is_sequence = encoders[options.embedding].get("kind") in SEQUENCE_KINDS
        if kind == "temporal" and not is_sequence:
            return None, [
                f"{where}.embedding: {options.embedding!r} holds no sequences; a temporal model needs a sequence encoder (opensmile, wav2vec2)"
            ]
    label = str(raw.get("label") or name)
    return UnimodalSpec(name=name, modality=modality, kind=kind, label=label, options=options), []


def parse_fusion_run(
    name: str, raw: Mapping[str, Any], fusion: Mapping[str, Any], unimodal: Mapping[str, Any]
) -> FusionRun:
    run, problems = _parse_fusion_run(name, raw, fusion, unimodal)
    if problems:
        raise ValueError("; ".join(problems))
    return run


def _parse_fusion_run(
    name: str, raw: Mapping[str, Any], fusion: Mapping[str, Any], unimodal: Mapping[str, Any]
) -> tuple[FusionRun | None, list[str]]:
    where = f"fusion.runs.{name}"
    if not isinstance(raw, Mapping):
        return None, [f"{where}: expected a mapping with at least 'models'"]
    allowed = {"models", "prototypes", "seeds", "label", "params", "from_search"}
    problems = [
        f"{where}: unknown key '{k}'; valid keys: {', '.join(sorted(allowed))}"
        for k in raw
        if k not in allowed
    ]
    models = raw.get("models")
    if not isinstance(models, list) or not models:
        problems.append(f"{where}.models: expected a non-empty list of unimodal model names")
        models = []
    for model in models:
        if model not in unimodal:
            problems.append(
                f"{where}.models: no unimodal model named {model!r} (have: {', '.join(unimodal)})"
            )
    modalities = [unimodal[m].get("modality") for m in models if m in unimodal]
    if len(set(modalities)) != len(modalities):
        problems.append(
            f"{where}.models: at most one model per modality, got {', '.join(map(str, modalities))}"
        )
    seeds = raw.get("seeds", fusion.get("seeds"))
    if (
        not isinstance(seeds, list)
        or not seeds
        or not all(isinstance(s, int) and not isinstance(s, bool) for s in seeds)
    ):
        problems.append(f"{where}.seeds: expected a non-empty list of integers")
    prototypes = raw.get("prototypes", False)
    if not isinstance(prototypes, bool):
        problems.append(f"{where}.prototypes: expected true or false")
    merged = {**(fusion.get("defaults") or {}), **(raw.get("params") or {})}
    params, found = _options(f"{where}.params", FusionParams, merged, set())
    problems.extend(found)
    if params is not None and params.d % params.heads:
        problems.append(
            f"{where}.params: d ({params.d}) must be divisible by heads ({params.heads})"
        )
    if problems:
        return None, problems
    return (
        FusionRun(
            name=name,
            models=tuple(models),
            prototypes=prototypes,
            seeds=tuple(seeds),
            label=str(raw.get("label") or name),
            params=params,
            from_search=raw.get("from_search"),
        ),
        [],
    )


def validate_models_config(config: Mapping[str, Any]) -> list[str]:
    """Every problem of the unimodal, fusion and search sections, one message each."""
    problems: list[str] = []
    unimodal = config.get("unimodal") or {}
    for name, raw in unimodal.items():
        problems.extend(_parse_unimodal(name, raw, config["embeddings"])[1])
    fusion = config.get("fusion") or {}
    runs = fusion.get("runs") or {}
    searches = config.get("search") or {}
    for name, raw in runs.items():
        problems.extend(_parse_fusion_run(name, raw, fusion, unimodal)[1])
        source = raw.get("from_search") if isinstance(raw, Mapping) else None
        if source is not None and source not in searches:
            problems.append(
                f"fusion.runs.{name}.from_search: no search named {source!r} under search:"
            )
    for name, raw in searches.items():
        run = raw.get("run") if isinstance(raw, Mapping) else None
        if run not in runs:
            problems.append(f"search.{name}.run: no fusion run named {run!r}")
        elif (runs[run] or {}).get("from_search") == name:
            problems.append(
                f"search.{name}: its run {run!r} cannot take its parameters from this same search"
            )
    submission = fusion.get("submission")
    if submission is not None and submission not in runs:
        problems.append(f"fusion.submission: no fusion run named {submission!r}")
    return problems


def unimodal_specs(config: Mapping[str, Any]) -> list[UnimodalSpec]:
    return [
        parse_unimodal(n, r, config["embeddings"])
        for n, r in (config.get("unimodal") or {}).items()
    ]


def unimodal_spec(config: Mapping[str, Any], name: str) -> UnimodalSpec:
    try:
        raw = config["unimodal"][name]
    except KeyError as exc:
        raise ValueError(f"no unimodal model named {name!r}") from exc
    return parse_unimodal(name, raw, config["embeddings"])


def fusion_runs(config: Mapping[str, Any]) -> list[FusionRun]:
    fusion = config.get("fusion") or {}
    unimodal = config.get("unimodal") or {}
    return [parse_fusion_run(n, r, fusion, unimodal) for n, r in (fusion.get("runs") or {}).items()]


def fusion_run(config: Mapping[str, Any], name: str) -> FusionRun:
    fusion = config.get("fusion") or {}
    try:
        raw = fusion["runs"][name]
    except KeyError as exc:
        raise ValueError(f"no fusion run named {name!r}") from exc
    return parse_fusion_run(name, raw, fusion, config.get("unimodal") or {})
