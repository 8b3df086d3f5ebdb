"""Degenerate demo videos: drawn at known rates, and degenerate in the way they claim.

The plan is checked on the full default corpus (cheap: no video is made);
the media on a tiny corpus where every kind occurs, the way the workflow will
meet them: faces looked for with OpenCV's Haar cascade, audio decoded with
ffmpeg, transcripts read from the split files and YAML sidecars.
"""

from __future__ import annotations

import csv
import dataclasses
import math
import subprocess
from collections import Counter
from pathlib import Path

import cv2
import ffmpeg
import numpy as np
import pytest

from ahrec.demo import DemoSettings, generate_demo_corpus, plan_corpus
from ahrec.demo.generator import HIDDEN_CUES, MODALITIES, VERY_SHORT_SECONDS
from ahrec.demo.render import make_video
from ahrec.demo.settings import DEGENERATE_KINDS, SPLITS
from tests.demo_tools import TOOLS, needs_tools

RATES = {"no_face": 0.1, "very_short": 0.1, "silent": 0.1, "no_transcript": 0.1}
# Seed 2 puts every kind in this 12-video corpus (checked by the fixture).
TINY = DemoSettings(
    participants=6,
    questions_per_participant=2,
    split_participants={"train": 2, "val": 2, "test": 2},
    seed=2,
    min_seconds=1.0,
    max_seconds=1.5,
    fps=10,
    width=160,
    height=120,
    test_videos_without_transcript=1,
    degenerate=dict.fromkeys(DEGENERATE_KINDS, 0.2),
)
CASCADE = cv2.data.haarcascades + "haarcascade_frontalface_default.xml"


# --- the plan ---------------------------------------------------------------


def test_zero_rates_change_nothing_and_other_rates_only_the_chosen_videos() -> None:
    base = plan_corpus(DemoSettings())
    assert plan_corpus(DemoSettings(degenerate=dict.fromkeys(DEGENERATE_KINDS, 0.0))) == base
    assert all(p.degenerate == "" and p.job.degenerate == "" for p in base)
    plan = plan_corpus(DemoSettings(degenerate=RATES))
    assert len(plan) == len(base)
    for before, after in zip(base, plan, strict=True):
        job = dataclasses.replace(after.job, degenerate="", clip_seconds=0.0)
        assert job == before.job  # same labels, cues, paths and seeds
        assert after.split == before.split
        if not after.degenerate:
            assert (after.has_transcript, after.has_yaml) == (
                before.has_transcript,
                before.has_yaml,
            )


@pytest.mark.parametrize("seed", range(12))
def test_rates_are_stratified_per_split_and_label(seed: int) -> None:
    settings = DemoSettings(seed=seed, degenerate=RATES)
    plan = plan_corpus(settings)
    without_transcript = {
        p.job.index for p in plan_corpus(DemoSettings(seed=seed)) if not p.has_transcript
    }
    for split in SPLITS:
        members = [p for p in plan if p.split == split]
        n = len(members)
        share_of_ones = sum(p.job.label for p in members) / n
        for kind, rate in RATES.items():
            chosen = [p for p in members if p.degenerate == kind]
            assert math.floor(rate * n) <= len(chosen) <= math.ceil(rate * n), (split, kind)
            ones = sum(p.job.label for p in chosen)
            assert abs(ones - share_of_ones * len(chosen)) <= 1.5, (split, kind)
            assert not {p.job.index for p in chosen} & without_transcript
    assert sum(not p.has_transcript for p in plan) == (
        settings.test_videos_without_transcript + sum(p.degenerate == "no_transcript" for p in plan)
    )


def test_rates_are_exact_on_average() -> None:
    counts: Counter[str] = Counter()
    seeds = range(40)
    for seed in seeds:
        counts.update(p.degenerate for p in plan_corpus(DemoSettings(seed=seed, degenerate=RATES)))
    for kind, rate in RATES.items():
        assert counts[kind] / len(seeds) == pytest.approx(rate * 72, abs=0.6), kind


