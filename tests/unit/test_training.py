"""The shared trainer: selection on validation MF1 only, patience, weights, determinism."""

from __future__ import annotations

import copy
import inspect
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from ahrec.training.loop import (
    Items,
    class_weights,
    fit,
    make_optimizer,
    make_scheduler,
    predict_proba,
)
from ahrec.training.seeding import seed_everything
from ahrec.training.settings import OPTIMIZERS, SCHEDULERS, TrainSettings

CPU = torch.device("cpu")
DIM = 4


pytestmark = pytest.mark.usefixtures("one_torch_thread")


class LinearTask:
    """A logistic regression as a trainer Task."""

    def __init__(self, seed: int = 0) -> None:
        torch.manual_seed(seed)
        self.model = nn.Linear(DIM, 2)

    def collate(self, items: Sequence[dict[str, Any]]) -> dict[str, Any]:
        return {
            "x": torch.from_numpy(np.stack([item["x"] for item in items])),
            "label": torch.tensor([item["label"] for item in items], dtype=torch.long),
        }

    def loss(
        self, batch: dict[str, Any], class_weights: torch.Tensor, settings: TrainSettings
    ) -> torch.Tensor:
        return F.cross_entropy(
            self.model(batch["x"]),
            batch["label"],
            weight=class_weights,
            label_smoothing=settings.label_smoothing,
        )

    def proba(self, batch: dict[str, Any]) -> torch.Tensor:
        return torch.softmax(self.model(batch["x"]), dim=-1)


