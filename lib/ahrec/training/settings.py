"""The optimisation options every neural model of the method shares (no torch here).

Kept apart from the training loop so that the configuration can be validated
at parse time without importing torch.
"""

from __future__ import annotations

from dataclasses import dataclass

from ahrec.kinds import choice, count, fraction, number, option

OPTIMIZERS = ("adamw", "rmsprop", "sgd")
SCHEDULERS = ("none", "cosine", "plateau")


@dataclass(frozen=True)
class TrainSettings:
    """Optimisation options, declared once for every neural model of the method.

    Each model's options class (``MlpOptions``, ``FusionParams``...) extends
    this one and changes only the defaults the paper gives for it, so the
    trainer reads a model's options directly and every model takes every
    optimisation option.
    """

    lr: float = number(1e-3, "learning rate", low_open=True)
    weight_decay: float = number(0.0, "weight decay (L2 for SGD/RMSprop, decoupled for AdamW)")
    optimizer: str = choice("adamw", OPTIMIZERS, "optimiser")
    momentum: float = number(0.9, "momentum of RMSprop and SGD")
    batch_size: int = count(32, "training batch size", high=8192)
    epochs: int = count(100, "maximum number of epochs", high=10000)
    patience: int = count(10, "epochs without a better validation MF1 before stopping", high=10000)
    scheduler: str = choice("none", SCHEDULERS, "learning-rate schedule")
    label_smoothing: float = fraction(0.0, "label smoothing of the cross-entropy")
    grad_clip: float | None = number(None, "gradient norm clipping (null or 0: none)")
    balanced: bool = option(True, "class weights inversely proportional to class frequency")
    plateau_factor: float = number(
        0.5, "plateau scheduler: multiply the learning rate by this...", low_open=True, high=1.0
    )
    plateau_patience: int = count(
        2, "...after this many epochs without a better validation MF1 (the authors: 2)", low=0
    )
    plateau_min_lr: float = number(
        1e-7, "plateau scheduler: never below this learning rate (the authors: 1e-7; 0: no floor)"
    )

    def __post_init__(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(
                f"optimizer must be one of {', '.join(OPTIMIZERS)}, got {self.optimizer!r}"
            )
        if self.scheduler not in SCHEDULERS:
            raise ValueError(
                f"scheduler must be one of {', '.join(SCHEDULERS)}, got {self.scheduler!r}"
            )
