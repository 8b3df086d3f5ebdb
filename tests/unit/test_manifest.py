"""The manifest: whole-corpus validation and what ffprobe reads of each video."""

import os
import time
from pathlib import Path

import pandas as pd
import pytest

from ahrec.corpus import plan
from ahrec.corpus.formats import read_corpus
from ahrec.corpus.manifest import (
    MANIFEST_SCHEMA,
    build_manifest,
    read_manifest,
    shard_members,
    write_manifest,
)
from ahrec.corpus.steps import REPORT_COLUMNS, manifest_report, summarise
from ahrec.errors import CorpusError
from ahrec.io import content_digest
from tests.audio_only import make_audio
from tests.media_factory import make_video

SPLITS = {"train": "train.txt", "val": "val.txt", "test": "test.txt"}


def write_lists(root: Path, lines: dict[str, list[str]]) -> None:
    for split, entries in lines.items():
        (root / f"{split}.txt").write_text("".join(f"{e}\n" for e in entries))


def corpus(root: Path) -> dict:
    return {"type": "bah", "root": str(root), "split_files": SPLITS, "hidden_test": None}


@pytest.fixture()
def small_corpus(tmp_path):
    make_video(tmp_path / "Videos/P1/Visite_1/a.mp4", seconds=1.0)
    make_video(tmp_path / "Videos/P2/Visite_1/b b.mp4", seconds=1.2, audio=False)
    make_video(tmp_path / "Videos/P3/Visite_1/c.mp4", seconds=1.0, seed=3)
    (tmp_path / "Videos/P3/Visite_1/broken.mp4").write_bytes(b"not a video at all" * 10)
    write_lists(
        tmp_path,
        {
            "train": ["Videos/P1/Visite_1/a.mp4,1,Well, maybe, I guess"],
            "val": ["Videos/P2/Visite_1/b b.mp4,0,Yes, sure"],
            "test": ["Videos/P3/Visite_1/c.mp4,1,", "Videos/P3/Visite_1/broken.mp4,0,Hmm"],
        },
    )
    return tmp_path


@pytest.mark.slow
def test_manifest_rows_and_probe(small_corpus, tmp_path):
    records = read_corpus(corpus(small_corpus))
    frame = build_manifest(records, n_shards=3, workers=2)
    assert list(frame.columns) == MANIFEST_SCHEMA.names
    assert len(frame) == 4
    row = frame.set_index("video_path").loc["Videos/P2/Visite_1/b b.mp4"]
    assert row["split"] == "val" and row["label"] == 0 and row["participant"] == "P2"
    assert not row["has_audio"] and row["readable"]
    assert row["fps"] == pytest.approx(25.0)
    assert row["n_frames"] == 30
    assert row["duration"] == pytest.approx(1.2, abs=0.05)
    broken = frame.set_index("video_path").loc["Videos/P3/Visite_1/broken.mp4"]
    assert not broken["readable"] and "unreadable by ffprobe" in broken["problem"]
    test_row = frame.set_index("video_path").loc["Videos/P3/Visite_1/c.mp4"]
    assert pd.isna(test_row["transcript"]) and test_row["has_audio"]
    out = tmp_path / "manifest.parquet"
    write_manifest(frame, out)
    again = read_manifest(out)
    assert again["label"].dtype.name == "Int8"
    assert again.loc[again["video_path"] == "Videos/P3/Visite_1/c.mp4", "transcript"].isna().all()
    assert sorted(shard_members(again, 0)["video_id"]) == list(shard_members(again, 0)["video_id"])
    assert sum(len(shard_members(again, s)) for s in range(3)) == 4


@pytest.mark.slow
def test_validation_lists_every_problem(tmp_path):
    make_video(tmp_path / "Videos/P1/a.mp4", seconds=0.5)
    make_video(tmp_path / "Videos/P2/b.mp4", seconds=0.5)
    write_lists(
        tmp_path,
        {
            "train": ["Videos/P1/a.mp4,1,x", "Videos/P1/a.mp4,1,x again"],
            "val": ["Videos/P2/b.mp4,0,y", "Videos/P1/missing.mp4,0,z"],
            "test": [],
        },
    )
    with pytest.raises(CorpusError) as caught:
        build_manifest(read_corpus(corpus(tmp_path)), n_shards=2)
    message = str(caught.value)
    assert "train.txt:2: duplicate video 'Videos/P1/a.mp4' (already listed at" in message
    assert "val.txt:2: video not found:" in message
    assert "participant 'P1' appears in more than one split: train" in message
    assert "val (" in message


