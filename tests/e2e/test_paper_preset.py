"""``presets/paper.yaml`` itself, end to end, on a tiny demo corpus.

The preset's architectures (VideoMAE, EfficientNet-B0, YOLOv8, wav2vec2,
DistilRoBERTa, Whisper) are tiny randomly initialised models loaded through the
real loaders; every rule, unimodal model, fusion run (one seed: the default run
checks ensembles of seeds) and the search of the preset run.
"""

from __future__ import annotations

import pandas as pd
import pytest
import yaml

from ahrec.config import load_settings
from ahrec.corpus.manifest import read_manifest
from ahrec.demo import generate_demo_corpus
from ahrec.embeddings.table import read_embeddings
from tests.e2e.workflow import PAPER_PRESET, TEST_CONFIG, paper_config, snakemake, whole_config

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

N_VIDEOS = 8


@pytest.fixture(scope="module")
def paper_run(tmp_path_factory):
    """presets/paper.yaml with tiny models of its architectures, on the test configuration's
    demo corpus (generated here: the run needs no other test's, so it can start first)."""
    from ahrec.devtools import tiny_models

    workdir = tmp_path_factory.mktemp("paper-run")
    folder = workdir / "models"
    corpus = load_settings(whole_config(TEST_CONFIG)).corpus
    generate_demo_corpus(workdir / "corpus", corpus, workers=2, progress=False)
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
