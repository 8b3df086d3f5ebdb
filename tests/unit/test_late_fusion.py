"""The late-fusion baseline and the log-odds the fusion may read (issue 24)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

from ahrec.config import load_config, load_settings, paper_runs
from ahrec.corpus.manifest import write_manifest
from ahrec.devtools.manifests import manifest_frame
from ahrec.devtools.runs import REPO
from ahrec.embeddings.table import EmbeddingRow, read_embeddings, write_embeddings
from ahrec.errors import ConfigError
from ahrec.evaluation.settings import EvaluationSettings
from ahrec.evaluation.systems import table_rows
from ahrec.fusion.data import load_fusion_data
from ahrec.fusion.late import LateFusionModel, fit_late_fusion
from ahrec.fusion.model import fusion_split, load_fusion_model
from ahrec.fusion.params import FusionParams, parse_fusion_run
from ahrec.fusion.steps import SeedOutputs, predict_fusion_seed, train_fusion_seed
from ahrec.metrics import macro_f1
from ahrec.training.labels import training_labels
from ahrec.training.predictions import read_predictions

MEAN = FusionParams(method="mean")
LOGREG = FusionParams(method="logreg")


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def test_the_mean_is_over_the_modalities_present_and_ignores_what_a_masked_one_holds():
    model = LateFusionModel({"face": 1, "audio": 1, "text": 1}, MEAN)
    inputs = {
        "face": torch.tensor([[2.0], [2.0], [float("nan")]]),
        "audio": torch.tensor([[-1.0], [1e6], [3.0]]),
        "text": torch.tensor([[0.5], [0.5], [-1.0]]),
    }
    mask = torch.tensor([[True, True, True], [True, False, True], [False, True, True]])
    out = model(inputs, mask)
    z = out["fused"][:, 0].numpy()
    np.testing.assert_allclose(z, [(2 - 1 + 0.5) / 3, (2 + 0.5) / 2, (3 - 1) / 2], rtol=1e-6)
    proba = torch.softmax(out["logits"], dim=-1)[:, 1].numpy()
    np.testing.assert_allclose(proba, _sigmoid(z), rtol=1e-6)  # [0, z]: softmax is sigmoid(z)


def test_a_late_fusion_reads_one_number_per_modality_and_has_no_prototypes():
    with pytest.raises(ValueError, match="one log-odds per modality"):
        LateFusionModel({"face": 8}, LOGREG)
    with pytest.raises(ValueError, match="logreg or mean"):
        LateFusionModel({"face": 1}, FusionParams())
    run, problems = parse_fusion_run(
        "late", {"models": ["a"], "prototypes": True, "params": {"method": "logreg"}}, {}, [1]
    )
    assert run is None and "no prototype head" in problems[0]
    run, problems = parse_fusion_run(
        "x", {"models": ["a"], "params": {"inputs": "pixels"}}, {}, [1]
    )
    assert run is None and "inputs" in problems[0]


def _late_items(n: int, seed: int) -> list[dict]:
    """An informative modality (its log-odds follow the label), a noisy one, a missing third."""
    rng = np.random.default_rng(seed)
    items = []
    for i in range(n):
        label = i % 2
        sign = 1.0 if label else -1.0
        face = sign * 1.5 + rng.normal()
        audio = rng.normal() * 2.0  # no signal at all
        text = sign * 0.7 + rng.normal()
        mask = np.array([True, True, rng.random() > 0.3])
        items.append(
            {
                "inputs": {
                    "face": np.array([face], np.float32),
                    "audio": np.array([audio], np.float32),
                    "text": np.array([text if mask[2] else np.nan], np.float32),
                },
                "mask": mask,
                "label": label,
            }
        )
    return items


def test_logistic_regression_weighs_the_informative_modality_and_learns_the_label():
    dims = {"face": 1, "audio": 1, "text": 1}
    train = fusion_split(_late_items(400, 0), dims)
    model = fit_late_fusion(train, dims, LOGREG)
    weights = dict(zip(model.modalities, model.weight.detach().numpy(), strict=True))
    assert weights["face"] > weights["text"] > abs(weights["audio"])
    assert abs(weights["audio"]) < 0.2
    test_items = _late_items(400, 1)
    with torch.no_grad():
        test = fusion_split(test_items, dims)
        out = model({m: test.tensors[f"inputs/{m}"] for m in dims}, test.tensors["mask"])
    predicted = out["logits"].argmax(dim=1).numpy()
    assert np.isfinite(out["logits"].numpy()).all()  # the NaN of a missing text is masked
    assert macro_f1([i["label"] for i in test_items], predicted) > 0.85
    stronger = fit_late_fusion(train, dims, FusionParams(method="logreg", c=1e-4))
    assert float(stronger.weight.detach().abs().sum()) < float(
        model.weight.detach().abs().sum()
    )  # C is the L2's


@pytest.fixture()
def logodds_corpus(tmp_path):
    """Three unimodal tables with log-odds: face informative, audio noise, text half missing."""
    rng = np.random.default_rng(3)
    rows = []
    for split, n in (("train", 60), ("val", 20), ("test", 20)):
        for i in range(n):
            rows.append(
                {
                    "video_id": f"{split}{i:02d}",
                    "split": split,
                    "participant": f"{split}{i // 2}",
                    "label": i % 2,
                    "video_path": f"Videos/{split}{i}/clip.mp4",
                    "list_order": i,
                }
            )
    manifest = manifest_frame(rows)
    write_manifest(manifest, tmp_path / "manifest.parquet")
    training_labels(manifest).to_parquet(tmp_path / "labels.parquet", index=False)
    tables = []
    for modality, strength in (("face", 2.0), ("audio", 0.0), ("text", 1.0)):
        table_rows = []
        for row in manifest.itertuples():
            if modality == "text" and row.list_order % 2:
                table_rows.append(EmbeddingRow.missing(row.video_id, "no transcript"))
                continue
            sign = 1.0 if row.label == 1 else -1.0
            logodds = float(strength * sign + rng.normal())
            vector = rng.normal(size=4).astype(np.float32)
            table_rows.append(EmbeddingRow(row.video_id, vector, logodds=logodds))
        path = tmp_path / f"{modality}.parquet"
        write_embeddings(path, table_rows, 4, {"modality": modality})
        tables.append(path)
    return tmp_path, tables


def test_the_fusion_reads_embeddings_log_odds_or_both(logodds_corpus, tmp_path):
    folder, tables = logodds_corpus
    stored = read_embeddings(tables[2])
    assert np.isnan(stored.logodds[~stored.available]).all()
    assert np.isfinite(stored.logodds[stored.available]).all()
    labels = folder / "labels.parquet"
    embedding = load_fusion_data(tables, labels)
    logodds = load_fusion_data(tables, labels, "logodds")
    both = load_fusion_data(tables, labels, "both")
    assert embedding.input_dims == {"face": 4, "audio": 4, "text": 4}
    assert logodds.input_dims == {"face": 1, "audio": 1, "text": 1}
    assert both.input_dims == {"face": 5, "audio": 5, "text": 5}
    np.testing.assert_array_equal(both.vectors["face"][:, :4], embedding.vectors["face"])
    np.testing.assert_array_equal(both.vectors["face"][:, 4:], logodds.vectors["face"])
    np.testing.assert_array_equal(logodds.mask, embedding.mask)
    assert not logodds.vectors["text"][~logodds.mask[:, 2]].any()  # a missing one reads 0
    # a table written before log-odds were stored says how to get them
    old = tmp_path / "old.parquet"
    write_embeddings(
        old, [EmbeddingRow("train00", np.zeros(4, np.float32))], 4, {"modality": "face"}
    )
    with pytest.raises(ValueError, match="stores no log-odds.*forcerun unimodal"):
        load_fusion_data([old], labels, "logodds")


@pytest.mark.parametrize("selection", ["split", "cv"])
def test_a_late_fusion_seed_trains_saves_and_predicts_like_a_transformer_seed(
    logodds_corpus, selection
):
    folder, tables = logodds_corpus
    out = folder / f"late_{selection}"
    evaluation = EvaluationSettings(selection=selection, folds=3)
    summary = train_fusion_seed(
        False,
        {"method": "logreg"},
        42,
        tables,
        folder / "labels.parquet",
        SeedOutputs.under(out),
        evaluation=evaluation,
    )
    assert (
        summary["weights"]["face"] > summary["weights"]["text"] > abs(summary["weights"]["audio"])
    )
    recorded = json.loads((out / "selection.json").read_text())
    assert recorded["params"]["method"] == "logreg" and "weights" in recorded
    predictions = read_predictions(out / "predictions.parquet")
    if selection == "cv":
        assert set(predictions.loc[predictions["split"] != "test", "source"]) == {"oof"}
    model = load_fusion_model(out / "model")
    assert isinstance(model, LateFusionModel)
    assert dict(zip(model.modalities, model.weight.tolist(), strict=True)) == pytest.approx(
        summary["weights"]
    )
    frame = predict_fusion_seed(
        tables, SeedOutputs.under(out), folder / "manifest.parquet", out / "all.parquet"
    )
    test = frame.loc[frame["split"] == "test"].merge(
        pd.read_parquet(folder / "manifest.parquet")[["video_id", "label"]], on="video_id"
    )
    assert len(test) == 20 and test["available"].all()
    assert macro_f1(test["label"].astype(int), test["prediction"]) > 0.8


def test_every_papers_table_carries_the_late_fusions_beside_the_papers_runs():
    runs = paper_runs({"face": "f", "scene": "s", "audio": "a", "text": "t"})
    assert list(runs)[:2] == ["fusion", "fusion_proto"]
    assert list(runs)[-2:] == ["late_logreg", "late_mean"]
    for name, method in (("late_logreg", "logreg"), ("late_mean", "mean")):
        assert runs[name]["params"] == {"method": method}
        assert runs[name]["models"] == ["f", "s", "a", "t"] and runs[name]["seeds"] == [42]


def test_a_late_run_keeps_its_method_when_configured_has_no_seed_label_and_is_not_searched():
    config = load_config(REPO / "presets" / "paper.yaml")
    base = {
        "embeddings": config["embeddings"],
        "unimodal": config["unimodal"],
        "fusion": {"paper_runs": config["fusion"]["paper_runs"]},
    }
    # a user's params for a late run are merged over its method, not in place of it
    changed = {
        **base,
        "fusion": {**base["fusion"], "runs": {"late_logreg": {"params": {"c": 0.1}}}},
    }
    settings = load_settings(changed)
    late = settings.runs["late_logreg"]
    assert (
        late.params.method == "logreg" and late.params.c == 0.1 and late.params.reads == "logodds"
    )
    rows = {row["run"]: row for row in table_rows(settings, "results") if row["kind"] != "ensemble"}
    assert rows["late_logreg"]["system"] == (
        "Late fusion, logistic regression of the log-odds, face + scene + audio + text"
    )
    assert rows["late_logreg"]["kind"] == "fusion"  # as wide as the widest: not an ablation
    assert rows["fusion"]["system"].endswith("(seed 42)")
    searched = {**base, "search": {"late": {"run": "late_mean"}}}
    with pytest.raises(ConfigError, match="search.late: its run 'late_mean' is a late fusion"):
        load_settings(searched)