def test_training_split_is_required(tmp_path):
    make_video(tmp_path / "Videos/P2/b.mp4", seconds=0.5)
    write_lists(tmp_path, {"train": [], "val": ["Videos/P2/b.mp4,0,y"], "test": []})
    with pytest.raises(CorpusError, match="the corpus has no train videos"):
        build_manifest(read_corpus(corpus(tmp_path)), n_shards=1)


@pytest.mark.slow
def test_adding_a_video_keeps_every_other_shard_assignment(small_corpus):
    before = build_manifest(read_corpus(corpus(small_corpus)), n_shards=3)
    make_video(small_corpus / "Videos/P1/Visite_1/new.mp4", seconds=0.5)
    with open(small_corpus / "train.txt", "a") as handle:
        handle.write("Videos/P1/Visite_1/new.mp4,0,new one\n")
    after = build_manifest(read_corpus(corpus(small_corpus)), n_shards=3)
    merged = before.merge(after, on="video_id", suffixes=("_before", "_after"))
    assert len(merged) == len(before)
    assert (merged["shard_before"] == merged["shard_after"]).all()


@pytest.mark.slow
def test_each_row_holds_the_content_digest_and_a_changed_recording_changes_its_shard_params(
    small_corpus,
):
    """A same-size edit with the mtime put back changes the video's digest, hence the values
    its media jobs read (their params: the rerun trigger), and nothing else."""
    before = build_manifest(read_corpus(corpus(small_corpus)), n_shards=3)
    for row in before.itertuples():
        assert row.digest == content_digest(row.path)
    target = small_corpus / "Videos/P3/Visite_1/c.mp4"
    stat = target.stat()
    time.sleep(0.02)
    with open(target, "r+b") as handle:  # one byte flipped near the end (the media data)
        handle.seek(stat.st_size - 100)
        byte = handle.read(1)
        handle.seek(stat.st_size - 100)
        handle.write(bytes([byte[0] ^ 0xFF]))
    os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    after = build_manifest(read_corpus(corpus(small_corpus)), n_shards=3)
    changed = after.loc[after["digest"] != before["digest"], "video_path"]
    assert list(changed) == ["Videos/P3/Visite_1/c.mp4"]
    shard = int(after.loc[changed.index[0], "shard"])
    for number in range(3):
        for kind in ("frames", "audio"):
            old = plan.shard_media(before, number, kind)
            new = plan.shard_media(after, number, kind)
            assert (old == new) == (number != shard)
    assert (before["shard"] == after["shard"]).all()


# --- the report: one consistent account per video --------------------------------------


def report_rows(new_videos: bool) -> dict[str, list[tuple[str, str]]]:
    """The report of one manifest holding each case, by video path."""
    cases = [  # video_path, readable, has_video, has_audio, transcript, problem
        ("mute-no-text.mp4", True, True, False, None, None),
        ("mute-with-text.mp4", True, True, False, "Well, maybe.", None),
        ("no-text.mp4", True, True, True, None, None),
        ("complete.mp4", True, True, True, "Sure.", None),
        ("call.wav", True, False, True, None, None),
        ("call-with-text.m4a", True, False, True, "Hmm.", None),
        ("broken.mp4", False, False, False, None, "unreadable by ffprobe: moov atom not found"),
        ("broken-with-text.mp4", False, False, False, "Yes.", "empty file (0 bytes)"),
    ]
    manifest = pd.DataFrame(
        [
            {
                "video_path": path,
                "split": "hidden" if new_videos else "test",
                "source": f"list.csv:{number}",
                "readable": readable,
                "has_video": has_video,
                "has_audio": has_audio,
                "transcript": transcript,
                "problem": problem,
            }
            for number, (path, readable, has_video, has_audio, transcript, problem) in enumerate(
                cases, start=2
            )
        ]
    )
    report = manifest_report(manifest, new_videos=new_videos)
    assert list(report.columns) == REPORT_COLUMNS
    assert set(report["split"]) == {"predict batch" if new_videos else "test"}
    rows: dict[str, list[tuple[str, str]]] = {path: [] for path, *_ in cases}
    for row in report.itertuples():
        rows[row.video_path].append((row.issue, row.consequence))
    return rows


ASR = (
    "no transcript in the corpus",
    "speech recognition (text available only if the voice-activity detector finds speech; "
    "see availability.csv)",
)