def test_degenerate_videos_are_marked_and_shaped_in_the_plan() -> None:
    plan = plan_corpus(DemoSettings(degenerate={"very_short": 0.5, "silent": 0.5}))
    kinds = Counter(p.degenerate for p in plan)
    assert kinds["very_short"] >= 30 and kinds["silent"] >= 30
    for p in plan:
        for modality in MODALITIES:
            assert p.cue_present(modality) == (modality not in HIDDEN_CUES[p.degenerate])
        if p.degenerate == "very_short":
            assert VERY_SHORT_SECONDS[0] <= p.job.clip_seconds <= VERY_SHORT_SECONDS[1]
        else:
            assert p.job.clip_seconds == 0.0
        if p.degenerate in ("very_short", "silent"):
            assert p.has_transcript and not p.has_yaml  # no timestamps of inaudible speech


# --- the media --------------------------------------------------------------


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not TOOLS:
        pytest.skip("ffmpeg and espeak-ng are needed")
    assert set(DEGENERATE_KINDS) <= {p.degenerate for p in plan_corpus(TINY)}
    root = tmp_path_factory.mktemp("degenerate")
    generate_demo_corpus(root, TINY, workers=2, progress=False)
    return root


def split_rows(root: Path) -> dict[str, str]:
    """Listed transcript of every video."""
    rows = {}
    for split in SPLITS:
        for line in (root / f"{split}.txt").read_text(encoding="utf-8").splitlines():
            video, _, transcript = line.split(",", 2)
            rows[video] = transcript
    return rows


def decode_audio(video: Path, rate: int = 16000) -> np.ndarray:
    pcm = subprocess.run(
        ["ffmpeg", "-loglevel", "error", "-i", str(video), "-f", "s16le", "-ac", "1"]
        + ["-ar", str(rate), "-"],
        capture_output=True,
        check=True,
    ).stdout
    return np.frombuffer(pcm, "<i2").astype(np.float32) / 32768.0


def decode_frames(video: Path) -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(video))
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    capture.release()
    return frames


def faces_in(frame: np.ndarray, cascade: cv2.CascadeClassifier) -> int:
    """Faces found in a decoded BGR frame: plainly, and as the workflow finds them.

    The workflow stores frames as JPEG (quality 95) and runs the cascade on
    the histogram-equalised grey image (scale 1.1, 5 neighbours, 24 pixels).
    """
    gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    _, data = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 95])
    stored = cv2.cvtColor(cv2.imdecode(data, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    workflow = cv2.equalizeHist(cv2.cvtColor(stored, cv2.COLOR_RGB2GRAY))
    return max(
        len(cascade.detectMultiScale(image, 1.1, 5, minSize=(24, 24)))
        for image in (gray, cv2.equalizeHist(gray), workflow)
    )


def rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(samples, dtype=np.float64)))) if samples.size else 0.0