class ScriptedTask(LinearTask):
    """Trains like LinearTask, but its validation MF1 and loss follow a script per epoch.

    The trainer evaluates once per epoch, after training and before calling
    ``on_epoch``; ``on_epoch`` advances the script and records the state.
    """

    def __init__(self, mf1_script: Sequence[str], loss_script: Sequence[float]) -> None:
        super().__init__()
        self.mf1_script = list(mf1_script)  # "right" | "wrong" | "half" per epoch
        self.loss_script = list(loss_script)
        self.epoch = 0
        self.states: dict[int, dict[str, torch.Tensor]] = {}

    def on_epoch(self, record: dict[str, float]) -> None:
        self.epoch += 1
        assert record["epoch"] == self.epoch
        self.states[self.epoch] = copy.deepcopy(self.model.state_dict())

    def loss(self, batch, class_weights, settings):
        real = super().loss(batch, class_weights, settings)
        if self.model.training:
            return real
        return real * 0 + self.loss_script[self.epoch]

    def proba(self, batch):
        labels = batch["label"]
        mode = self.mf1_script[self.epoch]
        if mode == "right":
            predicted = labels
        elif mode == "wrong":
            predicted = 1 - labels
        else:  # right on the first half of the batch
            predicted = labels.clone()
            predicted[len(labels) // 2 :] = 1 - predicted[len(labels) // 2 :]
        return F.one_hot(predicted, 2).float() + 0 * self.model(batch["x"])


def _data(n: int, seed: int) -> list[dict[str, Any]]:
    rng = np.random.default_rng(seed)
    items = []
    for i in range(n):
        label = i % 2
        x = rng.normal(size=DIM).astype(np.float32)
        x[0] += 2.0 if label else -2.0
        items.append({"x": x, "label": label})
    return items


TRAIN, VAL = _data(40, 0), _data(20, 1)
LABELS = [item["label"] for item in TRAIN]


def _equal_states(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


# --- early stopping and selection --------------------------------------------------


def test_early_stopping_keeps_the_epoch_with_the_best_validation_mf1():
    task = ScriptedTask(["half", "right", "half", "wrong", "half", "wrong", "right"], [1.0] * 7)
    settings = TrainSettings(lr=0.1, epochs=7, patience=3, batch_size=8)
    result = fit(
        task, Items(TRAIN), Items(VAL), settings, CPU, LABELS, seed=42, on_epoch=task.on_epoch
    )
    assert result.best_epoch == 2
    assert result.best_val_mf1 == pytest.approx(1.0)
    # epochs 3, 4, 5 do not improve: patience 3 stops after epoch 5
    assert [r["epoch"] for r in result.history] == [1, 2, 3, 4, 5]
    assert [r["val_mf1"] for r in result.history][:2] == [pytest.approx(0.5), 1.0]
    assert _equal_states(result.state, task.states[2])
    assert not _equal_states(result.state, task.states[5])
    # the model is left holding the selected state
    assert _equal_states(task.model.state_dict(), task.states[2])


def test_equal_mf1_ties_go_to_the_lower_validation_loss():
    task = ScriptedTask(["half", "right", "right", "right", "wrong"], [1.0, 0.9, 0.5, 0.7, 0.1])
    settings = TrainSettings(lr=0.1, epochs=5, patience=10, batch_size=8)
    result = fit(
        task, Items(TRAIN), Items(VAL), settings, CPU, LABELS, seed=42, on_epoch=task.on_epoch
    )
    assert result.best_epoch == 3
    assert [r["val_loss"] for r in result.history] == pytest.approx([1.0, 0.9, 0.5, 0.7, 0.1])
    assert _equal_states(result.state, task.states[3])


def test_patience_counts_epochs_since_the_last_improvement():
    script = ["half", "wrong", "right", "wrong", "wrong", "right", "wrong"]
    task = ScriptedTask(script, [1.0] * 7)
    settings = TrainSettings(lr=0.1, epochs=7, patience=2, batch_size=8)
    result = fit(
        task, Items(TRAIN), Items(VAL), settings, CPU, LABELS, seed=42, on_epoch=task.on_epoch
    )
    # epoch 2 is stale (1), epoch 3 improves (reset), epochs 4-5 stale: stop after 5
    assert len(result.history) == 5
    assert result.best_epoch == 3


@pytest.mark.parametrize("empty", [True, False])
def test_fit_without_validation_runs_every_epoch_and_keeps_the_last_state(empty):
    task = LinearTask()
    states: list[dict[str, torch.Tensor]] = []

    def record(_: dict[str, float]) -> None:
        states.append(copy.deepcopy(task.model.state_dict()))

    settings = TrainSettings(lr=0.1, epochs=6, patience=1, batch_size=8)
    val = Items([]) if empty else None
    result = fit(task, Items(TRAIN), val, settings, CPU, LABELS, seed=42, on_epoch=record)
    assert len(result.history) == 6 and result.best_epoch == 6
    assert result.best_val_mf1 is None
    assert "val_mf1" not in result.history[-1]
    assert _equal_states(result.state, states[-1])


def test_fit_learns_a_separable_task():
    task = LinearTask()
    settings = TrainSettings(lr=0.05, epochs=20, patience=5, batch_size=8)
    result = fit(task, Items(TRAIN), Items(VAL), settings, CPU, LABELS, seed=42)
    assert result.best_val_mf1 > 0.9
    proba = predict_proba(task, Items(VAL), CPU)
    assert proba.shape == (20, 2) and proba.dtype == np.float32
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    assert predict_proba(task, Items([]), CPU).shape == (0, 2)


def test_fit_has_no_test_set_parameter():
    names = list(inspect.signature(fit).parameters)
    assert names == [
        "task",
        "train",
        "val",
        "settings",
        "device",
        "train_labels",
        "seed",
        "on_epoch",
    ]
    assert not any("test" in name for name in names)


# --- weights, optimisers, schedulers -----------------------------------------------


def test_balanced_class_weights():
    torch.testing.assert_close(class_weights([0, 0, 0, 1]), torch.tensor([4 / 6, 4 / 2]))
    torch.testing.assert_close(class_weights([0, 1, 0, 1]), torch.tensor([1.0, 1.0]))
    torch.testing.assert_close(
        class_weights(np.array([1, 1, 1, 1, 1, 0])), torch.tensor([3.0, 0.6])
    )
    # weighted counts are equal: n_c * w_c = n / 2 for each class
    labels = [0] * 7 + [1] * 3
    w = class_weights(labels)
    assert float(7 * w[0]) == pytest.approx(float(3 * w[1])) == pytest.approx(5.0)
    torch.testing.assert_close(class_weights([0, 0, 0, 1], balanced=False), torch.ones(2))
    torch.testing.assert_close(class_weights([]), torch.ones(2))
    # an absent class does not divide by zero
    assert torch.isfinite(class_weights([0, 0])).all()


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@pytest.mark.parametrize("scheduler", SCHEDULERS)
def test_every_optimizer_and_scheduler_builds_and_trains(optimizer, scheduler):
    settings = TrainSettings(
        optimizer=optimizer, scheduler=scheduler, lr=0.01, epochs=3, patience=3, batch_size=16
    )
    task = LinearTask()
    built = make_optimizer(task.model.parameters(), settings)
    expected = {"adamw": torch.optim.AdamW, "rmsprop": torch.optim.RMSprop, "sgd": torch.optim.SGD}
    assert isinstance(built, expected[optimizer])
    sched = make_scheduler(built, settings)
    kinds = {
        "none": type(None),
        "cosine": torch.optim.lr_scheduler.CosineAnnealingLR,
        "plateau": torch.optim.lr_scheduler.ReduceLROnPlateau,
    }
    assert isinstance(sched, kinds[scheduler])
    result = fit(task, Items(TRAIN), Items(VAL), settings, CPU, LABELS, seed=42)
    assert len(result.history) == 3
    assert all(np.isfinite(r["train_loss"]) for r in result.history)
    if scheduler == "cosine":
        assert result.history[1]["lr"] < result.history[0]["lr"]


def test_plateau_scheduler_has_the_authors_patience_and_floor():
    """Defaults 2 epochs and 1e-7 (the authors'); both reach ReduceLROnPlateau."""
    settings = TrainSettings(scheduler="plateau", lr=1e-6, plateau_factor=0.1)
    assert (settings.plateau_patience, settings.plateau_min_lr) == (2, 1e-7)
    optimizer = make_optimizer(LinearTask().model.parameters(), settings)
    scheduler = make_scheduler(optimizer, settings)
    assert scheduler.patience == 2 and scheduler.min_lrs == [1e-7]
    for _ in range(10):  # no better MF1 ever: the rate falls, and stops at the floor
        scheduler.step(0.5)
    assert optimizer.param_groups[0]["lr"] == pytest.approx(1e-7)
    ours = TrainSettings(scheduler="plateau", plateau_patience=3, plateau_min_lr=0.0)
    unbounded = make_scheduler(make_optimizer(LinearTask().model.parameters(), ours), ours)
    assert unbounded.patience == 3 and unbounded.min_lrs == [0.0]


def test_unknown_optimizer_or_scheduler_fails_early():
    with pytest.raises(ValueError, match="optimizer"):
        TrainSettings(optimizer="adam")
    with pytest.raises(ValueError, match="scheduler"):
        TrainSettings(scheduler="step")


def test_grad_clip_and_weight_decay_are_applied():
    settings = TrainSettings(optimizer="sgd", weight_decay=0.01, momentum=0.0, lr=0.1)
    task = LinearTask()
    optimizer = make_optimizer(task.model.parameters(), settings)
    group = optimizer.param_groups[0]
    assert group["weight_decay"] == 0.01 and group["momentum"] == 0.0 and group["lr"] == 0.1
    clipped = TrainSettings(
        lr=0.1, epochs=2, grad_clip=1e-3, batch_size=8, optimizer="sgd", momentum=0.0
    )
    task = LinearTask()
    before = copy.deepcopy(task.model.state_dict())
    fit(task, Items(TRAIN), None, clipped, CPU, LABELS, seed=42)
    # SGD without momentum moves each step at most lr * clip (10 steps over 2 epochs)
    after = task.model.state_dict()
    moved = torch.sqrt(sum(((after[k] - before[k]) ** 2).sum() for k in after))
    assert float(moved) <= 0.1 * 1e-3 * 10 * 1.0001


# --- determinism --------------------------------------------------------------------


def _seeded_fit(seed: int):
    seed_everything(seed)
    task = LinearTask(seed)
    settings = TrainSettings(lr=0.05, epochs=4, patience=4, batch_size=8)
    return fit(task, Items(TRAIN), Items(VAL), settings, CPU, LABELS, seed=seed)


def test_fit_is_deterministic_for_a_fixed_seed():
    a, b, c = _seeded_fit(5), _seeded_fit(5), _seeded_fit(6)
    assert a.history == b.history and a.best_epoch == b.best_epoch
    assert _equal_states(a.state, b.state)
    assert not _equal_states(a.state, c.state)


def test_batch_order_depends_on_the_seed_only():
    """Same initial weights, different trainer seeds: different shuffles, different result."""
    results = []
    for seed in (1, 1, 2):
        task = LinearTask(0)
        settings = TrainSettings(lr=0.05, epochs=2, batch_size=8, optimizer="sgd")
        results.append(fit(task, Items(TRAIN), None, settings, CPU, LABELS, seed=seed))
    assert _equal_states(results[0].state, results[1].state)
    assert not _equal_states(results[0].state, results[2].state)
