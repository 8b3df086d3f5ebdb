"""The fusion model, its prototype head and regulariser, its training and the ensemble."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from ahrec.fusion.model import (
    FusionModel,
    FusionTask,
    PrototypeHead,
    average_probabilities,
    diversity_loss,
    drop_modalities,
    predict_fusion,
    train_fusion,
)
from ahrec.fusion.params import FusionParams
from ahrec.metrics import macro_f1
from ahrec.training.settings import TrainSettings

DIMS = {"scene": 6, "face": 5, "audio": 4}
SMALL = FusionParams(
    d=16,
    layers=2,
    heads=2,
    ff_mult=2,
    dropout=0.1,
    k=3,
    tau=0.2,
    optimizer="adamw",
    lr=1e-2,
    weight_decay=1e-4,
    batch_size=32,
    epochs=25,
    patience=8,
    scheduler="none",
)


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _model(readout: str = "mean", prototypes: bool = True, seed: int = 0) -> FusionModel:
    torch.manual_seed(seed)
    return FusionModel(DIMS, dataclasses.replace(SMALL, readout=readout), prototypes).eval()


def _batch(n: int = 5, seed: int = 1) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    inputs = {m: torch.randn(n, dim, generator=g) for m, dim in DIMS.items()}
    mask = torch.ones(n, len(DIMS), dtype=torch.bool)
    mask[0, 1] = False  # face missing
    mask[1, 0] = False  # scene missing
    mask[1, 2] = False  # and audio: only the face left
    mask[2, 2] = False
    return inputs, mask


# --- forward pass --------------------------------------------------------------


@pytest.mark.parametrize("readout", ["mean", "cls"])
@pytest.mark.parametrize("prototypes", [True, False])
def test_output_shapes(readout, prototypes):
    model = _model(readout, prototypes)
    inputs, mask = _batch()
    out = model(inputs, mask)
    assert out["logits"].shape == (5, 2)
    assert out["fused"].shape == (5, SMALL.d)
    assert ("proto_logits" in out) is prototypes
    if prototypes:
        assert out["proto_logits"].shape == (5, 2)
    assert model.fused_embedding(inputs, mask).shape == (5, SMALL.d)


@pytest.mark.parametrize("readout", ["mean", "cls"])
@pytest.mark.parametrize("garbage", ["random", "huge", "nan"])
def test_masked_inputs_do_not_change_the_output(readout, garbage):
    model = _model(readout)
    inputs, mask = _batch()
    with torch.no_grad():
        reference = model(inputs, mask)
    changed = {m: v.clone() for m, v in inputs.items()}
    for index, modality in enumerate(DIMS):
        rows = ~mask[:, index]
        shape = changed[modality][rows].shape
        if garbage == "random":
            value = torch.randn(shape) * 50
        elif garbage == "huge":
            value = torch.full(shape, 1e6)
        else:
            value = torch.full(shape, float("nan"))
        changed[modality][rows] = value
    with torch.no_grad():
        out = model(changed, mask)
    for key in reference:
        assert torch.isfinite(out[key]).all()
        torch.testing.assert_close(out[key], reference[key], rtol=0, atol=0)


@pytest.mark.parametrize("readout", ["mean", "cls"])
def test_present_inputs_change_the_output(readout):
    model = _model(readout)
    inputs, mask = _batch()
    with torch.no_grad():
        reference = model(inputs, mask)["logits"]
        changed = {m: v.clone() for m, v in inputs.items()}
        changed["face"][1] += 3.0  # row 1: face is its only modality
        changed["scene"][3] += 3.0
        out = model(changed, mask)["logits"]
    differs = (out - reference).abs().sum(dim=1) > 1e-6
    assert differs.tolist() == [False, True, False, True, False]


def test_masking_a_modality_changes_the_output():
    model = _model()
    inputs, mask = _batch()
    fewer = mask.clone()
    fewer[4, 0] = False
    with torch.no_grad():
        a, b = model(inputs, mask)["logits"], model(inputs, fewer)["logits"]
    assert not torch.allclose(a[4], b[4])
    torch.testing.assert_close(a[:4], b[:4])


@pytest.mark.parametrize("readout", ["mean", "cls"])
def test_a_row_with_nothing_present_is_finite_and_does_not_disturb_others(readout):
    model = _model(readout)
    inputs, mask = _batch()
    with torch.no_grad():
        reference = model(inputs, mask)
        empty = mask.clone()
        empty[3] = False
        changed = {m: v.clone() for m, v in inputs.items()}
        for v in changed.values():
            v[3] = float("nan")
        out = model(changed, empty)
    for key in out:
        assert torch.isfinite(out[key]).all()
    keep = [0, 1, 2, 4]
    torch.testing.assert_close(out["logits"][keep], reference["logits"][keep])
    if readout == "mean":
        assert torch.equal(out["fused"][3], torch.zeros(SMALL.d))


def test_masked_mean_readout_is_invariant_to_modality_order_of_inputs_dict():
    model = _model()
    inputs, mask = _batch()
    reordered = {m: inputs[m] for m in reversed(list(DIMS))}
    with torch.no_grad():
        torch.testing.assert_close(model(inputs, mask)["logits"], model(reordered, mask)["logits"])


def test_bad_configuration_and_mask_shape_fail():
    with pytest.raises(ValueError, match="divisible"):
        FusionModel(DIMS, dataclasses.replace(SMALL, heads=3), False)
    with pytest.raises(ValueError, match="readout"):
        FusionModel(DIMS, dataclasses.replace(SMALL, readout="max"), False)
    model = _model()
    inputs, _ = _batch()
    with pytest.raises(ValueError, match="mask"):
        model(inputs, torch.ones(5, 2, dtype=torch.bool))


# --- prototype head and diversity ------------------------------------------------


def test_prototype_logits_by_hand():
    head = PrototypeHead(d=2, k=2, tau=0.5)
    with torch.no_grad():
        head.prototypes.copy_(torch.tensor([[[1.0, 0.0], [0.0, 2.0]], [[-3.0, 0.0], [1.0, 1.0]]]))
    fused = torch.tensor([[2.0, 0.0], [0.0, -1.0]])
    # row 0 = (1, 0): cos with class 0's prototypes 1 and 0, with class 1's -1 and 1/sqrt2
    # row 1 = (0, -1): cos 0 and -1; 0 and -1/sqrt2
    s = 1 / math.sqrt(2)
    expected = torch.tensor(
        [
            [
                math.log(math.exp(1 / 0.5) + math.exp(0.0)),
                math.log(math.exp(-2) + math.exp(s / 0.5)),
            ],
            [
                math.log(math.exp(0.0) + math.exp(-2.0)),
                math.log(math.exp(0.0) + math.exp(-s / 0.5)),
            ],
        ]
    )
    torch.testing.assert_close(head(fused), expected)


def _cross_cos(prototypes: torch.Tensor) -> float:
    p = F.normalize(prototypes, dim=-1)
    return float((p[0] @ p[1].T).mean())


def test_diversity_step_pushes_classes_apart():
    torch.manual_seed(0)
    base = torch.randn(1, 1, 8)
    # every prototype near one shared direction: cross-class cosine close to 1
    prototypes = (base + 0.1 * torch.randn(2, 4, 8)).requires_grad_(True)
    before = _cross_cos(prototypes.detach())
    assert before > 0.5
    loss = diversity_loss(prototypes, margin=2.0)  # margin 2: same-class term is inactive
    loss.backward()
    with torch.no_grad():
        stepped = prototypes - 0.1 * prototypes.grad
    assert _cross_cos(stepped) < before
    # with the same-class term active too, the cross-class cosine still falls
    prototypes.grad = None
    diversity_loss(prototypes, margin=0.3).backward()
    with torch.no_grad():
        stepped = prototypes - 0.1 * prototypes.grad
    assert _cross_cos(stepped) < before


def test_diversity_gradient_is_opposite_to_the_inverted_sign():
    """The authors' sign error: a step must not increase cross-class similarity."""
    torch.manual_seed(1)
    prototypes = torch.randn(2, 3, 6).abs().requires_grad_(True)  # positive: all cos > 0
    before = _cross_cos(prototypes.detach())
    for _ in range(20):
        prototypes.grad = None
        diversity_loss(prototypes, margin=1.0).backward()
        with torch.no_grad():
            prototypes -= 0.05 * prototypes.grad
        assert _cross_cos(prototypes.detach()) <= before + 1e-7
        before = _cross_cos(prototypes.detach())


