"""Whole-split tensor batches: the same batches, random draws and results as the DataLoader path.

The fusion trains on ``TensorSplit``s (a split collated once, batches by row
selection) for speed; these tests pin that nothing else changes: for a seed,
the batches, their order, their contents, the dropout masks and so the
trained model are bit for bit those of ``DataLoader`` + ``collate``.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from ahrec.fusion.model import (
    FusionModel,
    FusionTask,
    collate_fusion,
    fusion_split,
    predict_fusion,
    train_fusion,
)
from ahrec.fusion.params import FusionParams
from ahrec.training.loop import (
    Items,
    TensorSplit,
    class_weights,
    evaluate,
    fit,
    make_optimizer,
    ordered_batches,
    predict_proba,
    shuffled_batches,
)
from ahrec.training.seeding import seed_everything
from ahrec.training.settings import TrainSettings

CPU = torch.device("cpu")
DIMS = {"scene": 6, "face": 5, "audio": 4}
PARAMS = FusionParams(
    d=16, layers=1, heads=2, dropout=0.3, k=2, batch_size=8, epochs=6, patience=3, lr=3e-3
)


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _items(n: int, seed: int = 0) -> list[dict]:
    """Items with missing modalities, some left out of ``inputs`` and some holding garbage."""
    rng = np.random.default_rng(seed)
    items = []
    for i in range(n):
        label = int(rng.integers(0, 2))
        mask = rng.random(len(DIMS)) > 0.25
        mask[i % len(DIMS)] = True
        inputs = {}
        for index, (modality, dim) in enumerate(DIMS.items()):
            value = rng.normal(size=dim).astype(np.float32) + (label if modality == "face" else 0)
            if not mask[index] and i % 2:
                continue  # absent: collate fills zeros
            inputs[modality] = value
        items.append({"video_id": f"v{i}", "inputs": inputs, "mask": mask, "label": label})
    return items


@pytest.mark.parametrize(("n", "batch_size"), [(42, 32), (64, 32), (5, 8), (17, 4)])
def test_shuffled_batches_are_the_dataloaders_epoch_after_epoch(n, batch_size):
    loader_generator = torch.Generator().manual_seed(11)
    split_generator = torch.Generator().manual_seed(11)
    loader = DataLoader(
        list(range(n)),
        batch_size=batch_size,
        shuffle=True,
        generator=loader_generator,
        collate_fn=list,
    )
    split = TensorSplit({"label": torch.arange(n)})
    for _ in range(4):
        expected = list(loader)
        got = [b["label"].tolist() for b in shuffled_batches(split, batch_size, split_generator)]
        assert got == expected
        visited = [row for batch in got for row in batch]
        assert sorted(visited) == list(range(n))  # every item once per epoch
        assert all(len(b) == batch_size for b in got[:-1])
    assert torch.equal(loader_generator.get_state(), split_generator.get_state())


def test_ordered_batches_are_in_order_and_draw_from_the_global_rng_as_a_dataloader_does():
    split = TensorSplit({"label": torch.arange(10), "x": torch.arange(20).reshape(10, 2)})
    torch.manual_seed(3)
    expected = list(DataLoader(list(range(10)), batch_size=4, shuffle=False, collate_fn=list))
    after_loader = torch.rand(3)
    torch.manual_seed(3)
    got = list(ordered_batches(split, 4))
    after_split = torch.rand(3)
    assert [b["label"].tolist() for b in got] == expected
    assert torch.equal(got[1]["x"], torch.tensor([[8, 9], [10, 11], [12, 13], [14, 15]]))
    # dropout after an evaluation sees the same random stream as before
    assert torch.equal(after_loader, after_split)


def test_a_fusion_splits_rows_are_the_collated_batches_with_masks_and_zero_padding():
    items = _items(23)
    split = fusion_split(items, DIMS)
    assert len(split) == 23 and split.labels == [item["label"] for item in items]
    order = torch.randperm(23, generator=torch.Generator().manual_seed(0))
    for start in range(0, 23, 8):
        index = order[start : start + 8]
        batch = split.rows(index)
        expected = collate_fusion([items[i] for i in index.tolist()], DIMS)
        assert batch.keys() == expected.keys()
        for key in expected:
            assert batch[key].dtype == expected[key].dtype
            assert torch.equal(batch[key], expected[key]), key
    # absent modalities are zero rows with their mask entry off
    for row, item in enumerate(items):
        for index, modality in enumerate(DIMS):
            assert bool(split.tensors["mask"][row, index]) == bool(item["mask"][index])
            if modality not in item["inputs"]:
                assert not item["mask"][index]
                assert torch.equal(
                    split.tensors[f"inputs/{modality}"][row], torch.zeros(DIMS[modality])
                )


def test_a_tensor_split_checks_its_tensors():
    with pytest.raises(ValueError, match="label"):
        TensorSplit({"x": torch.zeros(3, 2)})
    with pytest.raises(ValueError, match="as many rows"):
        TensorSplit({"label": torch.zeros(3), "x": torch.zeros(4, 2)})
    with pytest.raises(ValueError, match="tensor"):
        TensorSplit({"label": torch.zeros(3), "ids": ["a", "b", "c"]})
    with pytest.raises(ValueError, match="at least one"):
        fusion_split([], DIMS)


@pytest.mark.parametrize("with_val", [True, False])
@pytest.mark.parametrize("scheduler", ["cosine", "plateau"])
def test_training_on_tensor_splits_is_bit_identical_to_the_dataloader_path(with_val, scheduler):
    """Same seed: same states, same history, same predictions (dropout on, evaluations between)."""
    train, val = _items(45, 0), _items(19, 1)
    params = dataclasses.replace(PARAMS, scheduler=scheduler, lambda_div=0.05)
    labels = [item["label"] for item in train]
    results = []
    for make in (lambda items: Items(items), lambda items: fusion_split(items, DIMS)):
        seed_everything(5)
        task = FusionTask(FusionModel(DIMS, params, True))
        result = fit(task, make(train), make(val) if with_val else None, params, CPU, labels, 5)
        probabilities = predict_proba(task, make(val), CPU, batch_size=8)
        results.append((result, probabilities))
    (old, old_proba), (new, new_proba) = results
    assert new.history == old.history and new.best_epoch == old.best_epoch
    assert len(new.history) > 1
    for key in old.state:
        assert torch.equal(new.state[key], old.state[key]), key
    np.testing.assert_array_equal(new_proba, old_proba)


def test_train_fusion_takes_item_lists_or_prebuilt_splits_alike():
    train, val = _items(30, 2), _items(12, 3)
    params = dataclasses.replace(PARAMS, epochs=3)
    from_items = train_fusion(train, val, DIMS, params, True, 9, "cpu")
    from_splits = train_fusion(
        fusion_split(train, DIMS), fusion_split(val, DIMS), DIMS, params, True, 9, "cpu"
    )
    assert from_items[1].history == from_splits[1].history
    np.testing.assert_array_equal(
        predict_fusion(from_items[0], val), predict_fusion(from_splits[0], fusion_split(val, DIMS))
    )
    bad = fusion_split([{**item, "label": -1} for item in val], DIMS)
    with pytest.raises(ValueError, match="no 0/1 label"):
        train_fusion(train, bad, DIMS, params, True, 9, "cpu")


def test_evaluation_with_one_forward_pass_gives_the_two_pass_numbers():
    items = _items(21, 4)
    torch.manual_seed(0)
    task = FusionTask(FusionModel(DIMS, PARAMS, True))
    weights = class_weights([item["label"] for item in items])
    one_pass = evaluate(task, fusion_split(items, DIMS), CPU, weights, PARAMS)

    class TwoPasses:  # the same task without loss_and_proba
        model, collate, loss, proba = task.model, task.collate, task.loss, task.proba

    assert evaluate(TwoPasses(), Items(items), CPU, weights, PARAMS) == one_pass


@pytest.mark.parametrize("optimizer", ["adamw", "rmsprop", "sgd"])
def test_foreach_optimisers_step_as_the_per_parameter_loop(optimizer):
    settings = TrainSettings(optimizer=optimizer, lr=1e-2, weight_decay=1e-3)
    states = []
    for foreach in (False, True):
        torch.manual_seed(0)
        model = torch.nn.Sequential(torch.nn.Linear(5, 7), torch.nn.GELU(), torch.nn.Linear(7, 2))
        opt = make_optimizer(model.parameters(), settings)
        assert opt.defaults["foreach"] is True
        if not foreach:
            for group in opt.param_groups:
                group["foreach"] = False
        data = torch.Generator().manual_seed(1)
        for _ in range(10):
            opt.zero_grad()
            model(torch.randn(8, 5, generator=data)).square().mean().backward()
            opt.step()
        states.append(model.state_dict())
    for key in states[0]:
        assert torch.equal(states[0][key], states[1][key]), key
