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

A task whose items are fixed-size vectors (the fusion) may instead hand over
each split as a ``TensorSplit``: the whole split collated once, batches taken
by ``index_select``. Per-item collation then happens once per split instead of
once per batch and epoch, while batches, their order and every random draw
stay those of the DataLoader path (so results are bit-for-bit the same).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from ahrec.device import autocast, to_device
from ahrec.metrics import macro_f1
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

    # Optional: ``loss_and_proba(batch, class_weights, settings) -> (loss, proba)``,
    # both from one forward pass; ``evaluate`` uses it when present (it would
    # otherwise run the model twice per validation batch).


class Items(Dataset):
    """A list of per-video dicts as a torch Dataset."""

    def __init__(self, items: Sequence[dict[str, Any]]) -> None:
        self.items = list(items)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> dict[str, Any]:
        return self.items[index]


class TensorSplit:
    """A whole split as tensors sharing their first dimension: one row per item.

    Built once per split (``collated``: the task's ``collate`` over every item)
    and moved to the device once, a split gives its batches by row selection,
    without the per-item Python work of a DataLoader and ``collate`` per batch
    and epoch. Only for tasks whose batches are row-wise (no padding to the
    batch's longest sequence, no batch-dependent tokenisation): collating all
    items then selecting rows gives exactly the batches ``collate`` would.
    """

    def __init__(self, tensors: dict[str, torch.Tensor]) -> None:
        if "label" not in tensors:
            raise ValueError("a TensorSplit needs a 'label' tensor")
        sizes = {
            name: (tuple(value.shape[:1]) if isinstance(value, torch.Tensor) else None)
            for name, value in tensors.items()
        }
        if any(size is None or size == () for size in sizes.values()):
            raise ValueError(f"every entry of a TensorSplit must be a tensor with rows: {sizes}")
        if len(set(sizes.values())) != 1:
            raise ValueError(f"a TensorSplit's tensors must have as many rows each: {sizes}")
        self.tensors = dict(tensors)

    @classmethod
    def collated(cls, task: Task, items: Sequence[dict[str, Any]]) -> TensorSplit:
        """The task's ``collate`` of every item, once."""
        if not items:
            raise ValueError("a TensorSplit needs at least one item")
        return cls(task.collate(items))

    def __len__(self) -> int:
        return int(self.tensors["label"].shape[0])

    @property
    def labels(self) -> list[int]:
        return [int(v) for v in self.tensors["label"].tolist()]

    def to(self, device: torch.device) -> TensorSplit:
        return TensorSplit({k: v.to(device) for k, v in self.tensors.items()})

    def rows(self, index: torch.Tensor) -> dict[str, torch.Tensor]:
        """The batch of these rows, in this order."""
        index = index.to(self.tensors["label"].device)
        return {k: v.index_select(0, index) for k, v in self.tensors.items()}

    def slice(self, start: int, stop: int) -> dict[str, torch.Tensor]:
        """The batch of rows ``start:stop`` (views, no copy)."""
        return {k: v[start:stop] for k, v in self.tensors.items()}


