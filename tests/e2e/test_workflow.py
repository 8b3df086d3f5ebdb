"""The whole DAG, end to end, through the Snakemake CLI, on a tiny demo corpus.

The offline default configuration (what a fresh clone runs, with small models)
from the corpus to the submission, and a rerun of it with the test labels
flipped, which must not change a single prediction. The paper preset's run is
in test_paper_preset.py, cross-validated selection in test_cross_validation.py.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from ahrec.corpus.bah import parse_split_line, read_text_lines
from ahrec.corpus.manifest import read_manifest
from ahrec.embeddings.table import read_embeddings
from ahrec.evaluation.evaluate import read_metrics
from ahrec.evaluation.table import TABLE_COLUMNS
from tests.e2e.workflow import (
    ENSEMBLE_RUNS,
    UNIMODAL,
    flip_test_labels,
    lean_copy,
    prediction_files,
    snakemake,
)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

N_VIDEOS = 8
DEFAULT_TABLES = {
    "scene/motion": 98,
    "face/hog": 2 * 1764,
    "audio/egemaps": 25,
    "text/minilm": 384,
    "text/tfidf": None,
}


def test_default_run_builds_manifest_and_every_table(default_run):
    results = default_run / "results"
    manifest = read_manifest(results / "manifest.parquet")
    assert len(manifest) == N_VIDEOS
    assert manifest.groupby("split")["participant"].nunique().to_dict() == {
        "test": 2,
        "train": 4,
        "val": 2,
    }
    assert manifest["readable"].all() and manifest["has_audio"].all()
    assert manifest["duration"].between(2.9, 10.5).all()
    assert set(manifest["shard"]) <= {0, 1}
    ids = set(manifest["video_id"])
    for name, dim in DEFAULT_TABLES.items():
        table = read_embeddings(results / "embeddings" / f"{name}.parquet")
        assert set(table.video_ids) == ids and len(table.video_ids) == len(ids), name
        if dim is not None:
            assert table.dim == dim, name
        assert table.available.all(), (name, table.reasons)
    audio = read_embeddings(results / "embeddings/audio/egemaps.parquet", with_sequences=True)
    assert all(len(s) > 200 for s in audio.sequences)  # 10 ms steps over 3-10 s of speech


def test_faces_are_found_and_transcripts_are_completed(default_run):
    results = default_run / "results"
    detection = pd.read_parquet(results / "faces/detection.parquet")
    assert len(detection) == N_VIDEOS and (detection["n_frames"] == 30).all()
    assert detection["n_detected"].sum() / detection["n_frames"].sum() > 0.7
    transcripts = pd.read_parquet(results / "transcripts.parquet")
    assert transcripts["transcript"].notna().all()
    sources = transcripts["source"].value_counts().to_dict()
    assert sources.get("asr:pocketsphinx") == 1  # the one test video listed without transcript


def test_every_model_predicts_every_video_and_the_table_lists_them(default_run):
    results = default_run / "results"
    ids = set(read_manifest(results / "manifest.parquet")["video_id"])
    for model in UNIMODAL:
        folder = results / "unimodal" / model
        predictions = pd.read_parquet(folder / "predictions.parquet")
        assert set(predictions["video_id"]) == ids, model
        train = predictions[predictions["split"] == "train"]
        assert (train["source"] == "oof").all(), model  # the fusion never sees in-sample embeddings
        embeddings = read_embeddings(folder / "embeddings.parquet")
        assert set(embeddings.video_ids) == ids and embeddings.available.all(), model
        metrics = read_metrics(folder / "metrics.json")
        assert 0 <= metrics["val_mf1"] <= 1 and 0 <= metrics["test_mf1"] <= 1, model
        assert (folder / "model").is_dir() and any((folder / "model").iterdir())
    table = pd.read_csv(results / "table.csv")
    assert list(table.columns) == TABLE_COLUMNS
    assert table["system"].str.contains("ensemble of 2 seeds").sum() == 3  # fusion, proto, tuned
    assert len(table) == len(UNIMODAL) + 15 + 3 + 2  # + the late fusions (logreg, mean)
    assert table["val_mf1"].between(0, 100).all() and table["test_mf1"].between(0, 100).all()
    for split in ("val", "test"):  # every number with its interval
        assert (table[f"{split}_low"] <= table[f"{split}_mf1"]).all()
        assert (table[f"{split}_mf1"] <= table[f"{split}_high"]).all()
    ensembles = table[table["kind"] == "ensemble"]
    assert ensembles["seeds_test_std"].notna().all()
    fused = table[table["kind"] != "unimodal"]
    assert fused["vs_best_unimodal_p"].between(0, 1).all()
    comparisons = json.loads((results / "table.json").read_text())
    assert (
        comparisons["reference"].startswith("Fusion with prototype head")
        and comparisons["comparisons"]
    )
    assert json.loads((results / "selected_run.json").read_text())["run"] == "fusion_proto"
    best = (results / "search/proto/best.yaml").read_text()
    assert "mean validation MF1" in best


def test_submission_has_one_row_per_test_video_in_list_order(default_run):
    results = default_run / "results"
    listed = [
        parse_split_line(line)[0]
        for line in read_text_lines(results / "demo_corpus/test.txt")
        if line.strip()
    ]
    submission = pd.read_csv(results / "submission.csv")
    assert list(submission["video_path"]) == listed
    assert list(submission.columns) == [
        "video_path",
        "label",
        "prob_no_ah",
        "prob_ah",
        "prob_ah_uncalibrated",
    ]
    assert submission["label"].isin([0, 1]).all()
    assert ((submission["prob_no_ah"] + submission["prob_ah"]).round(4) == 1).all()
    # the run's map (temperature: every label kept) made the probabilities calibrated ones
    calibration = json.loads((results / "fusion/fusion_proto/calibration.json").read_text())
    assert calibration["method"] == "temperature" and calibration["threshold"] is None
    assert (submission["label"] == (submission["prob_ah_uncalibrated"] > 0.5)).all()
    explanations = pd.read_csv(results / "explanations.csv")
    assert list(explanations["video_path"]) == listed
    np.testing.assert_allclose(explanations["prob_ah"], submission["prob_ah"], atol=1e-6)
    assert list(explanations["label"]) == list(submission["label"])


def test_logs_and_benchmarks_per_rule(default_run):
    results = default_run / "results"
    rules = ("scene_frames", "face_frames", "audio", "faces", "transcripts", "embed_scene")
    for rule in (*rules, "unimodal", "fusion"):
        assert list((results / "logs" / rule).rglob("*.log")), rule
        assert list((results / "benchmarks" / rule).rglob("*.tsv")), rule
    log = (results / "logs" / "manifest.log").read_text()
    assert f"{N_VIDEOS} videos, {N_VIDEOS} participants" in log


def test_flipping_test_labels_changes_no_prediction(default_run, tmp_path):
    """Test labels reach only the metrics step: flip them all, rerun, compare every prediction.

    The rerun uses --cores 8 where the first used 2: the same predictions also show that
    the number of cores changes no result (every job keeps the threads its rule declares).
    It keeps the runs with seed ensembles (both heads, the search-tuned run) and every
    unimodal model: everything they train is trained again.
    """
    workdir = lean_copy(default_run, tmp_path / "flipped", ENSEMBLE_RUNS)
    results = workdir / "results"
    before = {p: pd.read_parquet(p) for p in prediction_files(results)}
    metrics_path = results / "unimodal/face_mlp/metrics.json"
    metrics_before, evaluated_at = read_metrics(metrics_path), metrics_path.stat().st_mtime
    labels_before = read_manifest(results / "manifest.parquet").set_index("video_id")["label"]
    flip_test_labels(results)
    snakemake(workdir, cores=8)
    for path, frame in before.items():
        pd.testing.assert_frame_equal(pd.read_parquet(path), frame, check_exact=True, obj=str(path))
    labels_after = read_manifest(results / "manifest.parquet").set_index("video_id")["label"]
    changed = labels_before != labels_after.loc[labels_before.index]
    assert changed.sum() == 2  # both test labels flipped, and only they
    assert metrics_path.stat().st_mtime > evaluated_at  # the metrics step saw the new labels
    assert read_metrics(metrics_path)["val_mf1"] == metrics_before["val_mf1"]
