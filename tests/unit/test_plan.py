"""Planning jobs from the manifest (the logic behind the rules' input functions)."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ahrec.config import load_config, load_settings
from ahrec.corpus import plan
from ahrec.corpus.records import prediction_shards, shard_for, video_id_for
from ahrec.devtools.manifests import manifest_frame
from ahrec.training.labels import training_fingerprint, training_rows
from ahrec.workflow import MAX_SEARCH_THREADS, WorkflowPlan

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture()
def manifest():
    return pd.DataFrame(
        {
            "video_id": ["b", "a", "c", "d"],
            "split": ["train", "train", "test", "val"],
            "transcript": ["hi, there", None, "", np.nan],
            "transcript_source": ["list", None, None, None],
            "readable": pd.array([True, True, False, True], dtype="boolean"),
            "has_audio": pd.array([True, False, False, True], dtype="boolean"),
            "problem": [None, None, "empty file (0 bytes)", None],
            "n_frames": pd.array([10, None, None, 5], dtype="Int64"),
            "duration": [3.0, 0.3, None, 2.0],
            "shard": [0, 0, 1, 0],
            "path": ["V/b.mp4", "V/a.mp4", "V/c.mp4", "V/d.mp4"],
            "fps": [25.0, 30.0, None, 25.0],
        }
    )


def test_shard_members_are_sorted_and_disjoint(manifest):
    assert plan.shard_video_ids(manifest, 0) == ["a", "b", "d"]
    assert plan.shard_video_ids(manifest, "1") == ["c"]
    assert plan.shard_video_ids(manifest, 7) == []


def test_cells_become_plain_values(manifest):
    rows = manifest.set_index("video_id")
    assert plan.cell(rows.loc["b", "n_frames"]) == 10
    assert isinstance(plan.cell(rows.loc["b", "n_frames"]), int)
    assert plan.cell(rows.loc["a", "n_frames"]) is None
    assert plan.cell(rows.loc["d", "transcript"]) is None
    assert plan.cell(rows.loc["c", "transcript"]) == ""


def test_speech_recognition_only_where_the_corpus_has_no_transcript(manifest):
    assert plan.asr_video_ids(manifest, 0, "pocketsphinx") == ["a", "d"]
    assert plan.asr_video_ids(manifest, 1, "whisper") == ["c"]
    assert plan.asr_video_ids(manifest, 0, "none") == []
    rows = plan.corpus_transcripts(manifest, 0)
    assert rows[1] == {"video_id": "b", "transcript": "hi, there", "transcript_source": "list"}


def test_audio_reasons_and_split_ids(manifest):
    assert plan.audio_reasons(manifest, 0) == {"a": "no audio track", "b": None, "d": None}
    assert plan.audio_reasons(manifest, 1) == {"c": "empty file (0 bytes)"}
    # media.min_seconds: the 0.3 s clip loses its audio too (it had none anyway: the order of reasons)
    short = plan.audio_reasons(manifest, 0, min_seconds=2.5)
    assert short == {
        "a": "too short: 0.30 s (media.min_seconds: 2.5)",
        "b": None,
        "d": "too short: 2.00 s (media.min_seconds: 2.5)",
    }
    rows = manifest.set_index("video_id")
    assert plan.media_problem(rows.loc["b"].rename("b")) is None
    assert plan.media_problem(rows.loc["c"]) == "empty file (0 bytes)"
    assert plan.split_ids(manifest, "train") == ["a", "b"]


def test_shard_media_values_are_what_the_media_jobs_read(manifest):
    frames = plan.shard_media(manifest, 0, "frames", min_seconds=1.0)
    assert [v["video_id"] for v in frames] == ["a", "b", "d"]
    assert frames[0] == {
        "video_id": "a",
        "path": "V/a.mp4",
        "n_frames_hint": None,
        "fps": 30.0,
        "problem": "too short: 0.30 s (media.min_seconds: 1)",
    }
    assert frames[1]["n_frames_hint"] == 10 and frames[1]["problem"] is None
    assert plan.shard_media(manifest, 1, "frames")[0]["problem"] == "empty file (0 bytes)"
    audio = plan.shard_media(manifest, 0, "audio")
    assert audio == [
        {"video_id": "a", "path": "V/a.mp4", "has_audio": False},
        {"video_id": "b", "path": "V/b.mp4", "has_audio": True},
        {"video_id": "d", "path": "V/d.mp4", "has_audio": True},
    ]
    assert plan.shard_media(manifest, 9, "audio") == []


def test_a_media_shard_job_runtime_grows_with_its_videos(manifest):
    # 3.0 + 0.3 + 2.0 s of video: one minute at most, with the base of 5
    assert plan.shard_media_runtime(manifest, 0, None, per_minute=1.0) == 6
    long = manifest.assign(duration=[3600.0, 1800.0, None, 1800.0])
    assert plan.shard_media_runtime(long, 0, None, per_minute=1.0) == 5 + 120
    assert plan.shard_media_runtime(long, 0, None, per_minute=1.0, threads=2) == 5 + 60
    assert plan.shard_media_runtime(long, 0, 600.0, per_minute=1.0) == 5 + 30  # max_seconds
    assert plan.shard_media_runtime(long, 1, None, per_minute=1.0) == 5  # unreadable: no duration


def test_shard_members_follow_a_new_manifest(manifest):
    assert plan.shard_video_ids(manifest, 0) == ["a", "b", "d"]
    members = plan.shard_members(manifest, 0)
    members.loc[0, "video_id"] = "changed"  # a caller's copy: the cached split is not touched
    assert plan.shard_video_ids(manifest, 0) == ["a", "b", "d"]
    moved = manifest.assign(shard=[1, 1, 1, 1])
    assert plan.shard_video_ids(moved, 0) == [] and plan.shard_video_ids(moved, 1) == list("abcd")


def test_training_and_predicted_videos_live_in_separate_shards():
    ids = [video_id_for(f"Videos/P{i}/q.mp4") for i in range(200)]
    for n_shards, predicting in ((2, 1), (4, 1), (8, 2), (200, 50)):
        assert prediction_shards(n_shards) == predicting
        training = {shard_for(v, n_shards, "train") for v in ids} | {
            shard_for(v, n_shards, "val") for v in ids
        }
        predicted = {shard_for(v, n_shards, "test") for v in ids} | {
            shard_for(v, n_shards, "hidden") for v in ids
        }
        assert max(training) < n_shards - predicting <= min(predicted)
        assert max(predicted) < n_shards
    assert {shard_for(v, 1, "test") for v in ids} == {0}  # one shard: no separation
    # a batch of new videos (no split given) spreads over every shard
    assert {shard_for(v, 4) for v in ids} == {0, 1, 2, 3}


def test_training_jobs_read_the_training_shards_and_tables():
    from tests.e2e.workflow import whole_config

    settings = load_settings(whole_config(REPO / ".test" / "config.yaml"))
    workflow = WorkflowPlan(settings)
    assert workflow.shards == [0, 1] and workflow.training_shards == [0]
    face = settings.unimodal["face_mlp"]
    assert workflow.model_inputs(face, "results", training=True) == [
        "results/embeddings/face/hog.training.parquet"
    ]
    assert workflow.model_inputs(face, "results") == ["results/embeddings/face/hog.parquet"]
    assert workflow.unimodal_embeddings(["face_mlp"], fit=True) == [
        "results/unimodal/face_mlp/fit/embeddings.parquet"
    ]
    search = next(iter(settings.searches))
    assert all("/fit/" in path for path in workflow.search_embeddings(search))


def test_a_search_asks_for_one_thread_per_fit_of_a_trial():
    """Its seeds on the validation split; its seeds times the folds under CV selection."""
    config = load_config(REPO / "config.yaml")
    workflow = WorkflowPlan(load_settings(config))
    assert workflow.search_fits("proto") == 5  # the demo's five seeds
    config["evaluation"] = {**config["evaluation"], "selection": "cv", "folds": 3}
    assert WorkflowPlan(load_settings(config)).search_fits("proto") == 15
    # Five seeds times ten folds: 50 fits, but a cluster job never asks for more than the cap.
    config["evaluation"] = {**config["evaluation"], "folds": 10}
    assert WorkflowPlan(load_settings(config)).search_fits("proto") == MAX_SEARCH_THREADS == 16


def test_training_rows_and_their_fingerprint_ignore_test_videos():
    rows = [
        {"video_id": f"{split}{i}", "split": split, "participant": f"p{i}", "label": i % 2}
        for split, n in (("train", 4), ("val", 2), ("test", 2))
        for i in range(n)
    ]
    manifest = manifest_frame(rows)
    kept = training_rows(manifest)
    assert set(kept["split"]) == {"train", "val"} and len(kept) == 6
    more_tests = manifest_frame([*rows, {**rows[-1], "video_id": "test9"}])
    assert training_fingerprint(more_tests) == training_fingerprint(manifest)
    relabelled = manifest.copy()
    relabelled.loc[0, "label"] = 1 - relabelled.loc[0, "label"]
    assert training_fingerprint(relabelled) != training_fingerprint(manifest)
