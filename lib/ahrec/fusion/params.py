"""What the ``fusion:`` and ``search:`` sections may hold: hyperparameters, runs, searches.

Light (no torch), so the Snakefile validates them at parse time. Defaults are
the paper's selected fusion model (``docs/method.md``); the search space is
the authors' (ranges in ``DEFAULT_SPACE``), and a search may narrow or
replace any of its dimensions in config.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ahrec.kinds import (
    MAX_SEED,
    check_field,
    choice,
    count,
    fraction,
    number,
    option,
    options_dict,
    parse_options,
    random_seed,
    unknown_key,
)
from ahrec.training.settings import TrainSettings

# How a run fuses: the paper's Transformer, or a late fusion of the unimodal models'
# log-odds (the yardstick a reviewer asks for first; fusion/late.py).
FUSION_METHODS = ("transformer", "logreg", "mean")
LATE_METHODS = ("logreg", "mean")
# What the Transformer reads of each modality: the unimodal model's embedding (the
# paper's), its log-odds of A/H (one number) or both side by side.
FUSION_INPUTS = ("embedding", "logodds", "both")


@dataclass(frozen=True)
class FusionParams(TrainSettings):
    """Fusion hyperparameters: the paper's selected model (Optuna may replace them)."""

    method: str = choice(
        "transformer",
        FUSION_METHODS,
        "transformer: the paper's fusion; logreg: late fusion, a logistic regression on the "
        "unimodal models' log-odds; mean: the mean of their log-odds (no fitting)",
    )
    inputs: str = choice(
        "embedding",
        FUSION_INPUTS,
        "what the Transformer reads of each modality: the unimodal model's embedding (the "
        "paper's), its log-odds, or both (late fusions read the log-odds)",
    )
    c: float = number(1.0, "inverse strength of the logreg late fusion's L2 penalty", low_open=True)

    d: int = count(384, "token width", high=8192)
    layers: int = count(1, "Transformer encoder layers", high=64)
    heads: int = count(4, "attention heads (d must be divisible by heads)", high=256)
    ff_mult: int = count(2, "feed-forward width as a multiple of d", high=64)
    dropout: float = fraction(0.4, "dropout of the projections and the encoder")
    modality_dropout: float = fraction(
        0.0,
        "chance that training masks each modality of a video (one always stays; 0 in the "
        "paper): masking then answers 'without this modality' in distribution, which the "
        "explanations ask",
    )
    readout: str = choice(
        "mean", ("mean", "cls"), "masked mean over modality tokens, or a CLS token"
    )
    k: int = count(8, "prototypes per class", high=1024)
    tau: float = number(0.2, "prototype similarity temperature", low_open=True)
    lambda_proto: float = number(0.65, "weight of the prototype cross-entropy")
    lambda_div: float = number(
        0.0,
        "weight of the prototype diversity regulariser (0 in the paper). Our term is about "
        "4/7 of the authors' at K = 8: their weight w is ours 7/4 x w",
    )
    div_margin: float = number(
        0.3, "same-class prototype cosine allowed before the diversity term costs", low=-1, high=1
    )
    optimizer: str = "rmsprop"
    lr: float = 1.56e-4
    weight_decay: float = 2.07e-4
    label_smoothing: float = 0.05
    grad_clip: float | None = 1.7
    scheduler: str = "cosine"

    @property
    def late(self) -> bool:
        """A late fusion: one weight per modality's log-odds, no network to train."""
        return self.method in LATE_METHODS

    @property
    def reads(self) -> str:
        """What the fusion reads of each modality's table (``FUSION_INPUTS``)."""
        return "logodds" if self.late else self.inputs

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.d % self.heads:
            raise ValueError(f"d ({self.d}) must be divisible by heads ({self.heads})")


@dataclass(frozen=True)
class FusionRun:
    """One named fusion run: its unimodal models (one per modality), seeds and hyperparameters."""

    name: str
    models: tuple[str, ...]
    prototypes: bool
    seeds: tuple[int, ...]
    label: str
    params: FusionParams
    from_search: str | None = None

    def as_params(self) -> dict[str, Any]:
        return {
            "models": list(self.models),
            "prototypes": self.prototypes,
            "params": options_dict(self.params),
            "from_search": self.from_search,
        }

    @classmethod
    def from_params(cls, name: str, params: Mapping[str, Any]) -> FusionRun:
        """The run back from a rule's params (``as_params``; validated at parse time already).

        A rule's params hold what its job reads, never the run's seeds (a
        seed's job must not rerun when a seed is added) nor its label: they
        come back as none and the name.
        """
        return cls(
            name,
            tuple(params["models"]),
            bool(params["prototypes"]),
            (),
            name,
            FusionParams(**params["params"]),
            params.get("from_search"),
        )