def cue_rows(root: Path) -> list[dict[str, str]]:
    with open(root / "demo_cues.csv", newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.slow
@needs_tools
def test_cue_table_names_the_kind_and_what_is_observable(corpus: Path) -> None:
    rows = cue_rows(corpus)
    plan = {p.job.relative_path: p for p in plan_corpus(TINY)}
    assert {row["video_path"] for row in rows} == set(plan)
    for row in rows:
        kind = row["degenerate"]
        assert kind == plan[row["video_path"]].degenerate
        for modality in MODALITIES:
            expected = str(int(modality not in HIDDEN_CUES[kind]))
            assert row[f"{modality}_cue_present"] == expected, (kind, modality)
        if kind == "very_short":
            assert 0.2 <= float(row["duration_s"]) <= 0.4


@pytest.mark.slow
@needs_tools
def test_no_face_videos_show_no_face_in_any_frame(corpus: Path) -> None:
    cascade = cv2.CascadeClassifier(CASCADE)
    seen = {"no_face": [0, 0], "": [0, 0]}
    for row in cue_rows(corpus):
        if row["degenerate"] not in seen:
            continue
        frames = decode_frames(corpus / row["video_path"])
        seen[row["degenerate"]][0] += sum(faces_in(frame, cascade) > 0 for frame in frames)
        seen[row["degenerate"]][1] += len(frames)
    assert seen["no_face"][1] > 0 and seen["no_face"][0] == 0
    # The detector does find the faces of the normal videos at this size.
    assert seen[""][0] >= 0.85 * seen[""][1] > 0


@pytest.mark.slow
@needs_tools
def test_very_short_videos_are_a_few_frames_with_the_text_cue_listed(corpus: Path) -> None:
    listed = split_rows(corpus)
    plan = [p for p in plan_corpus(TINY) if p.degenerate == "very_short"]
    for item in plan:
        video = corpus / item.job.relative_path
        probe = ffmpeg.probe(str(video))
        streams = {s["codec_type"]: s for s in probe["streams"]}
        assert set(streams) == {"video", "audio"}
        assert len(decode_frames(video)) == max(1, round(item.job.clip_seconds * TINY.fps))
        assert float(probe["format"]["duration"]) <= VERY_SHORT_SECONDS[1] + 0.06
        assert len(decode_audio(video)) <= 16000 * (VERY_SHORT_SECONDS[1] + 0.06)
        assert listed[item.job.relative_path]  # the text cue is still there
        assert not video.with_suffix(".yaml").exists()


@pytest.mark.slow
@needs_tools
def test_silent_videos_have_a_silent_track_and_otherwise_the_normal_picture(
    corpus: Path, tmp_path: Path
) -> None:
    listed = split_rows(corpus)
    items = [p for p in plan_corpus(TINY) if p.degenerate == "silent"]
    assert items
    for item in items:
        video = corpus / item.job.relative_path
        kinds = [s["codec_type"] for s in ffmpeg.probe(str(video))["streams"]]
        assert sorted(kinds) == ["audio", "video"]
        samples = decode_audio(video)
        assert samples.size > 16000 and float(np.abs(samples).max()) < 1e-4
        assert listed[item.job.relative_path]
        assert not video.with_suffix(".yaml").exists()
    # Its normal twin (same job, not muted) has the very same frames, and a voice.
    twin = dataclasses.replace(items[0].job, degenerate="")
    make_video(twin, tmp_path)
    normal = tmp_path / twin.relative_path
    assert rms(decode_audio(normal)) > 0.01
    for a, b in zip(
        decode_frames(corpus / items[0].job.relative_path), decode_frames(normal), strict=True
    ):
        assert np.array_equal(a, b)


@pytest.mark.slow
@needs_tools
def test_no_face_video_keeps_the_normal_voice(corpus: Path, tmp_path: Path) -> None:
    item = next(p for p in plan_corpus(TINY) if p.degenerate == "no_face")
    twin = dataclasses.replace(item.job, degenerate="")
    make_video(twin, tmp_path)
    degenerate = decode_audio(corpus / item.job.relative_path)
    assert np.array_equal(degenerate, decode_audio(tmp_path / twin.relative_path))
    assert rms(degenerate) > 0.01


@pytest.mark.slow
@needs_tools
def test_no_transcript_videos_have_none_but_say_their_words(corpus: Path) -> None:
    listed = split_rows(corpus)
    items = [p for p in plan_corpus(TINY) if p.degenerate == "no_transcript"]
    assert items
    for item in items:
        video = corpus / item.job.relative_path
        assert listed[item.job.relative_path] == ""
        assert not video.with_suffix(".yaml").exists()
        assert rms(decode_audio(video)) > 0.01  # speech recognition has something to hear
    expected = TINY.test_videos_without_transcript + len(items)
    assert sum(not text for text in listed.values()) == expected


@pytest.mark.slow
@needs_tools
def test_each_kind_comes_out_the_same_when_made_alone(corpus: Path, tmp_path: Path) -> None:
    # The corpus was made by two worker processes; one video of each kind made
    # again here, in this process, must give the same bytes (the faceless
    # videos' checks and blurs included).
    plan = plan_corpus(TINY)
    for kind in DEGENERATE_KINDS:
        item = next(p for p in plan if p.degenerate == kind)
        make_video(item.job, tmp_path)
        again = (tmp_path / item.job.relative_path).read_bytes()
        assert again == (corpus / item.job.relative_path).read_bytes(), kind


@pytest.mark.slow
@needs_tools
def test_bah_reader_reads_the_degenerate_corpus(corpus: Path) -> None:
    bah = pytest.importorskip("ahrec.corpus.bah")
    records = bah.read_bah_corpus(
        corpus, {"train": "train.txt", "val": "val.txt", "test": "test.txt"}
    )
    assert len(records) == TINY.n_videos
    kinds = Counter(p.degenerate for p in plan_corpus(TINY))
    missing = [r for r in records if not r.transcript]
    assert len(missing) == TINY.test_videos_without_transcript + kinds["no_transcript"]
