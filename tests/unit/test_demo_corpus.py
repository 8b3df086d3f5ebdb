"""The built-in demo corpus: BAH layout, real media, planted cues, determinism.

A tiny corpus is generated once per module (a few seconds) and checked the
way the workflow will use it: split files parsed on their first two commas,
videos probed with ffprobe, faces found by OpenCV's Haar cascade, speech found
where the timestamped transcript says it is.
"""

from __future__ import annotations

import csv
import hashlib
import subprocess
from pathlib import Path

import cv2
import ffmpeg
import numpy as np
import pytest
import yaml

from ahrec.demo import (
    DemoSettings,
    DemoSettingsError,
    faces,
    generate_demo_corpus,
    plan_corpus,
    scene,
    script,
    speech,
)
from ahrec.demo.generator import CUES_HEADER
from ahrec.demo.settings import DEGENERATE_KINDS, MODALITIES
from tests.demo_tools import TOOLS, needs_tools

TINY = DemoSettings(
    participants=6,
    questions_per_participant=1,
    split_participants={"train": 2, "val": 2, "test": 2},
    seed=7,
    min_seconds=2.0,
    max_seconds=4.0,
    test_videos_without_transcript=1,
)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not TOOLS:
        pytest.skip("ffmpeg and espeak-ng are needed")
    root = tmp_path_factory.mktemp("demo")
    generate_demo_corpus(root, TINY, workers=1, progress=False)
    return root


def read_split(path: Path) -> list[tuple[str, str, str]]:
    rows = []
    for line in path.read_bytes().decode("utf-8").split("\n"):
        if line:
            video, label, transcript = line.split(",", 2)
            rows.append((video, label, transcript))
    return rows


def all_rows(root: Path) -> dict[str, list[tuple[str, str, str]]]:
    return {split: read_split(root / f"{split}.txt") for split in ("train", "val", "test")}


