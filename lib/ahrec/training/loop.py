"""One supervised training loop for every neural model of the method.

Model selection — early stopping, the plateau scheduler, the choice of the
checkpoint — looks at the validation split only, by macro F1 (ties broken by
the lower validation loss). The test split never enters this module: the
authors' code selected on the mean of validation and *test* MF1, which is
test leakage.

A model plugs in through a ``Task``: how to compute its training loss on a
batch and its class probabilities. Data come as torch Datasets of dicts with a
``label`` entry; the task's ``collate`` builds batches (padding sequences,
tokenising text...).
"""

from __future__ import annotations

import copy
import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from ahrec.device import autocast, to_device
from ahrec.evaluation.metrics import macro_f1
from ahrec.training.seeding import seed_everything
from ahrec.training.settings import TrainSettings

LOG = logging.getLogger(__name__)


class Task(Protocol):
    """What the trainer needs from a model."""

    model: nn.Module

    def collate(self, items: Sequence[dict[str, Any]]) -> dict[str, Any]:
        """A batch from dataset items (tensors, padded, on the CPU)."""
        ...

    def loss(
        self, batch: dict[str, Any], class_weights: torch.Tensor, settings: TrainSettings
    ) -> torch.Tensor:
        """The training loss of a batch (the model is in train mode)."""
        ...

    def proba(self, batch: dict[str, Any]) -> torch.Tensor:
        """(B, 2) class probabilities (the model is in eval mode)."""
        ...


class Items(Dataset):
    """A list of per-video dicts as a torch Dataset."""

    def __init__(self, items: Sequence[dict[str, Any]]) -> None:
        self.items = list(items)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> dict[str, Any]:
        return self.items[index]


@dataclass
class FitResult:
    state: dict[str, torch.Tensor]
    best_epoch: int
    best_val_mf1: float | None
    history: list[dict[str, Any]] = field(default_factory=list)


def class_weights(labels: Sequence[int] | np.ndarray, balanced: bool = True) -> torch.Tensor:
    """sklearn's 'balanced' weights: n / (2 * count of the class); ones if not balanced."""
    labels = np.asarray(labels, dtype=int)
    if not balanced or labels.size == 0:
        return torch.ones(2)
    counts = np.bincount(labels, minlength=2).astype(np.float64)
    counts[counts == 0] = 1.0
    return torch.tensor(labels.size / (2.0 * counts), dtype=torch.float32)


def make_optimizer(parameters: Any, settings: TrainSettings) -> torch.optim.Optimizer:
    params = [p for p in parameters if p.requires_grad]
    if settings.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=settings.lr, weight_decay=settings.weight_decay)
    if settings.optimizer == "rmsprop":
        return torch.optim.RMSprop(
            params, lr=settings.lr, weight_decay=settings.weight_decay, momentum=settings.momentum
        )
    return torch.optim.SGD(
        params, lr=settings.lr, weight_decay=settings.weight_decay, momentum=settings.momentum
    )


def make_scheduler(optimizer: torch.optim.Optimizer, settings: TrainSettings) -> Any:
    if settings.scheduler == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(1, settings.epochs))
    if settings.scheduler == "plateau":
        return torch.optim.lr_scheduler.ReduceLROnPlateau(
            optimizer,
            mode="max",
            factor=settings.plateau_factor,
            patience=settings.plateau_patience,
            min_lr=settings.plateau_min_lr,
        )
    return None


def _loader(
    data: Dataset, task: Task, batch_size: int, shuffle: bool, generator: torch.Generator | None
) -> DataLoader:
    return DataLoader(
        data,
        batch_size=batch_size,
        shuffle=shuffle,
        collate_fn=task.collate,
        generator=generator,
        num_workers=0,
    )


def predict_proba(
    task: Task, data: Dataset, device: torch.device, batch_size: int = 64
) -> np.ndarray:
    """(N, 2) float32 class probabilities, in dataset order."""
    if len(data) == 0:
        return np.zeros((0, 2), dtype=np.float32)
    task.model.eval()
    out = []
    with torch.no_grad():
        for batch in _loader(data, task, batch_size, False, None):
            with autocast(device):
                out.append(task.proba(to_device(batch, device)).float().cpu())
    return torch.cat(out).numpy().astype(np.float32)