@pytest.mark.parametrize("new_videos", [False, True])
def test_the_report_gives_each_video_one_consistent_account(new_videos):
    rows = report_rows(new_videos)
    assert rows["mute-no-text.mp4"] == [
        ("no audio track and no transcript", "audio and text unavailable")
    ]
    assert rows["mute-with-text.mp4"] == [
        ("no audio track", "audio unavailable; text from the list")
    ]
    assert rows["complete.mp4"] == []
    assert rows["call-with-text.m4a"] == [
        ("audio-only recording (no video stream)", "scene and face unavailable")
    ]
    assert rows["broken.mp4"] == [
        (
            "unreadable: unreadable by ffprobe: moov atom not found; no transcript",
            "scene, face, audio and text unavailable: predicted from the training prior",
        )
    ]
    assert rows["broken-with-text.mp4"] == [
        (
            "unreadable: empty file (0 bytes)",
            "scene, face and audio unavailable; text from the list",
        )
    ]
    # speech recognition is listed where a corpus lacks a transcript; new videos come without
    asr = [] if new_videos else [ASR]
    assert rows["no-text.mp4"] == asr
    assert rows["call.wav"] == [
        ("audio-only recording (no video stream)", "scene and face unavailable"),
        *asr,
    ]


def test_a_manifest_from_before_has_video_reads_as_videos():
    old = pd.DataFrame(
        [{"video_path": "a.mp4", "split": "test", "source": "t:1", "readable": True,
          "has_audio": True, "transcript": "Yes.", "problem": None, "duration": 2.0}]
    )  # fmt: skip
    assert manifest_report(old).empty
    assert plan.frames_problem(old.iloc[0]) is None


def test_the_log_names_a_predict_batch_as_such(tmp_path):
    manifest = pd.DataFrame(
        {
            "split": ["hidden", "hidden"],
            "participant": ["a", "b"],
            "label": pd.array([None, None], dtype="Int8"),
            "transcript": [None, "Yes."],
            "readable": [True, True],
            "has_video": [False, True],
            "has_audio": [True, True],
            "video_path": ["a.wav", "b.mp4"],
            "problem": [None, None],
        }
    )
    batch = summarise(manifest, new_videos=True)
    assert "hidden" not in batch and "labels" not in batch
    assert "predict batch (new videos): 2 videos, 2 participants" in batch
    assert "audio-only 1" in batch
    assert "  hidden: 2 videos" in summarise(manifest)  # a corpus's hidden test list


# --- audio-only recordings in a corpus ---------------------------------------------------


def test_an_audio_only_recording_in_a_corpus_keeps_its_audio_and_loses_its_frames(tmp_path):
    make_video(tmp_path / "Videos/P1/Visite_1/a.mp4", seconds=1.0)
    make_video(tmp_path / "Videos/P2/Visite_1/b.mp4", seconds=1.0, seed=2)
    make_audio(tmp_path / "Videos/P3/Visite_1/call.m4a")
    write_lists(
        tmp_path,
        {
            "train": ["Videos/P1/Visite_1/a.mp4,1,Well, maybe"],
            "val": ["Videos/P2/Visite_1/b.mp4,0,Yes"],
            "test": ["Videos/P3/Visite_1/call.m4a,1,"],
        },
    )
    frame = build_manifest(read_corpus(corpus(tmp_path)), n_shards=1, workers=1)
    row = frame.set_index("video_path").loc["Videos/P3/Visite_1/call.m4a"]
    assert row["readable"] and row["has_audio"] and not row["has_video"]
    assert pd.isna(row["problem"]) and pd.isna(row["fps"]) and pd.isna(row["n_frames"])
    assert frame.set_index("video_path").loc["Videos/P1/Visite_1/a.mp4", "has_video"]
    frames = {v["video_id"]: v for v in plan.shard_media(frame, 0, "frames")}
    audio = {v["video_id"]: v for v in plan.shard_media(frame, 0, "audio")}
    reasons = plan.audio_reasons(frame, 0)
    assert frames[row["video_id"]]["problem"] == "audio-only recording: no video stream"
    assert audio[row["video_id"]]["has_audio"] and reasons[row["video_id"]] is None
    assert plan.asr_video_ids(frame, 0, "whisper") == [row["video_id"]]
    assert [v["problem"] for k, v in frames.items() if k != row["video_id"]] == [None, None]
    # an audio-only file shorter than media.min_seconds is short first
    assert plan.frames_problem(row, min_seconds=10.0).startswith("too short")
