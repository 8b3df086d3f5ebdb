"""The metrics step, the results table and the submission file."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ahrec.config import load_config, load_settings
from ahrec.corpus.manifest import write_manifest
from ahrec.evaluation.evaluate import evaluate, read_metrics, write_metrics
from ahrec.evaluation.submission import submission
from ahrec.evaluation.table import ensemble_runs, results_table, table_rows
from ahrec.training.predictions import predictions_frame, read_predictions, write_predictions
from tests.manifests import manifest_frame as complete_manifest

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


def test_evaluate_reports_val_and_test_separately(tmp_path):
    manifest = manifest_frame()
    frame = predictions_for(manifest, lambda v: v.startswith("val"))
    path = tmp_path / "p.parquet"
    write_predictions(frame, path)
    metrics = evaluate(read_predictions(path), manifest)
    assert metrics["val_mf1"] == pytest.approx(1.0)
    assert metrics["test_mf1"] == pytest.approx(0.0)
    assert metrics["average_mf1"] == pytest.approx(0.5)
    assert metrics["test"]["n"] == 5 and metrics["test"]["coverage"] == pytest.approx(0.8)
    write_metrics(metrics, tmp_path / "m.json")
    assert read_metrics(tmp_path / "m.json")["val"]["confusion"] == [[2, 0], [0, 2]]


def test_table_in_paper_layout(tmp_path):
    manifest = manifest_frame()
    rows = []
    for number, rule in enumerate((lambda v: True, lambda v: v.startswith("val")), start=1):
        metrics = evaluate(predictions_for(manifest, rule), manifest)
        path = tmp_path / f"m{number}.json"
        write_metrics(metrics, path)
        rows.append(
            {
                "id": number,
                "system": f"s{number}",
                "kind": "unimodal",
                "modality": "face",
                "models": "1",
                "metrics": path,
            }
        )
    table = results_table(rows, tmp_path / "table.csv")
    assert list(table.columns) == [
        "id",
        "system",
        "kind",
        "modality",
        "models",
        "val_mf1",
        "test_mf1",
        "average_mf1",
    ]
    assert table.loc[0, "val_mf1"] == 100.0 and table.loc[1, "average_mf1"] == 50.0
    assert pd.read_csv(tmp_path / "table.csv").shape == (2, 8)


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
    assert list(table.columns) == ["video_path", "label", "prob_no_ah", "prob_ah"]
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
