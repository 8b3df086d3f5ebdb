"""Planning jobs from the manifest (the logic behind the rules' input functions)."""

import numpy as np
import pandas as pd
import pytest

from ahrec.corpus import plan


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
    assert plan.cell(plan.video_row(manifest, "b")["n_frames"]) == 10
    assert isinstance(plan.cell(plan.video_row(manifest, "b")["n_frames"]), int)
    assert plan.cell(plan.video_row(manifest, "a")["n_frames"]) is None
    assert plan.cell(plan.video_row(manifest, "d")["transcript"]) is None
    with pytest.raises(KeyError, match="not in the manifest"):
        plan.video_row(manifest, "zzz")


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