def test_diversity_same_class_pairs_below_margin_cost_nothing():
    # class 0: orthogonal (cos 0), class 1: cos 0.2; the classes orthogonal to each other
    e = torch.eye(4)
    c1 = torch.stack([e[2], 0.2 * e[2] + math.sqrt(1 - 0.04) * e[3]])
    prototypes = torch.stack([torch.stack([e[0], e[1]]), c1]).requires_grad_(True)
    loss = diversity_loss(prototypes, margin=0.3)
    assert float(loss.detach()) == pytest.approx(0.0, abs=1e-7)
    loss.backward()
    assert torch.allclose(prototypes.grad, torch.zeros_like(prototypes.grad))
    # above the margin, the pair costs cos - margin
    assert float(diversity_loss(prototypes.detach(), margin=0.1)) == pytest.approx(
        (0.0 + 0.1) / 2, abs=1e-6
    )


def test_diversity_cross_class_term_by_hand():
    a, b = torch.tensor([1.0, 0.0]), torch.tensor([0.6, 0.8])
    prototypes = torch.stack([a[None], b[None]])  # K = 1: no same-class pairs
    assert float(diversity_loss(prototypes, margin=0.3)) == pytest.approx(0.6)
    assert float(diversity_loss(torch.stack([a[None], -b[None]]), margin=0.3)) == 0.0
    with pytest.raises(ValueError):
        diversity_loss(torch.zeros(3, 2, 2), 0.3)


