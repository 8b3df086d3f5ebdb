"""Prediction on new videos, end to end: a folder and a CSV list, then the exported
ensemble used from another working directory, as on another machine.

The new videos go through the same media, transcript and embedding rules as
the corpus; a copy of a test video listed with its transcript must get exactly
the prediction the run gave it, and a video without a face or without audio
still gets one, with what it lacked said. Real recordings (a real talking head
with real speech, tests/real/media.py) predicted in three batches of different
composition and order get the same bits in every per-video output.
"""

from __future__ import annotations

import shutil
from pathlib import PurePosixPath

import numpy as np
import pandas as pd
import pytest

from ahrec.corpus.bah import parse_split_line, read_text_lines
from ahrec.corpus.manifest import read_manifest
from ahrec.io import restore
from ahrec.training.predictions import proba_matrix, read_predictions
from tests.e2e.per_video import differences, per_video_outputs
from tests.e2e.workflow import copy_run, edit_config, executed_jobs, snakemake, write_config
from tests.media_factory import make_video
from tests.real.media import path_of, require_real_media

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def _talking_head(video: str, speech: str, out) -> str:
    """A real face (the Carphone sequence) with a real voice: both tracks copied, not re-rendered."""
    import subprocess

    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-i", str(path_of(video)), "-i", str(path_of(speech))]
        + ["-map", "0:v", "-map", "1:a", "-c:v", "copy", "-c:a", "aac", "-shortest", str(out)],
        check=True,
    )
    return out.name


# Real recordings in three compositions: alone, a folder of two, a list (reversed) of three.
REAL_BATCHES = ("alone", "real", "listed")


@pytest.fixture(scope="module")
def predicted(default_run, tmp_path_factory):
    require_real_media()
    workdir = copy_run(default_run, tmp_path_factory.mktemp("predict") / "run")
    corpus = workdir / "results" / "demo_corpus"
    lines = [line for line in read_text_lines(corpus / "test.txt") if line.strip()]
    listed = [parse_split_line(line) for line in lines]
    source, _, transcript = next(entry for entry in listed if entry[2])
    new = workdir / "new videos"
    (new / "ward 2").mkdir(parents=True)
    shutil.copy(corpus / source, new / "ward 2" / "patient 'A'.mp4")
    make_video(new / "no face.mp4", seconds=2.0, face=False, seed=6)
    make_video(new / "-mute.mp4", seconds=2.0, face=True, audio=False, seed=4)
    real = workdir / "real"
    real.mkdir()
    talk = _talking_head("video/carphone.mp4", "speech/librivox-0880.wav", real / "talk.mp4")
    lowq = _talking_head("video/carphone_lowq.mp4", "speech/goforward.wav", real / "lowq.mp4")
    shutil.copy(path_of("speech/librivox-0890.wav"), real / "reading.wav")  # audio only
    (workdir / "listed.csv").write_text(
        f'video_path,transcript\n"new videos/ward 2/patient \'A\'.mp4","{transcript}"\n'
        f"real/reading.wav,\nreal/{lowq},\nreal/{talk},\n"
    )
    (workdir / "alone.csv").write_text(f"video_path\nreal/{talk}\n")
    edit_config(
        workdir,
        {
            "predict": {
                "folder": {"videos": "new videos", "ensemble": "fusion_proto"},
                "listed": {"videos": "listed.csv", "ensemble": "fusion_proto"},
                "real": {"videos": "real", "ensemble": "fusion_proto"},
                "alone": {"videos": "alone.csv", "ensemble": "fusion_proto"},
            }
        },
    )
    targets = [f"results/predict/{name}/predictions.csv" for name in ("folder", *REAL_BATCHES)]
    result = snakemake(workdir, *targets)
    return workdir, source, new, executed_jobs(result.stdout + result.stderr)


def test_a_folder_of_new_videos_gets_one_row_each(predicted):
    workdir, _, _, jobs = predicted
    frame = pd.read_csv(workdir / "results" / "predict" / "folder" / "predictions.csv")
    # a cell a spreadsheet would read as a formula is defused; restore() gives the path back
    assert list(frame["video_path"]) == ["'-mute.mp4", "no face.mp4", "ward 2/patient 'A'.mp4"]
    frame["video_path"] = frame["video_path"].map(restore)
    assert frame[["prob_no_ah", "prob_ah"]].sum(axis=1).round(5).eq(1).all()
    rows = frame.set_index("video_path")
    assert "audio" not in rows.loc["-mute.mp4", "available_modalities"].split(";")
    assert "audio: no audio track" in rows.loc["-mute.mp4", "missing"]
    assert "face" in rows.loc["no face.mp4", "available_modalities"].split(";")
    assert "face: no face found, whole frames used" in rows.loc["no face.mp4", "missing"]
    assert rows.loc["ward 2/patient 'A'.mp4", "available_modalities"] == "face;scene;audio;text"
    # the batch's explanations: a modality a video lacks contributes exactly nothing
    explained = pd.read_csv(workdir / "results" / "predict" / "folder" / "explanations.csv")
    explained["video_path"] = explained["video_path"].map(restore)
    explained = explained.set_index("video_path")
    mute = explained.loc["-mute.mp4"]
    assert "audio" in mute["missing_modalities"].split(";") and mute["contribution_audio"] == 0
    present = rows.loc["-mute.mp4", "available_modalities"].split(";")
    assert any(mute[f"contribution_{m}"] != 0 for m in present)
    np.testing.assert_allclose(explained["prob_ah"], rows["prob_ah"], atol=1e-6)
    # the trained models are reused, not retrained
    assert not {"unimodal", "fusion_seed", "search"} & set(jobs), jobs
    assert jobs["export_ensemble"] == 1 and jobs["predict"] == 4


