"""The metrics step, the results table with its uncertainty, the choice of run, the submission."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ahrec.config import load_config, load_settings
from ahrec.corpus.manifest import write_manifest
from ahrec.devtools.manifests import manifest_frame as complete_manifest
from ahrec.evaluation.evaluate import evaluate, read_metrics, write_metrics
from ahrec.evaluation.selection import select_run, submitted_predictions
from ahrec.evaluation.settings import EvaluationSettings
from ahrec.evaluation.submission import submission
from ahrec.evaluation.systems import ensemble_runs, table_rows
from ahrec.evaluation.table import TABLE_COLUMNS, results_table
from ahrec.training.labels import training_labels
from ahrec.training.predictions import predictions_frame, read_predictions, write_predictions

REPO = Path(__file__).resolve().parents[2]


def manifest_frame():
    rows = []
    for split, n in (("train", 4), ("val", 4), ("test", 5)):
        for i in range(n):
            rows.append(
                {
                    "video_id": f"{split}{i}",
                    "video_path": f"Videos/P{split}{i}/q {i}.mp4",
                    "split": split,
                    "label": i % 2,
                    "participant": f"P{split}{i}",
                    "list_order": (n - 1 - i),  # list order differs from id order
                }
            )
    return complete_manifest(rows)


def predictions_for(manifest, correct_on):
    ids = list(manifest["video_id"])
    labels = manifest["label"].astype(int).to_numpy()
    proba = np.zeros((len(ids), 2), np.float32)
    for i, video_id in enumerate(ids):
        right = correct_on(video_id)
        guess = labels[i] if right else 1 - labels[i]
        proba[i, guess] = 0.8
        proba[i, 1 - guess] = 0.2
    available = np.array([not v.startswith("test4") for v in ids])
    return predictions_frame(ids, list(manifest["split"]), proba, available, ["model"] * len(ids))


def test_evaluate_reports_val_and_test_separately_with_intervals(tmp_path):
    manifest = manifest_frame()
    frame = predictions_for(manifest, lambda v: v.startswith("val"))
    path = tmp_path / "p.parquet"
    write_predictions(frame, path)
    metrics = evaluate(read_predictions(path), manifest)
    assert metrics["val_mf1"] == pytest.approx(1.0)
    assert metrics["test_mf1"] == pytest.approx(0.0)
    assert metrics["average_mf1"] == pytest.approx(0.5)
    assert metrics["test"]["n"] == 5 and metrics["test"]["coverage"] == pytest.approx(0.8)
    assert metrics["test"]["participants"] == 5
    # 4 validation videos: a resample holding one class only scores 0.5 even when perfect
    assert metrics["val"]["low"] == 0.5 and metrics["val"]["high"] == 1.0
    assert metrics["bootstrap"] == {
        "resamples": 2000,
        "seed": 0,
        "level": 0.95,
        "by": "participant",
    }
    assert metrics["cv"] is None  # split selection
    write_metrics(metrics, tmp_path / "m.json")
    assert read_metrics(tmp_path / "m.json")["test"]["confusion"] == [[0, 3], [2, 0]]


def test_unlabelled_splits_get_no_numbers_not_zeros():
    manifest = manifest_frame()
    predictions = predictions_for(manifest, lambda v: True)
    manifest.loc[manifest["split"] == "test", "label"] = pd.NA
    metrics = evaluate(predictions, manifest)
    assert metrics["test"]["mf1"] is None and metrics["test"]["low"] is None
    assert metrics["test_mf1"] is None and metrics["average_mf1"] is None


def test_cv_metrics_are_the_folds_mean_and_interval():
    manifest = manifest_frame()
    frame = predictions_for(manifest, lambda v: not v.endswith("1"))
    pool = frame["split"].isin(["train", "val"])
    frame.loc[pool, "fold"] = np.arange(int(pool.sum()), dtype=np.int16) % 2
    metrics = evaluate(frame, manifest, EvaluationSettings(selection="cv", folds=2))
    cv = metrics["cv"]
    assert len(cv["folds"]) == 2 and cv["mf1"] == pytest.approx(np.mean(cv["folds"]))
    assert cv["low"] <= cv["mf1"] <= cv["high"] and metrics["cv_mf1"] == cv["mf1"]


def _write_systems(tmp_path, manifest):
    """Three unimodal models and a two-seed fusion with its ensemble, as table_rows describes them."""
    truth = manifest.set_index("video_id")["label"]
    rng = np.random.default_rng(0)

    def system(name, accuracy_val, accuracy_test):
        def right(video_id):
            split = (
                "val"
                if video_id.startswith("val")
                else "test"
                if video_id.startswith("test")
                else "train"
            )
            rate = {"val": accuracy_val, "test": accuracy_test, "train": 0.5}[split]
            return rng.random() < rate

        path = tmp_path / f"{name}.parquet"
        write_predictions(predictions_for(manifest, right), path)
        return str(path)

    paths = {
        "face": system("face", 0.9, 0.55),  # best on val, weak on test: selection must not peek
        "text": system("text", 0.6, 0.95),
        "seed1": system("seed1", 0.95, 0.9),
        "seed2": system("seed2", 0.95, 0.85),
        "ensemble": system("ensemble", 0.95, 0.95),
    }
    assert truth.notna().all()
    rows = [
        {"id": 1, "system": "Face", "kind": "unimodal", "modality": "face", "models": "face", "predictions": paths["face"]},
        {"id": 2, "system": "Text", "kind": "unimodal", "modality": "text", "models": "text", "predictions": paths["text"]},
        {"id": 3, "system": "Fusion (seed 1)", "kind": "fusion", "modality": "face+text", "models": "1, 2",
         "predictions": paths["seed1"], "run": "fusion"},
        {"id": 4, "system": "Fusion ensemble", "kind": "ensemble", "modality": "face+text", "models": "1, 2",
         "predictions": paths["ensemble"], "run": "fusion", "seeds": [paths["seed1"], paths["seed2"]]},
    ]  # fmt: skip
    return rows


def test_table_has_intervals_seed_spread_and_paired_comparisons(tmp_path):
    manifest = big_manifest()
    rows = _write_systems(tmp_path, manifest)
    table = results_table(
        rows, manifest, tmp_path / "table.csv", reference="fusion", out_json=tmp_path / "t.json"
    )
    assert list(table.columns) == TABLE_COLUMNS
    written = pd.read_csv(tmp_path / "table.csv")
    assert list(written.columns) == TABLE_COLUMNS and len(written) == 4
    for _, row in written.iterrows():
        for split in ("val", "test"):
            assert row[f"{split}_low"] <= row[f"{split}_mf1"] <= row[f"{split}_high"]
    ensemble = written.set_index("id").loc[4]
    assert ensemble["seeds_test_mean"] > 0 and ensemble["seeds_test_std"] >= 0
    assert np.isnan(
        written.set_index("id").loc[1, "seeds_test_mean"]
    )  # a unimodal row has no seeds
    # the best unimodal model is chosen on validation (Face), never on test (where Text wins)
    summary = json.loads((tmp_path / "t.json").read_text())
    assert summary["best_unimodal"] == "Face" and summary["reference"] == "Fusion ensemble"
    fusion = written.set_index("id").loc[3]
    assert (
        fusion["vs_best_unimodal_low"]
        <= fusion["vs_best_unimodal"]
        <= fusion["vs_best_unimodal_high"]
    )
    assert 0 <= fusion["vs_best_unimodal_p"] <= 1
    assert np.isnan(ensemble["vs_reference"])  # the reference is not compared with itself
    assert any(
        s.startswith("Fusion ensemble vs the best unimodal model (Face)")
        for s in summary["comparisons"]
    )
    assert all(
        s.endswith(("significantly better", "significantly worse", "not significantly different"))
        for s in summary["comparisons"]
    )
    # the probabilities are scored too, with intervals: AUROC as sklearn computes it on test
    from sklearn.metrics import roc_auc_score

    face = read_predictions(rows[0]["predictions"]).merge(manifest[["video_id", "label"]])
    face = face[face["split"] == "test"]
    auroc = 100 * roc_auc_score(face["label"].astype(int), face["proba_1"])
    row = written.set_index("id").loc[1]
    assert row["test_auroc"] == pytest.approx(auroc, abs=0.01)
    for name in ("auroc", "ap", "brier", "ece", "brier_calibrated", "ece_calibrated"):
        assert (written[f"test_{name}_low"] <= written[f"test_{name}"]).all(), name
        assert (written[f"test_{name}"] <= written[f"test_{name}_high"]).all(), name
    # and the submitted run's calibration before and after, with the paired change
    calibration = summary["calibration"]
    assert calibration["map"]["fitted"]["rows"] == "validation"
    assert calibration["ece"]["before"] == written.set_index("id").loc[4, "test_ece"]
    low, high = calibration["ece"]["change_interval"]
    assert low <= calibration["ece"]["change"] <= high


def test_table_without_test_labels_leaves_test_columns_empty(tmp_path):
    manifest = big_manifest()
    rows = _write_systems(tmp_path, manifest)
    manifest.loc[manifest["split"] == "test", "label"] = pd.NA
    results_table(rows, manifest, tmp_path / "table.csv", reference="fusion")
    written = pd.read_csv(tmp_path / "table.csv")
    assert written["test_mf1"].isna().all() and written["vs_best_unimodal"].isna().all()
    assert written["test_auroc"].isna().all() and written["test_ece_calibrated"].isna().all()
    assert written["val_mf1"].notna().all()


def test_ceiling_and_recovered_share(tmp_path):
    manifest = big_manifest()
    rows = _write_systems(tmp_path, manifest)
    ordered = manifest.sort_values("video_id")
    perfect = ordered["label"].astype(int).to_numpy()
    seen = []

    def ceiling(modalities):
        seen.append(tuple(modalities))
        return perfect  # the planted cues give the label away: a ceiling of 100

    table = results_table(rows, manifest, tmp_path / "table.csv", ceiling=ceiling)
    assert (table["ceiling_test"] == 100.0).all()
    assert table["recovered_test"].tolist() == [round(v, 1) for v in table["test_mf1"]]
    assert ("face", "text") in seen and ("face",) in seen


def test_select_run_reads_no_test_label(tmp_path):
    manifest = big_manifest()
    labels = training_labels(manifest)
    labels.to_parquet(tmp_path / "labels.parquet", index=False)
    rows = _write_systems(tmp_path, manifest)
    candidates = {"weak_val": rows[1]["predictions"], "strong_val": rows[0]["predictions"]}
    chosen = select_run(candidates, tmp_path / "labels.parquet", tmp_path / "s.json", "auto")
    assert chosen == "strong_val"  # Face: best on validation, though worse on test
    record = json.loads((tmp_path / "s.json").read_text())
    assert record["score"] == "validation MF1" and set(record["scores"]) == set(candidates)
    assert (
        select_run(candidates, tmp_path / "labels.parquet", tmp_path / "s.json", "weak_val")
        == "weak_val"
    )
    assert select_run(candidates, tmp_path / "labels.parquet", tmp_path / "s.json", None) is None
    with pytest.raises(ValueError, match="fusion.submission is not set"):
        submitted_predictions(candidates, tmp_path / "s.json")


def big_manifest():
    """40 val and 60 test videos from 20 and 30 participants (two videos each)."""
    rows = []
    for split, n in (("train", 20), ("val", 40), ("test", 60)):
        for i in range(n):
            rows.append(
                {
                    "video_id": f"{split}{i:03d}",
                    "video_path": f"Videos/P{split}{i // 2}/q {i}.mp4",
                    "split": split,
                    "label": (i // 2) % 2 if i % 4 else i % 2,
                    "participant": f"P{split}{i // 2}",
                    "list_order": i,
                }
            )
    return complete_manifest(rows)


def test_submission_has_one_row_per_listed_video_in_list_order(tmp_path):
    manifest = manifest_frame()
    write_manifest(manifest, tmp_path / "manifest.parquet")
    predictions = predictions_for(manifest, lambda v: True)
    write_predictions(predictions, tmp_path / "p.parquet")
    table = submission(
        tmp_path / "p.parquet", tmp_path / "manifest.parquet", "test", tmp_path / "s.csv"
    )
    test = manifest[manifest["split"] == "test"].sort_values("list_order")
    assert list(table["video_path"]) == list(test["video_path"])  # the list's order and paths
    # the workflow's own format keeps the raw P(A/H) beside the (here uncalibrated) one
    assert list(table.columns) == [
        "video_path",
        "label",
        "prob_no_ah",
        "prob_ah",
        "prob_ah_uncalibrated",
    ]
    assert (table["prob_ah"] == table["prob_ah_uncalibrated"]).all()
    assert list(table["label"]) == list(test["label"].astype(int))
    assert np.allclose(table["prob_no_ah"] + table["prob_ah"], 1.0)
    submission(
        tmp_path / "p.parquet",
        tmp_path / "manifest.parquet",
        "test",
        tmp_path / "h.csv",
        header=False,
    )
    lines = (tmp_path / "h.csv").read_text().splitlines()
    assert len(lines) == 5 and not lines[0].startswith("video_path")
    write_predictions(predictions[predictions["video_id"] != "test2"], tmp_path / "q.parquet")
    with pytest.raises(ValueError, match="have no prediction"):
        submission(
            tmp_path / "q.parquet", tmp_path / "manifest.parquet", "test", tmp_path / "x.csv"
        )
    with pytest.raises(ValueError, match="no 'hidden' videos"):
        submission(
            tmp_path / "p.parquet", tmp_path / "manifest.parquet", "hidden", tmp_path / "x.csv"
        )


def test_table_rows_follow_the_configuration_in_the_papers_order():
    settings = load_settings(load_config(REPO / "config.yaml"))
    rows = table_rows(settings, "out")
    unimodal = [r for r in rows if r["kind"] == "unimodal"]
    assert [r["models"] for r in unimodal] == list(settings.unimodal)
    assert [r["id"] for r in rows] == list(range(1, len(rows) + 1))
    by_system = {r["system"]: r for r in rows}
    proto = by_system[
        "Fusion with prototype head, face + scene + audio + text (MiniLM), ensemble of 5 seeds"
    ]
    assert proto["kind"] == "ensemble" and proto["run"] == "fusion_proto"
    assert proto["metrics"] == "out/fusion/fusion_proto/ensemble/metrics.json"
    assert proto["models"] == "1, 2, 3, 6"  # the table ids of its unimodal models
    seed = by_system["Fusion with prototype head, face + scene + audio + text (MiniLM) (seed 42)"]
    assert seed["kind"] == "fusion" and seed["predictions"].endswith(
        "fusion_proto/seed42/predictions.parquet"
    )
    # single-seed runs over fewer modalities than the widest fusion are ablations
    ablations = [r for r in rows if r["kind"] == "ablation"]
    assert len(ablations) == 10 and all(r["system"].startswith("Ablation") for r in ablations)
    tfidf = by_system["Fusion, face + scene + audio + text (TF-IDF + LR) (seed 42)"]
    assert tfidf["kind"] == "fusion"  # four modalities, one seed: not an ablation
    runs = ensemble_runs(settings, "out")
    assert [r["run"] for r in runs] == ["fusion", "fusion_proto", "fusion_proto_tuned"]
    assert runs[0]["seeds"][2025] == "out/fusion/fusion/seed2025/predictions.parquet"