# --- the task: collate and loss ---------------------------------------------------


def _items(n: int, seed: int = 0, missing_rate: float = 0.0) -> list[dict]:
    rng = np.random.default_rng(seed)
    items = []
    for i in range(n):
        label = int(rng.integers(0, 2))
        mask = rng.random(len(DIMS)) >= missing_rate
        mask[rng.integers(0, len(DIMS))] = True
        items.append(
            {
                "video_id": f"v{i}",
                "inputs": {m: rng.normal(size=dim).astype(np.float32) for m, dim in DIMS.items()},
                "mask": mask,
                "label": label,
            }
        )
    return items


def test_collate_stacks_items_and_fills_absent_masked_modalities():
    task = FusionTask(_model())
    items = _items(3)
    items[1]["mask"] = np.array([True, False, True])
    del items[1]["inputs"]["face"]
    batch = task.collate(items)
    assert batch["mask"].dtype == torch.bool and batch["mask"].shape == (3, 3)
    assert batch["label"].dtype == torch.long
    assert batch["inputs/face"].shape == (3, 5)
    assert torch.equal(batch["inputs/face"][1], torch.zeros(5))
    torch.testing.assert_close(
        batch["inputs/scene"][2], torch.from_numpy(items[2]["inputs"]["scene"])
    )
    items[1]["mask"] = np.array([True, True, True])
    with pytest.raises(ValueError, match="face"):
        task.collate(items)
    with pytest.raises(ValueError, match="entries"):
        task.collate([{**items[0], "mask": np.array([True, True])}])


def test_loss_without_prototype_weight_is_weighted_smoothed_ce():
    settings = TrainSettings(label_smoothing=0.05)
    weights = torch.tensor([0.7, 1.9])
    params = dataclasses.replace(SMALL, lambda_proto=0.0, lambda_div=0.0)
    torch.manual_seed(0)
    model = FusionModel(DIMS, params, prototypes=True).eval()
    task = FusionTask(model)
    batch = task.collate(_items(8))
    with torch.no_grad():
        out = task._forward(batch)
        loss = task.loss(batch, weights, settings)
        expected = F.cross_entropy(
            out["logits"], batch["label"], weight=weights, label_smoothing=0.05
        )
        # by hand: sum_i w_{y_i} * smoothed CE_i / sum_i w_{y_i}
        logp = torch.log_softmax(out["logits"], dim=1)
        target = F.one_hot(batch["label"], 2).float() * 0.95 + 0.025
        w = weights[batch["label"]]
        per_item = -(target * logp * weights[None]).sum(dim=1)
        by_hand = per_item.sum() / w.sum()
    torch.testing.assert_close(loss, expected)
    torch.testing.assert_close(loss, by_hand)


def test_loss_adds_weighted_prototype_and_diversity_terms():
    settings = TrainSettings(label_smoothing=0.05)
    weights = torch.tensor([0.7, 1.9])
    params = dataclasses.replace(SMALL, lambda_proto=0.65, lambda_div=0.1, div_margin=0.3)
    torch.manual_seed(0)
    model = FusionModel(DIMS, params, prototypes=True).eval()
    task = FusionTask(model)
    batch = task.collate(_items(8))
    with torch.no_grad():
        out = task._forward(batch)
        ce = F.cross_entropy(out["logits"], batch["label"], weight=weights, label_smoothing=0.05)
        proto = F.cross_entropy(
            out["proto_logits"], batch["label"], weight=weights, label_smoothing=0.05
        )
        div = diversity_loss(model.prototype_head.prototypes, 0.3)
        torch.testing.assert_close(
            task.loss(batch, weights, settings), ce + 0.65 * proto + 0.1 * div
        )
    # without prototypes the lambdas are ignored and there are no prototype logits
    torch.manual_seed(0)
    plain = FusionModel(DIMS, params, prototypes=False).eval()
    task = FusionTask(plain)
    with torch.no_grad():
        out = task._forward(batch)
        assert "proto_logits" not in out and plain.prototype_head is None
        torch.testing.assert_close(
            task.loss(batch, weights, settings),
            F.cross_entropy(out["logits"], batch["label"], weight=weights, label_smoothing=0.05),
        )