def cues(root: Path) -> list[dict[str, str]]:
    with open(root / "demo_cues.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def audio_rms(video: Path, rate: int = 16000) -> np.ndarray:
    """Loudness every 10 ms of a video's audio track."""
    pcm = subprocess.run(
        ["ffmpeg", "-loglevel", "error", "-i", str(video), "-f", "s16le", "-ac", "1"]
        + ["-ar", str(rate), "-"],
        capture_output=True,
        check=True,
    ).stdout
    samples = np.frombuffer(pcm, "<i2").astype(np.float32) / 32768.0
    hop = rate // 100
    frames = samples[: len(samples) // hop * hop].reshape(-1, hop)
    return np.sqrt((frames**2).mean(axis=1))


def digest_tree(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.md5(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


# --- layout -----------------------------------------------------------------


@pytest.mark.slow
@needs_tools
def test_split_files_are_bah_lists(corpus: Path) -> None:
    for split in ("train", "val", "test"):
        raw = (corpus / f"{split}.txt").read_bytes()
        assert b"\r" not in raw and raw.endswith(b"\n")
        rows = read_split(corpus / f"{split}.txt")
        assert len(rows) == TINY.split_participants[split] * TINY.questions_per_participant
        for video, label, transcript in rows:
            assert label in ("0", "1")
            assert video.startswith("Videos/P") and "/Visite_1/" in video
            assert "_Question_" in video and video.endswith(".mp4")
            assert (corpus / video).is_file()
            if transcript:
                assert "," in transcript  # like BAH: the reader must split on two commas only
    assert yaml.safe_load((corpus / "class_id.yaml").read_text()) == {"With A-H": 1, "No A-H": 0}


@pytest.mark.slow
@needs_tools
def test_splits_are_participant_disjoint_with_both_labels(corpus: Path) -> None:
    owners: dict[str, str] = {}
    for split, rows in all_rows(corpus).items():
        assert {label for _, label, _ in rows} == {"0", "1"}, split
        for video, _, _ in rows:
            participant = video.split("/")[1]
            assert owners.setdefault(participant, split) == split
    assert len(owners) == TINY.participants


@pytest.mark.slow
@needs_tools
def test_some_paths_hold_a_space_or_a_suffix(corpus: Path) -> None:
    videos = [v for rows in all_rows(corpus).values() for v, _, _ in rows]
    assert any(" " in v for v in videos)
    assert any("_Video-" in v for v in videos)


@pytest.mark.slow
@needs_tools
def test_requested_test_videos_have_no_transcript_at_all(corpus: Path) -> None:
    rows = all_rows(corpus)
    empty = [v for v, _, t in rows["test"] if t == ""]
    assert len(empty) == TINY.test_videos_without_transcript
    for video in empty:
        assert not (corpus / video).with_suffix(".yaml").exists()
    assert all(t for split in ("train", "val") for _, _, t in rows[split])


@pytest.mark.slow
@needs_tools
def test_cues_file_matches_the_lists(corpus: Path) -> None:
    listed = {v: (split, label) for split, rows in all_rows(corpus).items() for v, label, _ in rows}
    table = cues(corpus)
    assert tuple(table[0]) == CUES_HEADER
    assert {row["video_path"] for row in table} == set(listed)
    for row in table:
        assert listed[row["video_path"]] == (row["split"], row["label"])
        assert row["participant"] == row["video_path"].split("/")[1]
        assert {row[f"{m}_cue"] for m in ("text", "audio", "face", "scene")} <= {"0", "1"}
        # No degenerate video by default: every cue can be observed.
        assert row["degenerate"] == ""
        assert {row[f"{m}_cue_present"] for m in ("text", "audio", "face", "scene")} == {"1"}


@pytest.mark.slow
@needs_tools
def test_bah_reader_reads_the_demo_corpus(corpus: Path) -> None:
    bah = pytest.importorskip("ahrec.corpus.bah")
    records = bah.read_bah_corpus(
        corpus, {"train": "train.txt", "val": "val.txt", "test": "test.txt"}
    )
    assert len(records) == TINY.n_videos
    missing = [r for r in records if not r.transcript]
    assert len(missing) == TINY.test_videos_without_transcript


# --- media ------------------------------------------------------------------


@pytest.mark.slow
@needs_tools
def test_videos_have_the_requested_streams_and_duration(corpus: Path) -> None:
    durations = {row["video_path"]: float(row["duration_s"]) for row in cues(corpus)}
    for video, planned in durations.items():
        probe = ffmpeg.probe(str(corpus / video))
        streams = {s["codec_type"]: s for s in probe["streams"]}
        v, a = streams["video"], streams["audio"]
        assert v["codec_name"] == "h264" and v["pix_fmt"] == "yuv420p"
        assert v["r_frame_rate"] == f"{TINY.fps}/1"
        assert (v["width"], v["height"]) == (TINY.width, TINY.height)
        assert a["codec_name"] == "aac" and a["channels"] == 1
        duration = float(probe["format"]["duration"])
        assert abs(duration - planned) < 0.1
        assert duration >= TINY.min_seconds - 0.05
        if duration > TINY.max_seconds + 0.05:
            # Stretched only to fit the speech: the words run until near the end.
            rms = audio_rms(corpus / video)
            last_voiced = np.flatnonzero(rms > 0.1 * rms.max())[-1] / 100
            assert duration - last_voiced < 0.8


@pytest.mark.slow
@needs_tools
def test_yaml_chunks_join_to_the_transcript_and_match_the_speech(corpus: Path) -> None:
    transcripts = {v: t for rows in all_rows(corpus).values() for v, _, t in rows}
    sidecars = sorted(corpus.rglob("*.yaml"))
    sidecars = [p for p in sidecars if p.name != "class_id.yaml"]
    assert sidecars, "about a third of the videos should have a timestamped transcript"
    for sidecar in sidecars:
        video = str(sidecar.with_suffix(".mp4").relative_to(corpus))
        chunks = yaml.safe_load(sidecar.read_text())["chunks"]
        assert " ".join(c["text"] for c in chunks) == transcripts[video]
        rms = audio_rms(corpus / video)
        loud = 0.1 * rms.max()
        previous_end = 0.0
        for chunk in chunks:
            start, end = chunk["timestamp"]
            assert previous_end <= start < end
            assert chunk["label"] in (0, 1)
            assert rms[int(start * 100) : int(end * 100)].max() > loud
            previous_end = end
        first, last = chunks[0]["timestamp"][0], chunks[-1]["timestamp"][1]
        voiced = np.flatnonzero(rms > loud) / 100
        assert abs(voiced[0] - first) < 0.15 and abs(voiced[-1] - last) < 0.25


@pytest.mark.slow
@needs_tools
def test_haar_finds_the_face_in_most_frames(corpus: Path) -> None:
    cascade = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
    found = total = 0
    for row in cues(corpus):
        capture = cv2.VideoCapture(str(corpus / row["video_path"]))
        count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
        wanted = set(np.linspace(0, count - 1, 8).round().astype(int).tolist())
        index = 0
        while True:
            ok, frame = capture.read()
            if not ok:
                break
            if index in wanted:
                gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
                boxes = cascade.detectMultiScale(gray, 1.1, 5, minSize=(24, 24))
                found += len(boxes) > 0
                total += 1
            index += 1
        capture.release()
    assert total >= 8 * TINY.n_videos - 2
    assert found / total >= 0.85


@pytest.mark.slow
@needs_tools
def test_generation_is_deterministic_whatever_the_workers(corpus: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    generate_demo_corpus(again, TINY, workers=2, progress=False)
    assert digest_tree(again) == digest_tree(corpus)


# --- planted cues -----------------------------------------------------------


def test_plan_of_the_default_corpus() -> None:
    settings = DemoSettings()
    plan = plan_corpus(settings)
    assert len(plan) == 72
    by_split = {s: [p for p in plan if p.split == s] for s in ("train", "val", "test")}
    assert [len(by_split[s]) for s in ("train", "val", "test")] == [42, 15, 15]
    owners = {p.job.participant: p.split for p in plan}
    assert all(owners[p.job.participant] == p.split for p in plan)
    for members in by_split.values():
        assert {p.job.label for p in members} == {0, 1}
    assert 0.4 <= np.mean([p.job.label for p in plan]) <= 0.6
    assert sum(not p.has_transcript for p in plan) == 4
    assert all(p.has_transcript for p in plan if p.split != "test")
    assert not any(p.has_yaml and not p.has_transcript for p in plan)
    assert 15 <= sum(p.has_yaml for p in plan) <= 30
    for modality in ("text", "audio", "face", "scene"):
        agree = np.mean([getattr(p.job, f"{modality}_cue") == p.job.label for p in plan])
        assert 0.6 <= agree <= 0.9, modality
    assert len({p.job.relative_path for p in plan}) == 72
    assert plan == plan_corpus(settings)


def test_text_cue_hedges_more() -> None:
    rng = np.random.default_rng(0)
    hedging = [
        script.hedge_count(" ".join(s.text for s in script.compose_answer("diet", 1, rng)))
        for _ in range(200)
    ]
    confident = [
        script.hedge_count(" ".join(s.text for s in script.compose_answer("diet", 0, rng)))
        for _ in range(200)
    ]
    assert np.mean(hedging) > np.mean(confident) + 1.0
    assert min(hedging) == 0 or max(confident) > 0  # overlap: no single-word rule


@pytest.mark.slow
@needs_tools
def test_audio_cue_is_slower_with_more_pauses() -> None:
    sentences = script.compose_answer("sleep", 1, np.random.default_rng(3))
    voice = speech.Voice("f2", 50, 165)
    result = {}
    for cue in (0, 1):
        pause, rate = [], []
        for seed in range(4):
            rng = np.random.default_rng(seed)
            delivery = speech.delivery_for_cue(cue, rng)
            spoken = speech.Speaker(sentences, voice, delivery, rng).layout(
                list(range(len(sentences)))
            )
            pause.append(spoken.pause_seconds / spoken.end_seconds)
            rate.append(spoken.phrase_seconds)
        result[cue] = (np.mean(pause), np.mean(rate))
    assert result[1][0] > result[0][0]  # more of the time is silence
    assert result[1][1] > result[0][1]  # the same words take longer


def test_face_and_scene_cues_move_more() -> None:
    envelope = np.zeros(100, np.float32)

    def face_motion(cue: int) -> float:
        values = []
        for seed in range(10):
            track = faces.expression_track(cue, 100, 25, envelope, np.random.default_rng(seed))
            values.append(np.abs(np.diff(track.mouth)).sum() + np.abs(np.diff(track.tilt)).sum())
        return float(np.mean(values))

    def shake(cue: int) -> float:
        motions = [
            scene.scene_motion(cue, 100, 25, 320, 20, 100, np.random.default_rng(seed))
            for seed in range(10)
        ]
        return float(np.mean([np.abs(np.diff(m.shake_x)).sum() for m in motions]))

    assert face_motion(1) > 2 * face_motion(0)
    assert shake(1) > 2 * shake(0)


# --- settings ---------------------------------------------------------------


def test_settings_from_config_defaults_and_overrides() -> None:
    assert DemoSettings.from_config({}) == DemoSettings()
    settings = DemoSettings.from_config(
        {"participants": 9, "split_participants": {"train": 5, "val": 2, "test": 2}}
    )
    assert settings.participants == 9 and settings.n_videos == 27
    assert DemoSettings().degenerate == dict.fromkeys(DEGENERATE_KINDS, 0.0)
    assert DemoSettings().reliabilities == dict.fromkeys(MODALITIES, 0.75)
    # Kinds left out of degenerate are 0.
    partial = DemoSettings.from_config({"degenerate": {"silent": 0.25}})
    assert partial.degenerate == {**dict.fromkeys(DEGENERATE_KINDS, 0.0), "silent": 0.25}
    per_modality = {"text": 0.9, "audio": 0.6, "face": 0.75, "scene": 0.5}
    assert DemoSettings.from_config({"cue_reliability": per_modality}).reliabilities == (
        per_modality
    )


def test_the_settings_are_the_demo_corpus_options() -> None:
    """One declaration: the configuration's corpus: {type: demo} is these settings."""
    config = pytest.importorskip("ahrec.config")
    settings = config.load_settings({"corpus": {"type": "demo", "seed": 5}}).corpus
    assert isinstance(settings, DemoSettings)
    assert settings.settings() == DemoSettings(seed=5).settings()
    assert settings.folder == "results/demo_corpus"


@pytest.mark.parametrize(
    ("cfg", "key"),
    [
        ({"colour": "red"}, "corpus: unknown option 'colour'"),
        ({"participants": 10}, "split_participants: the train/val/test counts"),
        ({"participants": 2}, "corpus.participants: must be at least 3"),
        ({"split_participants": {"train": 24}}, "split_participants: needs exactly the keys"),
        ({"split_participants": {"train": 22, "val": 2, "test": 0}}, "split_participants.test"),
        (
            {
                "questions_per_participant": 1,
                "split_participants": {"train": 22, "val": 1, "test": 1},
            },
            "split_participants.val: the split needs at least 2 videos",
        ),
        ({"min_seconds": 0.5}, "corpus.min_seconds: must be at least 1"),
        ({"max_seconds": 2.0}, "max_seconds: must be at least min_seconds"),
        ({"max_seconds": 601}, "corpus.max_seconds: must be at most 600"),
        ({"cue_reliability": 0.4}, "corpus.cue_reliability: must be at least 0.5"),
        ({"cue_reliability": 1.5}, "corpus.cue_reliability: must be at most 1.0"),
        ({"fps": 0}, "corpus.fps: must be at least 1"),
        ({"width": 321}, "width: must be even"),
        ({"height": "tall"}, "corpus.height: expected an integer"),
        ({"test_videos_without_transcript": 99}, "test_videos_without_transcript: must be at most"),
        ({"questions_per_participant": 0}, "corpus.questions_per_participant: must be at least 1"),
        ({"cue_reliability": {"text": 0.9}}, "cue_reliability: a mapping needs exactly"),
        ({"cue_reliability": {**dict.fromkeys(MODALITIES, 0.8), "smell": 0.8}}, "unknown smell"),
        ({"cue_reliability": {**dict.fromkeys(MODALITIES, 0.8), "face": 0.3}}, "reliability.face"),
        ({"cue_reliability": {**dict.fromkeys(MODALITIES, 0.8), "face": "x"}}, "reliability.face"),
        ({"degenerate": 0.1}, "corpus.degenerate: expected a mapping"),
        ({"degenerate": {"mute": 0.1}}, "degenerate.mute: unknown kind"),
        ({"degenerate": {"silent": 1.5}}, "corpus.degenerate.silent: must be at most 1"),
        ({"degenerate": {"silent": -0.1}}, "corpus.degenerate.silent: must be at least 0"),
        ({"degenerate": {"silent": True}}, "corpus.degenerate.silent: expected a number"),
        ({"degenerate": {"silent": 0.6, "no_face": 0.5}}, "add up to at most 1"),
    ],
)
def test_invalid_settings_name_the_key(cfg: dict, key: str) -> None:
    with pytest.raises(ValueError, match=key.replace(".", r"\.")) as caught:
        DemoSettings.from_config(cfg)
    assert isinstance(caught.value, DemoSettingsError)
    # built directly (as the generator's callers do), the same values are refused too
    if "unknown option" not in key:
        with pytest.raises(DemoSettingsError):
            DemoSettings(**{**DemoSettings().settings(), **cfg})