RUN_KEYS = ("models", "prototypes", "seeds", "label", "params", "from_search")


def valid_seeds(seeds: Any) -> bool:
    """A non-empty list of seeds, each an integer in [0, MAX_SEED] (what every seeded library
    takes: NumPy's RandomState stops at 2**32 - 1)."""
    return (
        isinstance(seeds, list)
        and bool(seeds)
        and all(
            isinstance(s, int) and not isinstance(s, bool) and 0 <= s <= MAX_SEED for s in seeds
        )
    )


def parse_fusion_run(
    name: str, raw: Any, defaults: Mapping[str, Any], seeds: Sequence[int]
) -> tuple[FusionRun | None, list[str]]:
    """One ``fusion.runs`` entry; its models are checked against ``unimodal:`` by the configuration."""
    where = f"fusion.runs.{name}"
    if not isinstance(raw, Mapping):
        return None, [f"{where}: expected a mapping with at least 'models'"]
    problems = [unknown_key(where, k, RUN_KEYS) for k in raw if k not in RUN_KEYS]
    models = raw.get("models")
    if not isinstance(models, list) or not models or not all(isinstance(m, str) for m in models):
        problems.append(f"{where}.models: expected a non-empty list of unimodal model names")
        models = []
    run_seeds = raw.get("seeds", list(seeds))
    if not valid_seeds(run_seeds):
        problems.append(
            f"{where}.seeds: expected a non-empty list of integers from 0 to {MAX_SEED}"
        )
    elif len(set(run_seeds)) != len(run_seeds):
        problems.append(f"{where}.seeds: a seed is listed twice")
    prototypes = raw.get("prototypes", False)
    if not isinstance(prototypes, bool):
        problems.append(f"{where}.prototypes: expected true or false")
    own = raw.get("params")
    if own is not None and not isinstance(own, Mapping):
        problems.append(f"{where}.params: expected a mapping of hyperparameters, got {own!r:.80}")
    else:
        params, found = parse_options(f"{where}.params", FusionParams, {**defaults, **(own or {})})
        problems.extend(found)
    source = raw.get("from_search")
    if source is not None and not isinstance(source, str):
        problems.append(f"{where}.from_search: expected the name of a search")
    if not problems and params.late and prototypes:
        problems.append(
            f"{where}: a late fusion (method {params.method}) has no prototype head; "
            "set prototypes: false or method: transformer"
        )
    if problems:
        return None, problems
    return (
        FusionRun(
            name,
            tuple(models),
            prototypes,
            tuple(run_seeds),
            str(raw.get("label") or name),
            params,
            source,
        ),
        [],
    )


# --- Optuna ---------------------------------------------------------------------