Data = Dataset | TensorSplit


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
    """The configured optimiser, with torch's multi-tensor (``foreach``) implementation.

    torch picks ``foreach`` by itself on CUDA only; on the CPU the default is a
    Python loop over the parameters (a few small operations each) that costs
    more than the arithmetic of a small model's step. Both implementations give
    the same numbers (checked bit for bit for AdamW, RMSprop and SGD in
    ``tests/unit/test_tensor_batches.py``).
    """
    params = [p for p in parameters if p.requires_grad]
    if settings.optimizer == "adamw":
        return torch.optim.AdamW(
            params, lr=settings.lr, weight_decay=settings.weight_decay, foreach=True
        )
    if settings.optimizer == "rmsprop":
        return torch.optim.RMSprop(
            params,
            lr=settings.lr,
            weight_decay=settings.weight_decay,
            momentum=settings.momentum,
            foreach=True,
        )
    return torch.optim.SGD(
        params,
        lr=settings.lr,
        weight_decay=settings.weight_decay,
        momentum=settings.momentum,
        foreach=True,
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


def shuffled_batches(
    data: TensorSplit, batch_size: int, generator: torch.Generator
) -> Iterator[dict[str, torch.Tensor]]:
    """One epoch of shuffled batches: the batches ``DataLoader(shuffle=True)`` would give.

    The same draws from ``generator`` in the same order as the DataLoader
    path: one int64 (the DataLoader's base seed for its workers, drawn even
    with none), the sampler's ``randperm``, and a second ``randperm`` that
    ``RandomSampler`` draws for the remainder of ``num_samples % n`` (empty)
    when it runs out. So a seed gives the same batches, in the same order,
    epoch after epoch, whichever path trains (``tests/unit/test_tensor_batches.py``).
    """
    torch.empty((), dtype=torch.int64).random_(generator=generator)
    order = torch.randperm(len(data), generator=generator)
    torch.randperm(len(data), generator=generator)
    for start in range(0, len(data), batch_size):
        yield data.rows(order[start : start + batch_size])


def ordered_batches(data: TensorSplit, batch_size: int) -> Iterator[dict[str, torch.Tensor]]:
    """Batches in row order: what ``DataLoader(shuffle=False)`` gives.

    A DataLoader without a generator draws its base seed from torch's global
    generator, which dropout also uses; the same draw is made here so that
    the training batches after an evaluation get the dropout masks they got
    before (bit-identical results between the two paths).
    """
    torch.empty((), dtype=torch.int64).random_()
    for start in range(0, len(data), batch_size):
        yield data.slice(start, start + batch_size)


def _batches(data: Data, task: Task, batch_size: int, device: torch.device) -> Iterator[Any]:
    """Unshuffled batches on ``device``, from either kind of split."""
    if isinstance(data, TensorSplit):
        yield from ordered_batches(data.to(device), batch_size)
    else:
        for batch in _loader(data, task, batch_size, False, None):
            yield to_device(batch, device)


def predict_proba(task: Task, data: Data, device: torch.device, batch_size: int = 64) -> np.ndarray:
    """(N, 2) float32 class probabilities, in dataset order."""
    if len(data) == 0:
        return np.zeros((0, 2), dtype=np.float32)
    task.model.eval()
    out = []
    with torch.no_grad():
        for batch in _batches(data, task, batch_size, device):
            with autocast(device):
                out.append(task.proba(batch).float().cpu())
    return torch.cat(out).numpy().astype(np.float32)


def evaluate(
    task: Task, data: Data, device: torch.device, weights: torch.Tensor, settings: TrainSettings
) -> tuple[float, float]:
    """(macro F1, mean loss) on a labelled dataset.

    With a task's ``loss_and_proba`` one forward pass per batch gives both;
    otherwise ``loss`` and ``proba`` each run the model (same numbers, the
    model being in eval mode).
    """
    task.model.eval()
    weights = weights.to(device)
    both = getattr(task, "loss_and_proba", None)
    labels, predictions, losses = [], [], []
    with torch.no_grad():
        for batch in _batches(data, task, 64, device):
            if both is not None:
                loss, proba = both(batch, weights, settings)
            else:
                loss, proba = task.loss(batch, weights, settings), task.proba(batch)
            losses.append(float(loss) * len(batch["label"]))
            predictions.append(proba.argmax(dim=1).cpu())
            labels.append(batch["label"].cpu())
    y = torch.cat(labels).numpy()
    return macro_f1(y, torch.cat(predictions).numpy()), sum(losses) / max(len(y), 1)


def _snapshot(model: nn.Module) -> dict[str, torch.Tensor]:
    """A copy of the model's state (tensors cloned; cheaper than deepcopy of the dict)."""
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def fit(
    task: Task,
    train: Data,
    val: Data | None,
    settings: TrainSettings,
    device: torch.device,
    train_labels: Sequence[int],
    seed: int,
    on_epoch: Callable[[dict[str, Any]], None] | None = None,
) -> FitResult:
    """Train with early stopping on validation MF1; return the best state (on the CPU).

    Without a validation set the model trains for ``settings.epochs`` and the
    last state is kept. ``train`` and ``val`` may be Datasets (batches through
    a DataLoader and the task's ``collate``) or ``TensorSplit``s (collated
    once, moved to the device once); both give the same batches for a seed.
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
    if isinstance(train, TensorSplit):
        on_device = train.to(device)

        def epoch_batches() -> Iterator[Any]:
            return shuffled_batches(on_device, settings.batch_size, generator)
    else:
        loader = _loader(train, task, settings.batch_size, True, generator)

        def epoch_batches() -> Iterator[Any]:
            return (to_device(batch, device) for batch in loader)

    if isinstance(val, TensorSplit):
        val = val.to(device)
    weights_on_device = weights.to(device)
    best: tuple[float, float] = (-math.inf, math.inf)
    best_state = _snapshot(task.model)
    best_epoch, stale = 0, 0
    history: list[dict[str, Any]] = []
    for epoch in range(1, settings.epochs + 1):
        task.model.train()
        total, seen = 0.0, 0
        for batch in epoch_batches():
            optimizer.zero_grad(set_to_none=True)
            with autocast(device):
                loss = task.loss(batch, weights_on_device, settings).float()
            value = float(loss.detach())  # one device sync per batch, for the check and the record
            if not math.isfinite(value):
                raise FloatingPointError(
                    f"the training loss became {value} at epoch {epoch}; "
                    "lower the learning rate or check the inputs for extreme values"
                )
            loss.backward()
            if settings.grad_clip:
                nn.utils.clip_grad_norm_(task.model.parameters(), settings.grad_clip)
            optimizer.step()
            total += value * len(batch["label"])
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
                best_state = _snapshot(task.model)
            else:
                stale += 1
            if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
                scheduler.step(val_mf1)
        else:
            best_epoch = epoch  # the last state is kept: copied once, after the loop
        if scheduler is not None and not isinstance(
            scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau
        ):
            scheduler.step()
        history.append(record)
        if on_epoch is not None:
            on_epoch(record)
        if val is not None and len(val) > 0 and stale >= settings.patience:
            break
    if val is None or len(val) == 0:
        best_state = _snapshot(task.model)
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