def test_unknown_labels_never_enter_the_loss():
    task = FusionTask(_model())
    items = _items(4)
    items[2]["label"] = -1
    batch = task.collate(items)
    with pytest.raises(ValueError, match="unknown label"):
        task.loss(batch, torch.ones(2), TrainSettings())
    proba = task.proba(batch)  # prediction is fine for any item
    torch.testing.assert_close(proba.sum(dim=1), torch.ones(4))
    with pytest.raises(ValueError, match="label"):
        train_fusion(items, [], DIMS, SMALL, False, 0, "cpu")


def test_fusion_params_are_the_trainers_settings_with_the_papers_defaults():
    settings = FusionParams()
    assert isinstance(settings, TrainSettings)
    assert settings.optimizer == "rmsprop" and settings.lr == pytest.approx(1.56e-4)
    assert settings.weight_decay == pytest.approx(2.07e-4) and settings.momentum == 0.9
    assert settings.scheduler == "cosine" and settings.label_smoothing == 0.05
    assert settings.grad_clip == pytest.approx(1.7) and settings.balanced
    assert (settings.batch_size, settings.epochs, settings.patience) == (32, 100, 10)


def _synthetic(n: int, seed: int, masked_rate: float = 0.0) -> list[dict]:
    """The face carries the label; scene and audio are noise. Some faces masked (garbage)."""
    rng = np.random.default_rng(seed)
    items = []
    for i in range(n):
        label = i % 2
        face = rng.normal(size=DIMS["face"]).astype(np.float32)
        face[:2] += 1.5 if label else -1.5
        mask = np.ones(len(DIMS), dtype=bool)
        if rng.random() < masked_rate:
            mask[1] = False
            face = np.full(DIMS["face"], np.nan, dtype=np.float32)
        items.append(
            {
                "video_id": f"v{seed}-{i}",
                "inputs": {
                    "scene": rng.normal(size=DIMS["scene"]).astype(np.float32),
                    "face": face,
                    "audio": rng.normal(size=DIMS["audio"]).astype(np.float32),
                },
                "mask": mask,
                "label": label,
            }
        )
    return items


@pytest.fixture(scope="module")
def small_data():
    return _synthetic(64, 0, masked_rate=0.2), _synthetic(32, 1, masked_rate=0.2)


@pytest.mark.slow
def test_same_seed_same_model_different_seed_different(small_data):
    train, val = small_data
    params = dataclasses.replace(SMALL, epochs=3, patience=3, lambda_div=0.05)
    results = [train_fusion(train, val, DIMS, params, True, seed, "cpu") for seed in (3, 3, 4)]
    predictions = [predict_fusion(model, val) for model, _ in results]
    states = [model.state_dict() for model, _ in results]
    np.testing.assert_array_equal(predictions[0], predictions[1])
    assert states[0].keys() == states[1].keys()
    for key in states[0]:
        assert torch.equal(states[0][key], states[1][key]), key
    assert results[0][1].history == results[1][1].history
    assert not np.array_equal(predictions[0], predictions[2])
    assert any(not torch.equal(states[0][k], states[2][k]) for k in states[0])


@pytest.mark.slow
@pytest.mark.parametrize("readout", ["mean", "cls"])
def test_learns_the_informative_modality_and_copes_with_it_missing(readout):
    train = _synthetic(240, 10, masked_rate=0.2)
    val = _synthetic(120, 11, masked_rate=0.0)
    params = dataclasses.replace(SMALL, readout=readout, layers=1)
    model, result = train_fusion(train, val, DIMS, params, True, 0, "cpu")
    assert result.best_val_mf1 is not None and result.best_val_mf1 > 0.8
    assert all(math.isfinite(r["train_loss"]) for r in result.history)
    # NaN inside masked faces never reached a gradient
    assert all(torch.isfinite(v).all() for v in model.state_dict().values())
    labels = np.array([item["label"] for item in val])
    proba = predict_fusion(model, val)
    assert macro_f1(labels, proba.argmax(axis=1)) > 0.8
    # videos whose informative modality is missing (NaN inside) still get a probability
    hidden = _synthetic(40, 12, masked_rate=1.0)
    assert not any(item["mask"][1] for item in hidden)
    proba = predict_fusion(model, hidden)
    assert np.isfinite(proba).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)