def evaluate(
    task: Task, data: Dataset, device: torch.device, weights: torch.Tensor, settings: TrainSettings
) -> tuple[float, float]:
    """(macro F1, mean loss) on a labelled dataset."""
    task.model.eval()
    labels, predictions, losses = [], [], []
    with torch.no_grad():
        for batch in _loader(data, task, 64, False, None):
            batch = to_device(batch, device)
            losses.append(
                float(task.loss(batch, weights.to(device), settings)) * len(batch["label"])
            )
            predictions.append(task.proba(batch).argmax(dim=1).cpu())
            labels.append(batch["label"].cpu())
    y = torch.cat(labels).numpy()
    return macro_f1(y, torch.cat(predictions).numpy()), sum(losses) / max(len(y), 1)


def fit(
    task: Task,
    train: Dataset,
    val: Dataset | None,
    settings: TrainSettings,
    device: torch.device,
    train_labels: Sequence[int],
    seed: int,
    on_epoch: Callable[[dict[str, Any]], None] | None = None,
) -> FitResult:
    """Train with early stopping on validation MF1; return the best state (on the CPU).

    Without a validation set the model trains for ``settings.epochs`` and the
    last state is kept.
    """
    if len(train) == 0:
        raise ValueError(
            "no training items: the training split has no labelled video with this input"
        )
    generator = seed_everything(seed)
    task.model.to(device)
    weights = class_weights(train_labels, settings.balanced)
    optimizer = make_optimizer(task.model.parameters(), settings)
    scheduler = make_scheduler(optimizer, settings)
    loader = _loader(train, task, settings.batch_size, True, generator)
    best: tuple[float, float] = (-math.inf, math.inf)
    best_state = copy.deepcopy(task.model.state_dict())
    best_epoch, stale = 0, 0
    history: list[dict[str, Any]] = []
    for epoch in range(1, settings.epochs + 1):
        task.model.train()
        total, seen = 0.0, 0
        for batch in loader:
            batch = to_device(batch, device)
            optimizer.zero_grad(set_to_none=True)
            with autocast(device):
                loss = task.loss(batch, weights.to(device), settings).float()
            if not torch.isfinite(loss):
                raise FloatingPointError(
                    f"the training loss became {float(loss.detach())} at epoch {epoch}; "
                    "lower the learning rate or check the inputs for extreme values"
                )
            loss.backward()
            if settings.grad_clip:
                nn.utils.clip_grad_norm_(task.model.parameters(), settings.grad_clip)
            optimizer.step()
            total += float(loss.detach()) * len(batch["label"])
            seen += len(batch["label"])
        record = {
            "epoch": epoch,
            "train_loss": total / max(seen, 1),
            "lr": optimizer.param_groups[0]["lr"],
        }
        if val is not None and len(val) > 0:
            val_mf1, val_loss = evaluate(task, val, device, weights, settings)
            record.update(val_mf1=val_mf1, val_loss=val_loss)
            if (val_mf1, -val_loss) > (best[0], -best[1]):
                best, best_epoch, stale = (val_mf1, val_loss), epoch, 0
                best_state = copy.deepcopy(task.model.state_dict())
            else:
                stale += 1
            if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
                scheduler.step(val_mf1)
        else:
            best_epoch = epoch
            best_state = copy.deepcopy(task.model.state_dict())
        if scheduler is not None and not isinstance(
            scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau
        ):
            scheduler.step()
        history.append(record)
        if on_epoch is not None:
            on_epoch(record)
        if val is not None and len(val) > 0 and stale >= settings.patience:
            break
    task.model.load_state_dict(best_state)
    cpu_state = {k: v.detach().cpu().clone() for k, v in best_state.items()}
    return FitResult(
        state=cpu_state,
        best_epoch=best_epoch,
        best_val_mf1=None if best[0] == -math.inf else best[0],
        history=history,
    )


def median_epochs(fold_summaries: Sequence[dict[str, Any]], default: int) -> int:
    """The median of the folds' best epochs, rounded, at least 1 (``default`` with no folds).

    A refit on train + val has no validation split to stop on; the folds say
    how long training paid off on data of that size.
    """
    epochs = [int(s["best_epoch"]) for s in fold_summaries if s.get("best_epoch")]
    return max(1, int(round(float(np.median(epochs))))) if epochs else default