# The authors' search space (docs/method.md, "Fusion"), in the order Optuna is asked.
# A list is a categorical choice; a mapping is a numeric range (int when low and high
# are integers, stepped with `step`, log-uniform with `log: true`). The prototype
# head's dimensions are searched only for runs that have one.
#
# Steps: the authors searched K over even numbers only (step 2) and the bounded
# ranges on grids; the grid steps below are inferred [U]: each is the coarsest step
# on which the paper's selected value lies (dropout 0.4, label smoothing 0.05, clip
# 1.7, tau 0.2, lambda_proto 0.65). lr and weight decay stay continuous (log).
#
# lambda_div: the authors' range is 0-0.15 for their diversity term. Ours (one
# mean over the K(K-1)/2 same-class pairs of each class, plus one over the
# cross-class pairs, fusion/model.py: diversity_loss) was measured at about 0.57 of
# their term for K = 8 (taken as 4/7), so the same strength needs a weight 7/4 as
# large: the range is 0-0.2625 (0.15 x 7/4) in steps of 0.0175 (0.01 x 7/4). The
# factor holds for K = 8 only (docs/method.md, "Deviations").
LAMBDA_DIV_SCALE = 7.0 / 4.0
PROTOTYPE_PARAMS = frozenset({"k", "tau", "lambda_proto", "lambda_div", "div_margin"})
DEFAULT_SPACE: dict[str, Any] = {
    "optimizer": ["rmsprop", "adamw"],
    "d": [128, 256, 384, 512],
    "dropout": {"low": 0.2, "high": 0.65, "step": 0.05},
    "layers": {"low": 1, "high": 6},
    "heads": [2, 4, 8, 16],
    "ff_mult": [2, 4, 6, 8],
    "readout": ["cls", "mean"],
    "lr": {"low": 8e-5, "high": 5e-4, "log": True},
    "weight_decay": {"low": 1e-4, "high": 2e-3, "log": True},
    "scheduler": ["plateau", "cosine"],
    "label_smoothing": {"low": 0.0, "high": 0.06, "step": 0.01},
    "grad_clip": {"low": 0.5, "high": 2.0, "step": 0.1},
    "k": {"low": 4, "high": 16, "step": 2},
    "tau": {"low": 0.05, "high": 0.40, "step": 0.05},
    "lambda_proto": {"low": 0.05, "high": 0.80, "step": 0.05},
    "lambda_div": {
        "low": 0.0,
        "high": round(0.15 * LAMBDA_DIV_SCALE, 6),
        "step": round(0.01 * LAMBDA_DIV_SCALE, 6),
    },
}


@dataclass(frozen=True)
class Dimension:
    """One searched hyperparameter: categorical ``choices``, or a numeric range."""

    name: str
    choices: tuple[Any, ...] | None = None
    low: float | None = None
    high: float | None = None
    step: float | None = None
    log: bool = False
    integer: bool = False
    prototypes_only: bool = False

    def suggest(self, trial: Any) -> Any:
        """Ask an Optuna trial (or anything with its suggest_* methods) for a value.

        A stepped float is rounded to the step's decimals: Optuna returns
        ``low + i * step`` in binary floating point (0.30000000000000004), and a
        value written into best.yaml should read as the grid point it is.
        """
        if self.choices is not None:
            return trial.suggest_categorical(self.name, list(self.choices))
        if self.integer:
            return trial.suggest_int(
                self.name, int(self.low), int(self.high), step=int(self.step or 1), log=self.log
            )
        value = trial.suggest_float(self.name, self.low, self.high, step=self.step, log=self.log)
        return self.tidy(value)

    def tidy(self, value: Any) -> Any:
        """A stepped float as the grid point it is (Optuna's trial records keep the raw float)."""
        if self.step and not self.integer and self.choices is None:
            return round(float(value), _decimals(self.step) + 2)
        return value


def _decimals(step: float) -> int:
    """Digits after the point that a step (0.05, 0.0175) needs."""
    text = f"{step:.12f}".rstrip("0")
    return len(text.split(".")[1]) if "." in text else 0


def parse_space(where: str, raw: Mapping[str, Any]) -> tuple[list[Dimension], list[str]]:
    """Search dimensions from DEFAULT_SPACE overlaid with ``raw`` (a dimension set to null is fixed)."""
    if not isinstance(raw, Mapping):
        return [], [
            f"{where}: expected a mapping of hyperparameters to choices or ranges, got {raw!r:.80}"
        ]
    fields = {f.name for f in dataclasses.fields(FusionParams)}
    merged = {**DEFAULT_SPACE, **dict(raw)}
    dimensions, problems = [], []
    for name, value in merged.items():
        place = f"{where}.{name}"
        if name not in fields:
            problems.append(unknown_key(where, name, sorted(fields), "hyperparameter"))
        elif value is None:
            continue
        elif isinstance(value, list):
            wrong = [check_field(place, FusionParams, name, v) for v in value]
            if not value:
                problems.append(f"{place}: a categorical dimension needs at least one choice")
            elif any(wrong):
                problems.append(next(w for w in wrong if w))
            else:
                dimensions.append(
                    Dimension(name, choices=tuple(value), prototypes_only=name in PROTOTYPE_PARAMS)
                )
        elif isinstance(value, Mapping):
            extra = set(value) - {"low", "high", "step", "log"}
            low, high, step = value.get("low"), value.get("high"), value.get("step")
            numbers = [v for v in (low, high, step) if v is not None]
            if extra:
                problems.append(
                    unknown_key(place, sorted(extra)[0], ["low", "high", "step", "log"])
                )
            elif (
                low is None
                or high is None
                or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in numbers)
            ):
                problems.append(
                    f"{place}: a range needs numbers low and high (and optionally step, log)"
                )
            elif wrong := next(
                (
                    w
                    for end in ("low", "high", "step")
                    if value.get(end) is not None
                    and (w := check_field(f"{place}.{end}", FusionParams, name, value[end]))
                ),
                None,
            ):
                problems.append(wrong)
            elif low > high:
                problems.append(f"{place}: low ({low}) is above high ({high})")
            elif value.get("log") and low <= 0:
                problems.append(f"{place}: a log range needs low > 0")
            elif value.get("log") and step is not None:
                problems.append(f"{place}: a range is either stepped or log-uniform, not both")
            elif step is not None and step <= 0:
                problems.append(f"{place}: step must be above 0, got {step}")
            else:
                integer = all(isinstance(v, int) for v in numbers)
                dimensions.append(
                    Dimension(
                        name,
                        low=low,
                        high=high,
                        step=step,
                        log=bool(value.get("log", False)),
                        integer=integer,
                        prototypes_only=name in PROTOTYPE_PARAMS,
                    )
                )
        else:
            problems.append(f"{place}: expected a list of choices, a range {{low, high}}, or null")
    return dimensions, problems