def test_train_without_validation_runs_every_epoch(small_data):
    train, _ = small_data
    params = dataclasses.replace(SMALL, epochs=2)
    _, result = train_fusion(train, [], DIMS, params, False, 0, "cpu")
    assert len(result.history) == 2 and result.best_val_mf1 is None


# --- ensemble ---------------------------------------------------------------------


def test_average_probabilities_by_hand():
    ids, proba = average_probabilities(
        [
            (["a", "b"], np.array([[0.2, 0.8], [0.6, 0.4]])),
            (["a", "b"], np.array([[0.4, 0.6], [0.9, 0.1]])),
            (["a", "b"], np.array([[0.9, 0.1], [0.3, 0.7]])),
        ]
    )
    assert ids == ["a", "b"]
    np.testing.assert_allclose(proba, [[0.5, 0.5], [0.6, 0.4]], rtol=1e-6)
    assert proba.dtype == np.float32


def test_average_probabilities_aligns_by_id():
    ids, proba = average_probabilities(
        [
            (["x", "y", "z"], np.array([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]])),
            (["z", "x", "y"], np.array([[0.1, 0.9], [0.8, 0.2], [0.4, 0.6]])),
        ]
    )
    assert ids == ["x", "y", "z"]
    np.testing.assert_allclose(proba, [[0.9, 0.1], [0.2, 0.8], [0.3, 0.7]], rtol=1e-6)
    assert proba.argmax(axis=1).tolist() == [0, 1, 1]


def test_average_probabilities_rejects_mismatched_ids():
    one = (["a", "b"], np.array([[0.5, 0.5], [0.5, 0.5]]))
    with pytest.raises(ValueError, match="'b'"):
        average_probabilities([one, (["a"], np.array([[0.5, 0.5]]))])
    with pytest.raises(ValueError, match="'c'"):
        average_probabilities([one, (["a", "b", "c"], np.full((3, 2), 0.5))])
    with pytest.raises(ValueError, match="'b'"):
        average_probabilities([one, (["a", "c"], np.full((2, 2), 0.5))])
    with pytest.raises(ValueError, match="more than once"):
        average_probabilities([one, (["a", "a"], np.full((2, 2), 0.5))])
    with pytest.raises(ValueError, match="at least one"):
        average_probabilities([])
    with pytest.raises(ValueError, match="probabilities"):
        average_probabilities([one, (["a", "b"], np.full((2, 3), 0.5))])


def test_modality_dropout_masks_at_its_rate_keeps_one_and_only_in_training():
    torch.manual_seed(0)
    mask = torch.ones(4000, 4, dtype=torch.bool)
    mask[:1000, 2:] = False  # a quarter of the videos have two modalities
    dropped = drop_modalities(mask, 0.3)
    assert not (dropped & ~mask).any()  # never adds a modality a video lacks
    assert dropped.any(dim=1).all()  # every video keeps one
    assert abs((mask & ~dropped).sum().item() / mask.sum().item() - 0.3) < 0.03
    lone = torch.tensor([[False, True, False, False]])
    assert torch.equal(drop_modalities(lone.repeat(50, 1), 0.99), lone.repeat(50, 1))
    assert drop_modalities(mask, 0.0).equal(mask)
    # the loss sees the dropped mask in training only (no other dropout here, so the
    # same weights without modality dropout give the eval loss in training too)
    params = dataclasses.replace(SMALL, dropout=0.0, modality_dropout=0.5)
    model = FusionModel(DIMS, params, prototypes=False)
    without = FusionModel(DIMS, dataclasses.replace(params, modality_dropout=0.0), False)
    without.load_state_dict(model.state_dict())
    batch = FusionTask(model).collate(_items(16))
    settings, weights = TrainSettings(), torch.tensor([1.0, 1.0])
    with torch.no_grad():
        plain = FusionTask(model.eval()).loss(batch, weights, settings)
        assert FusionTask(without.train()).loss(batch, weights, settings) == plain
        task = FusionTask(model.train())
        torch.manual_seed(1)
        first = task.loss(batch, weights, settings)
        torch.manual_seed(1)
        assert task.loss(batch, weights, settings) == first  # the seed fixes the draws
    assert first != plain
