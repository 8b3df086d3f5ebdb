"""The whole DAG, end to end, through the Snakemake CLI, on a tiny demo corpus.

Runs share one generated corpus: the offline default configuration (what a
fresh clone runs, with small models), ``presets/paper.yaml`` itself with its
architectures (VideoMAE, EfficientNet-B0, YOLOv8, wav2vec2, DistilRoBERTa,
Whisper) as tiny randomly initialised models loaded through the real loaders,
and a rerun with the test labels flipped, which must not change a single
prediction.
"""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest
import yaml

from ahrec.config import load_settings
from ahrec.corpus.bah import parse_split_line, read_text_lines
from ahrec.corpus.manifest import read_manifest
from ahrec.embeddings.table import read_embeddings
from ahrec.evaluation.evaluate import read_metrics
from ahrec.evaluation.table import TABLE_COLUMNS
from tests.e2e.workflow import (
    LEAN_RUNS,
    PAPER_PRESET,
    copy_run,
    executed_jobs,
    paper_config,
    snakemake,
    write_config,
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
UNIMODAL = [
    "face_mlp",
    "scene_linear",
    "audio_mamba",
    "text_tfidf_lr",
    "text_tfidf_catboost",
    "text_minilm",
]


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
    assert len(table) == len(UNIMODAL) + 15 + 3
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
    assert list(submission.columns) == ["video_path", "label", "prob_no_ah", "prob_ah"]
    assert submission["label"].isin([0, 1]).all()
    assert ((submission["prob_no_ah"] + submission["prob_ah"]).round(4) == 1).all()


def test_logs_and_benchmarks_per_rule(default_run):
    results = default_run / "results"
    rules = ("scene_frames", "face_frames", "audio", "faces", "transcripts", "embed_scene")
    for rule in (*rules, "unimodal", "fusion"):
        assert list((results / "logs" / rule).rglob("*.log")), rule
        assert list((results / "benchmarks" / rule).rglob("*.tsv")), rule
    log = (results / "logs" / "manifest.log").read_text()
    assert f"{N_VIDEOS} videos, {N_VIDEOS} participants" in log


def test_untouched_rerun_does_nothing(default_run):
    result = snakemake(default_run, "--dry-run")
    assert "Nothing to be done" in result.stdout + result.stderr


@pytest.fixture(scope="module")
def paper_run(default_run, tmp_path_factory):
    """presets/paper.yaml with tiny models of its architectures, on a copy of the default corpus."""
    from ahrec.devtools import tiny_models

    workdir = tmp_path_factory.mktemp("paper-run")
    folder = workdir / "models"
    shutil.copytree(default_run / "results" / "demo_corpus", workdir / "corpus")
    models = {
        "videomae": tiny_models.tiny_videomae(folder),
        "effnet": tiny_models.tiny_efficientnet_b0(folder),
        "wav2vec2": tiny_models.tiny_wav2vec2(folder),
        "distilroberta": tiny_models.tiny_distilroberta(folder),
        "yolo": tiny_models.tiny_yolov8(folder),
        "whisper": tiny_models.tiny_whisper(folder),
    }
    config = paper_config(workdir / "corpus", {k: str(v) for k, v in models.items()})
    (workdir / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    snakemake(workdir)
    return workdir


def test_the_paper_preset_runs_through_every_rule(paper_run):
    results = paper_run / "results"
    preset = yaml.safe_load(PAPER_PRESET.read_text())
    manifest = read_manifest(results / "manifest.parquet")
    ids = set(manifest["video_id"])
    expected = {
        "scene/videomae": 32,
        "face/effnet": 2 * 1280,
        "audio/wav2vec2": 32,
        "text/distilroberta": 32,
        "text/emotion_text": 32,
    }
    for name, dim in expected.items():
        table = read_embeddings(results / "embeddings" / f"{name}.parquet")
        assert set(table.video_ids) == ids and table.dim == dim, name
        assert table.available.all(), (name, table.reasons)
    assert not (results / "embeddings/face/hog.parquet").exists()  # config replaced, not extended
    audio = read_embeddings(results / "embeddings/audio/wav2vec2.parquet", with_sequences=True)
    assert all(s.shape[1] == 32 and len(s) > 100 for s in audio.sequences)  # 50 steps per second
    detection = pd.read_parquet(results / "faces/detection.parquet")
    assert (detection["n_frames"] == 6).all()  # every frame cropped (face or whole-frame fallback)
    transcripts = pd.read_parquet(results / "transcripts.parquet")
    asr = transcripts[transcripts["source"].fillna("").str.startswith("asr")]
    # random Whisper weights: whatever it says, the row is there and labelled as ASR
    assert len(transcripts) == N_VIDEOS and (asr["source"] == "asr:whisper").all()
    dims = {
        "face_mlp": 256,
        "scene_videomae": 32,
        "audio_mamba": 16,
        "text_distilroberta": 128,
        "text_emotion_classifier": 128,
    }
    assert set(preset["unimodal"]) == set(dims) | {"text_tfidf_lr", "text_tfidf_catboost"}
    for model, dim in dims.items():
        embeddings = read_embeddings(results / "unimodal" / model / "embeddings.parquet")
        assert embeddings.dim == dim and set(embeddings.video_ids) == ids, model
    for model in ("text_tfidf_lr", "text_tfidf_catboost"):  # the authors' input: the vector
        embeddings = read_embeddings(results / "unimodal" / model / "embeddings.parquet")
        assert embeddings.dim > 1 and embeddings.available.all(), model
    mamba_log = "".join(p.read_text() for p in (results / "logs").rglob("*audio_mamba*.log"))
    assert "Mamba blocks run the mambapy parallel scan" in mamba_log
    table = pd.read_csv(results / "table.csv")
    runs = load_settings(preset).config["fusion"]["runs"]  # the paper's table and the preset's own
    assert {"fusion", "fusion_proto", "ablation_face_audio", "fusion_proto_tuned"} <= set(runs)
    for run in runs:
        assert (results / "fusion" / run).is_dir(), run
    assert len(table) >= len(preset["unimodal"]) + len(runs)
    assert (
        "multivariate" in (results / "logs").joinpath("search", "proto.log").read_text()
        or (results / "search/proto/best.yaml").is_file()
    )
    submission = pd.read_csv(results / "submission.csv")
    assert len(submission) == (manifest["split"] == "test").sum()


def test_flipping_test_labels_changes_no_prediction(default_run, tmp_path):
    """Test labels reach only the metrics step: flip them all, rerun, compare every prediction.

    The rerun uses --cores 8 where the first used 2: the same predictions also show that
    the number of cores changes no result (every job keeps the threads its rule declares).
    """
    workdir = copy_run(default_run, tmp_path / "flipped")
    results = workdir / "results"
    prediction_files = sorted(results.glob("unimodal/*/predictions.parquet")) + sorted(
        results.glob("fusion/*/*/predictions.parquet")
    )
    before = {p: pd.read_parquet(p) for p in prediction_files}
    metrics_path = results / "unimodal/face_mlp/metrics.json"
    metrics_before, evaluated_at = read_metrics(metrics_path), metrics_path.stat().st_mtime
    labels_before = read_manifest(results / "manifest.parquet").set_index("video_id")["label"]
    test_list = results / "demo_corpus/test.txt"
    flipped = []
    for line in read_text_lines(test_list):
        path, label, transcript = parse_split_line(line)
        flipped.append(f"{path},{1 - int(label)},{transcript}")
    test_list.write_text("\n".join(flipped) + "\n")
    snakemake(workdir, cores=8)
    for path, frame in before.items():
        pd.testing.assert_frame_equal(pd.read_parquet(path), frame, check_exact=True, obj=str(path))
    labels_after = read_manifest(results / "manifest.parquet").set_index("video_id")["label"]
    changed = labels_before != labels_after.loc[labels_before.index]
    assert changed.sum() == 2  # both test labels flipped, and only they
    assert metrics_path.stat().st_mtime > evaluated_at  # the metrics step saw the new labels
    assert read_metrics(metrics_path)["val_mf1"] == metrics_before["val_mf1"]


@pytest.fixture(scope="module")
def cv_run(default_run, tmp_path_factory):
    """Cross-validated selection on the same corpus, the submitted run chosen by CV MF1.

    A copy of the default run with the selection switched to CV: its media and
    embeddings stay (selection reaches neither), every unimodal model and the lean
    runs' fusion models and search are trained again, from empty folders.
    """
    workdir = copy_run(default_run, tmp_path_factory.mktemp("cv-run") / "run")
    for trained in ("unimodal", "fusion", "search"):
        shutil.rmtree(workdir / "results" / trained)
    write_config(
        workdir,
        {"evaluation": {"selection": "cv", "folds": 2}, "fusion": {"submission": "auto"}},
        runs=LEAN_RUNS,
    )
    result = snakemake(workdir)
    jobs = executed_jobs(result.stdout + result.stderr)
    assert jobs.get("unimodal") == len(UNIMODAL) and "faces" not in jobs and "audio" not in jobs
    return workdir


def test_cross_validated_selection_refits_and_reports_cv_mf1(cv_run):
    results = cv_run / "results"
    for model in UNIMODAL:
        predictions = pd.read_parquet(results / "unimodal" / model / "predictions.parquet")
        pool = predictions[predictions["split"].isin(["train", "val"])]
        assert (pool["source"] == "oof").all() and set(pool["fold"]) == {0, 1}, model
        selection = json.loads((results / "unimodal" / model / "selection.json").read_text())
        assert selection["selection"] == "cv" and selection["full"]["n_val"] == 0, model
    table = pd.read_csv(results / "table.csv")
    assert table["cv_mf1"].notna().all() and (table["cv_low"] <= table["cv_high"]).all()
    chosen = json.loads((results / "selected_run.json").read_text())
    assert chosen["score"] == "cv MF1" and chosen["rule"] == "best selection score"
    assert chosen["run"] == max(chosen["scores"], key=lambda run: chosen["scores"][run] or -1)
    assert "mean CV MF1 over seeds and folds" in (results / "search/proto/best.yaml").read_text()
    assert len(pd.read_csv(results / "submission.csv")) == 2


def test_flipping_test_labels_changes_no_prediction_under_cv(cv_run, tmp_path):
    """Cross-validation pools train and val, never test: flipping test labels changes nothing."""
    workdir = copy_run(cv_run, tmp_path / "flipped-cv")
    results = workdir / "results"
    files = sorted(results.glob("unimodal/*/predictions.parquet")) + sorted(
        results.glob("fusion/*/*/predictions.parquet")
    )
    before = {p: pd.read_parquet(p) for p in files}
    chosen = (results / "selected_run.json").read_text()
    test_list = results / "demo_corpus/test.txt"
    flipped = []
    for line in read_text_lines(test_list):
        path, label, transcript = parse_split_line(line)
        flipped.append(f"{path},{1 - int(label)},{transcript}")
    test_list.write_text("\n".join(flipped) + "\n")
    snakemake(workdir)
    for path, frame in before.items():
        pd.testing.assert_frame_equal(pd.read_parquet(path), frame, check_exact=True, obj=str(path))
    assert (results / "selected_run.json").read_text() == chosen
