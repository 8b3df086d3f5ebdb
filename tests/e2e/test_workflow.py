"""The whole DAG, end to end, through the Snakemake CLI, on a tiny demo corpus.

Two runs share one generated corpus: the offline default configuration (what
a fresh clone runs) and the paper's architectures (VideoMAE, EfficientNet-B0,
YOLOv8, wav2vec2, DistilRoBERTa, Whisper) as tiny randomly initialised models
loaded through the real loaders.
"""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

from ahrec.corpus.manifest import read_manifest
from ahrec.embeddings.table import read_embeddings
from tests.e2e.workflow import snakemake, write_config

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

DEFAULT_TABLES = {
    "scene/motion": None,
    "face/hog": 2 * 1764,
    "audio/egemaps": 25,
    "text/minilm": 384,
    "text/tfidf": None,
}


@pytest.fixture(scope="module")
def default_run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("default-run")
    write_config(workdir, {})
    result = snakemake(workdir)
    return workdir, result


def test_default_run_builds_manifest_and_every_table(default_run):
    workdir, _ = default_run
    results = workdir / "results"
    manifest = read_manifest(results / "manifest.parquet")
    assert len(manifest) == 6
    assert manifest.groupby("split")["participant"].nunique().to_dict() == {
        "test": 2,
        "train": 2,
        "val": 2,
    }
    assert manifest["readable"].all() and manifest["has_audio"].all()
    assert manifest["duration"].between(2.9, 10.5).all()
    assert set(manifest["shard"]) <= {0, 1}
    ids = set(manifest["video_id"])
    for name, dim in DEFAULT_TABLES.items():
        table = read_embeddings(results / "embeddings" / f"{name}.parquet")
        assert set(table.video_ids) == ids, name
        assert len(table.video_ids) == len(ids), name
        if dim is not None:
            assert table.dim == dim, name
        assert table.available.all(), (name, table.reasons)
    audio = read_embeddings(results / "embeddings/audio/egemaps.parquet", with_sequences=True)
    assert all(len(s) > 200 for s in audio.sequences)  # 10 ms steps over 3-4 s of speech


def test_faces_are_found_and_transcripts_are_completed(default_run):
    workdir, _ = default_run
    results = workdir / "results"
    detection = pd.read_parquet(results / "faces/detection.parquet")
    assert len(detection) == 6 and (detection["n_frames"] == 30).all()
    assert detection["n_detected"].sum() / detection["n_frames"].sum() > 0.7
    transcripts = pd.read_parquet(results / "transcripts.parquet")
    assert transcripts["transcript"].notna().all()
    sources = transcripts["source"].value_counts().to_dict()
    assert sources.get("asr:pocketsphinx") == 1  # the one test video listed without transcript


def test_logs_and_benchmarks_per_rule(default_run):
    workdir, _ = default_run
    results = workdir / "results"
    for rule in ("frames", "audio", "faces", "transcripts", "embed_scene", "embed_audio"):
        assert list((results / "logs" / rule).rglob("*.log")), rule
        assert list((results / "benchmarks" / rule).rglob("*.tsv")), rule
    log = (results / "logs" / "manifest.log").read_text()
    assert "6 videos, 6 participants" in log


def test_untouched_rerun_does_nothing(default_run):
    workdir, _ = default_run
    result = snakemake(workdir, "--dry-run", "--quiet", "rules")
    assert "Nothing to be done" in result.stdout + result.stderr or not result.stdout.strip()


@pytest.fixture(scope="module")
def paper_run(default_run, tmp_path_factory):
    """The paper's architectures as tiny models, on the corpus the default run generated."""
    from tests import tiny_models

    corpus_dir = default_run[0] / "results" / "demo_corpus"
    workdir = tmp_path_factory.mktemp("paper-run")
    models = workdir / "models"
    shutil.copytree(corpus_dir, workdir / "corpus")
    write_config(
        workdir,
        {
            "corpus": {"type": "bah", "root": str(workdir / "corpus")},
            "scene": {"n_frames": 4, "short_side": 40},
            "face": {
                "n_frames": 6,
                "crop_size": 64,
                "detector": {
                    "kind": "yolo",
                    "checkpoint": str(tiny_models.tiny_yolov8(models)),
                    "imgsz": 160,
                },
            },
            "transcripts": {
                "asr": {"kind": "whisper", "model": str(tiny_models.tiny_whisper(models))}
            },
            "embeddings": {
                "scene": {
                    "videomae": {
                        "kind": "videomae",
                        "model": str(tiny_models.tiny_videomae(models)),
                    }
                },
                "face": {
                    "effnet": {
                        "kind": "timm",
                        "model": str(tiny_models.tiny_efficientnet_b0(models)),
                        "batch_size": 16,
                    }
                },
                "audio": {
                    "wav2vec2": {
                        "kind": "wav2vec2",
                        "model": str(tiny_models.tiny_wav2vec2(models)),
                        "layer": 1,
                    }
                },
                "text": {
                    "distilroberta": {
                        "kind": "transformer",
                        "model": str(tiny_models.tiny_distilroberta(models)),
                        "pooling": "cls",
                    }
                },
            },
        },
    )
    snakemake(workdir)
    return workdir


def test_paper_architectures_run_through_the_same_rules(paper_run):
    results = paper_run / "results"
    manifest = read_manifest(results / "manifest.parquet")
    ids = set(manifest["video_id"])
    expected = {
        "scene/videomae": 32,
        "face/effnet": 2 * 1280,
        "audio/wav2vec2": 32,
        "text/distilroberta": 32,
    }
    for name, dim in expected.items():
        table = read_embeddings(results / "embeddings" / f"{name}.parquet")
        assert set(table.video_ids) == ids and table.dim == dim, name
        assert table.available.all(), (name, table.reasons)
        assert table.meta["kind"] in {"videomae", "timm", "wav2vec2", "transformer"}
    audio = read_embeddings(results / "embeddings/audio/wav2vec2.parquet", with_sequences=True)
    assert all(s.shape[1] == 32 and len(s) > 100 for s in audio.sequences)  # 50 steps per second
    detection = pd.read_parquet(results / "faces/detection.parquet")
    assert (detection["n_frames"] == 6).all()  # every frame cropped (face or whole-frame fallback)
    transcripts = pd.read_parquet(results / "transcripts.parquet")
    asr = transcripts[transcripts["source"].fillna("").str.startswith("asr")]
    # random Whisper weights: whatever it says, the row is there and labelled as ASR
    assert len(transcripts) == 6 and (asr["source"] == "asr:whisper").all()