def test_a_listed_copy_of_a_test_video_gets_the_runs_own_prediction(predicted):
    workdir, source, _, _ = predicted
    results = workdir / "results"
    listed = pd.read_csv(results / "predict" / "listed" / "predictions.csv")
    assert len(listed) == 4
    ids = read_manifest(results / "manifest.parquet").set_index("video_path")["video_id"]
    run = read_predictions(results / "fusion" / "fusion_proto" / "ensemble" / "predictions.parquet")
    run_proba = dict(zip(run["video_id"], proba_matrix(run)[:, 1], strict=True))
    # the same bits: the saved models predict each video alone, in the run as here
    assert np.float32(listed.loc[0, "prob_ah_uncalibrated"]) == run_proba[ids[source]]
    # the export carries the run's calibration map: the same calibrated probability, label
    # and explanation as the corpus's own (results/explanations.csv of the submitted run)
    corpus = pd.read_csv(results / "explanations.csv").set_index("video_id").loc[ids[source]]
    batch = pd.read_csv(results / "predict" / "listed" / "explanations.csv")
    assert len(batch) == 4 and batch.loc[0, "video_id"] == listed.loc[0, "video_id"]
    assert np.float32(listed.loc[0, "prob_ah"]) == np.float32(corpus["prob_ah"])
    assert listed.loc[0, "label"] == corpus["label"]
    contributions = [c for c in batch.columns if c.startswith("contribution_")]
    assert len(contributions) == 4
    np.testing.assert_array_equal(
        batch.loc[0, contributions].to_numpy(float), corpus[contributions].to_numpy(float)
    )
    # and so is everything on the way: media, faces, transcript, embeddings, unimodal
    # embeddings (the corpus's test video and its copy in a predict batch)
    in_corpus = per_video_outputs(results)[PurePosixPath(source).name]
    in_batch = per_video_outputs(results / "predict" / "listed")["patient 'A'.mp4"]
    common = in_corpus.keys() & in_batch.keys()
    assert len(common) >= 15 and {"faces/frames", "transcripts.parquet"} <= common
    assert differences({k: in_corpus[k] for k in common}, {k: in_batch[k] for k in common}) == []


def test_real_recordings_get_the_same_bits_in_any_batch(predicted):
    """Alone, in a folder of two, third in a reversed list (other shards, other company):
    frames, audio, face crops and boxes, transcript, every embedding and unimodal
    embedding, and the probabilities of each real video are the same bits."""
    workdir = predicted[0]
    batches = {
        name: per_video_outputs(workdir / "results" / "predict" / name) for name in REAL_BATCHES
    }
    talk = batches["alone"]["talk.mp4"]
    # everything a video gets is there: media, faces, transcript, embeddings, prediction
    assert {"media/audio", "media/face_frames/frames", "faces/frames"} <= talk.keys()
    assert {"transcripts/shard-*.parquet", "predictions.csv"} <= talk.keys()
    assert sum(key.startswith("embeddings/") for key in talk) >= 4
    assert sum(key.startswith("unimodal/") for key in talk) >= 4
    for name in ("real", "listed"):
        assert differences(talk, batches[name]["talk.mp4"]) == [], name
    for name in ("lowq.mp4", "reading.wav"):
        assert differences(batches["real"][name], batches["listed"][name]) == [], name
    # the real voice was recognised (text present), in every batch alike
    predictions = pd.read_csv(workdir / "results" / "predict" / "alone" / "predictions.csv")
    assert "text" in predictions.loc[0, "available_modalities"].split(";")
    # an audio-only recording: one row, from its audio and its recognised words
    listed = pd.read_csv(workdir / "results" / "predict" / "listed" / "predictions.csv")
    reading = listed.set_index("video_path").loc["real/reading.wav"]
    assert reading["available_modalities"] == "audio;text"
    assert "audio-only recording" in reading["missing"]


def test_an_exported_ensemble_predicts_on_another_machine(predicted, tmp_path):
    """Only the export folder and the videos travel; the local config's own input settings
    do not apply to the exported models."""
    workdir, _, new, _ = predicted
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shutil.copytree(workdir / "results" / "export" / "fusion_proto", elsewhere / "models" / "ah")
    shutil.copytree(new, elsewhere / "videos")
    write_config(
        elsewhere,
        {
            "face": {"n_frames": 7},  # ignored: the export's own sampling applies
            "predict": {"clinic": {"videos": "videos", "ensemble": "models/ah"}},
        },
    )
    result = snakemake(elsewhere, "results/predict/clinic/predictions.csv")
    jobs = executed_jobs(result.stdout + result.stderr)
    assert not {"demo_corpus", "manifest", "unimodal", "fusion_seed", "export_ensemble"} & set(
        jobs
    ), jobs
    here = pd.read_csv(workdir / "results" / "predict" / "folder" / "predictions.csv")
    there = pd.read_csv(elsewhere / "results" / "predict" / "clinic" / "predictions.csv")
    pd.testing.assert_frame_equal(here, there, atol=1e-5)