@dataclass(frozen=True)
class SearchSpec:
    """One named Optuna search over a fusion run's hyperparameters."""

    name: str
    run: str
    n_trials: int
    seeds: tuple[int, ...]
    sampler_seed: int
    space: tuple[Dimension, ...]
    multivariate: bool = True

    def dimensions(self, prototypes: bool) -> list[Dimension]:
        return [d for d in self.space if prototypes or not d.prototypes_only]

    def as_params(self) -> dict[str, Any]:
        return {
            "run": self.run,
            "n_trials": self.n_trials,
            "seeds": list(self.seeds),
            "sampler_seed": self.sampler_seed,
            "multivariate": self.multivariate,
            "space": [dataclasses.asdict(d) for d in self.space],
        }

    @classmethod
    def from_params(cls, name: str, params: Mapping[str, Any]) -> SearchSpec:
        """The search back from its rule's params (``as_params``; validated at parse time)."""
        return cls(
            name,
            params["run"],
            int(params["n_trials"]),
            tuple(params["seeds"]),
            int(params["sampler_seed"]),
            tuple(cls.space_from_params(params["space"])),
            bool(params.get("multivariate", True)),
        )

    @staticmethod
    def space_from_params(rows: Sequence[Mapping[str, Any]]) -> list[Dimension]:
        return [
            Dimension(
                **{**row, "choices": tuple(row["choices"]) if row["choices"] is not None else None}
            )
            for row in rows
        ]


@dataclass(frozen=True)
class SearchOptions:
    run: str = option(dataclasses.MISSING, "the fusion run whose hyperparameters are searched")
    n_trials: int = count(20, "trials (a killed search resumes where it stopped)")
    seeds: tuple[int, ...] | None = option(
        None, "seeds per trial (default: fusion.seeds)", low=0, high=MAX_SEED
    )
    sampler_seed: int = random_seed(0, "seed of the TPE sampler")
    multivariate: bool = option(
        True,
        "multivariate TPE (the authors'): one joint density over the dimensions, so "
        "hyperparameters that only work together (lr with the optimiser, d with heads) are "
        "found together; false: one density per dimension (Optuna's default)",
    )


def parse_search(name: str, raw: Any, seeds: Sequence[int]) -> tuple[SearchSpec | None, list[str]]:
    where = f"search.{name}"
    if not isinstance(raw, Mapping):
        return None, [f"{where}: expected a mapping with at least 'run'"]
    if "run" not in raw:
        return None, [f"{where}.run: required (the fusion run to search)"]
    options, problems = parse_options(where, SearchOptions, raw, ignore=("space",))
    space, found = parse_space(f"{where}.space", raw.get("space") or {})
    problems.extend(found)
    if problems or options is None:
        return None, problems
    return (
        SearchSpec(
            name,
            options.run,
            options.n_trials,
            tuple(options.seeds or seeds),
            options.sampler_seed,
            tuple(space),
            options.multivariate,
        ),
        [],
    )
