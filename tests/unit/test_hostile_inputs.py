"""Hostile inputs: files that are not videos, links between splits, long media, odd corpora.

Corpora, transcripts and folders of new videos come from other people
(DESIGN.md, "Untrusted inputs"): nothing they list may make the workflow
read outside the corpus, hide a duplicate, exhaust memory or end in a
traceback instead of a message naming the file, line and fix.
"""

from __future__ import annotations

import csv
import logging
import os
import time
import tracemalloc
import wave
from pathlib import Path

import cv2
import numpy as np
import pytest

from ahrec.corpus import new_videos as new_videos_module
from ahrec.corpus.bah import read_split_file, read_text_lines, transcript_from_yaml
from ahrec.corpus.csv_manifest import read_csv_manifest
from ahrec.corpus.formats import read_corpus
from ahrec.corpus.manifest import build_manifest
from ahrec.corpus.new_videos import read_new_videos
from ahrec.errors import CorpusError
from ahrec.media import frames as frames_module
from ahrec.media.audio import extract_audio, extract_audio_track, iter_wav, read_wav, write_wav
from ahrec.media.frames import CAPTURE_OPTIONS_ENV, DecodeError, capture_options, sample_frames
from ahrec.media.probe import probe_video
from ahrec.transcripts.asr import (
    PocketsphinxRecognizer,
    resolve_transcripts,
    speech_windows,
    transcribe_wav,
)
from tests.hostile import NOT_VIDEOS
from tests.media_factory import frame_number, make_lavfi_video, make_video

SPLITS = {"train": "train.txt", "val": "val.txt", "test": "test.txt"}

# --- 1. only real video containers, opened as files --------------------------------


def _age(path: Path) -> float:
    """Set a file's access time three days back; reads then move it (relatime)."""
    then = time.time() - 3 * 86400
    os.utime(path, (then, then - 86400))
    return os.stat(path).st_atime


def _reads_are_visible(folder: Path) -> bool:
    """Whether this file system records reads in st_atime (not mounted noatime)."""
    control = folder / "control.bin"
    control.write_bytes(b"x" * 100)
    before = _age(control)
    with open(control, "rb") as handle:
        handle.read()
    return os.stat(control).st_atime != before


@pytest.fixture()
def outside(tmp_path):
    """A real video outside the corpus: what a hostile file would make ffmpeg read."""
    return make_video(tmp_path / "elsewhere" / "private.mp4", seconds=1.0)


@pytest.mark.parametrize(("case", "name", "build", "detected"), NOT_VIDEOS)
def test_files_that_are_not_video_containers_are_refused_everywhere(
    tmp_path, monkeypatch, outside, case, name, build, detected
):
    monkeypatch.setenv(CAPTURE_OPTIONS_ENV, "")  # restored after the test
    folder = tmp_path / "corpus" / "Videos" / "P1" / "Visite_1"
    folder.mkdir(parents=True)
    path = folder / name
    build(path, outside)
    watch = _reads_are_visible(tmp_path)
    accessed = _age(outside)

    info = probe_video(path)
    assert not info.readable, case
    assert info.problem == f"not a video container (detected: {detected})", case
    with pytest.raises(DecodeError):
        sample_frames(path, {"scene": 4})
    with pytest.raises(DecodeError):
        sample_frames(path, {"scene": 4}, n_frames_hint=10)  # even told it has frames
    result = extract_audio_track(path, tmp_path / "a.wav")
    assert result.reason == f"not a video container (detected: {detected})", case
    assert read_wav(tmp_path / "a.wav")[0].size == 0
    if watch:
        assert os.stat(outside).st_atime == accessed, f"{case}: the outside video was read"


@pytest.mark.slow
def test_the_manifest_keeps_not_a_video_rows_with_the_reason(tmp_path, outside):
    root = tmp_path / "corpus"
    make_video(root / "Videos/P1/Visite_1/a.mp4", seconds=0.5)
    make_video(root / "Videos/P2/Visite_1/b.mp4", seconds=0.5, seed=2)
    lines = []
    for number, (_, name, build, _) in enumerate(NOT_VIDEOS):
        folder = root / f"Videos/T{number}/Visite_1"
        folder.mkdir(parents=True)
        build(folder / name, outside)
        lines.append(f"Videos/T{number}/Visite_1/{name},{number % 2},text")
    (root / "train.txt").write_text("Videos/P1/Visite_1/a.mp4,1,x\n")
    (root / "val.txt").write_text("Videos/P2/Visite_1/b.mp4,0,y\n")
    (root / "test.txt").write_text("\n".join(lines) + "\n")
    records = read_corpus({"type": "bah", "root": str(root), "split_files": SPLITS})
    frame = build_manifest(records, n_shards=2, workers=2).set_index("video_path")
    assert frame.loc["Videos/P1/Visite_1/a.mp4", "readable"]
    for number, (case, name, _, detected) in enumerate(NOT_VIDEOS):
        row = frame.loc[f"Videos/T{number}/Visite_1/{name}"]
        assert not row["readable"], case
        assert row["problem"] == f"not a video container (detected: {detected})"


def test_opencv_takes_the_whitelists_from_its_capture_options(tmp_path, monkeypatch, outside):
    """OpenCV reads OPENCV_FFMPEG_CAPTURE_OPTIONS at every open: check it takes effect."""
    image = tmp_path / "image.mp4"
    NOT_VIDEOS[-1][2](image, outside)
    monkeypatch.setenv(CAPTURE_OPTIONS_ENV, "")
    control = cv2.VideoCapture(str(image), cv2.CAP_FFMPEG)
    assert control.isOpened() and control.grab()  # without the options: a one-frame "video"
    control.release()
    with pytest.raises(DecodeError, match="cannot be opened"):
        frames_module._open(image)
    assert "format_whitelist;mov," in os.environ[CAPTURE_OPTIONS_ENV]
    assert frames_module._count_frames(outside) == 25  # a real video still decodes
    merged = capture_options("hwaccel;none|protocol_whitelist;file,http")
    assert merged.startswith("hwaccel;none|protocol_whitelist;file|format_whitelist;mov,")


def _encoders() -> str:
    import subprocess

    return subprocess.run(
        ["ffmpeg", "-hide_banner", "-encoders"], capture_output=True, text=True, check=False
    ).stdout


def _needs(*encoders: str):
    missing = [e for e in encoders if f" {e} " not in _encoders()]
    return pytest.mark.skipif(bool(missing), reason=f"ffmpeg lacks {', '.join(missing)}")


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "codec"),
    [
        ("clip.mkv", None),
        ("clip.mov", None),
        ("clip.avi", ["-c:v", "mpeg4", "-c:a", "pcm_s16le"]),
        ("clip.ts", ["-c:v", "mpeg2video", "-c:a", "mp2"]),
        ("clip.mpg", ["-c:v", "mpeg1video", "-c:a", "mp2"]),
        ("clip.flv", ["-c:v", "flv", "-c:a", "aac"]),
        ("clip.wmv", ["-c:v", "wmv2", "-c:a", "wmav2"]),
        pytest.param(
            "clip.webm", ["-c:v", "libvpx", "-c:a", "libopus"], marks=_needs("libvpx", "libopus")
        ),
        pytest.param(
            "clip.ogv",
            ["-c:v", "libtheora", "-c:a", "libvorbis"],
            marks=_needs("libtheora", "libvorbis"),
        ),
    ],
)
def test_real_containers_pass_the_whitelists(tmp_path, monkeypatch, name, codec):
    monkeypatch.setenv(CAPTURE_OPTIONS_ENV, "")
    video = make_lavfi_video(tmp_path / name, 2.0, fps=25, size="64x48", codec=codec)
    info = probe_video(video)
    assert info.readable and info.has_audio, info
    assert len(sample_frames(video, {"s": 3}, n_frames_hint=info.n_frames)["s"].frames) == 3
    assert extract_audio(video, tmp_path / "a.wav") is None


@pytest.mark.slow
def test_names_that_look_like_urls_or_options_are_plain_files(tmp_path, monkeypatch):
    monkeypatch.setenv(CAPTURE_OPTIONS_ENV, "")
    folder = tmp_path / "v"
    video = make_video(folder / "concat:x.mp4", seconds=0.4)
    monkeypatch.chdir(folder)
    assert probe_video(Path("concat:x.mp4")).readable
    assert extract_audio(Path("concat:x.mp4"), tmp_path / "a.wav") is None
    os.rename(video, folder / "-i.mp4")
    assert probe_video(Path("-i.mp4")).readable


# --- 2. duplicates and participants compared by resolved file ----------------------


def _two_participants(root: Path) -> None:
    make_video(root / "Videos/P1/Visite_1/a.mp4", seconds=0.4)
    make_video(root / "Videos/P1/Visite_1/unlisted.mp4", seconds=0.4)
    make_video(root / "Videos/P2/Visite_1/b.mp4", seconds=0.4)
    (root / "train.txt").write_text("Videos/P1/Visite_1/a.mp4,1,x\n")
    (root / "val.txt").write_text("Videos/P2/Visite_1/b.mp4,0,y\n")
    (root / "Videos/P9/Visite_1").mkdir(parents=True)


def _problems(root: Path) -> str:
    records = read_corpus({"type": "bah", "root": str(root), "split_files": SPLITS})
    with pytest.raises(CorpusError) as caught:
        build_manifest(records, n_shards=1)
    return str(caught.value)


def test_a_link_in_the_test_list_to_a_training_video_is_a_duplicate(tmp_path):
    _two_participants(tmp_path)
    (tmp_path / "Videos/P9/Visite_1/q.mp4").symlink_to("../../P1/Visite_1/a.mp4")
    (tmp_path / "test.txt").write_text("Videos/P9/Visite_1/q.mp4,1,z\n")
    message = _problems(tmp_path)
    train, test = tmp_path / "train.txt", tmp_path / "test.txt"
    assert (
        f"{test}:1: duplicate video 'Videos/P9/Visite_1/q.mp4' (already listed at {train}:1 "
        f"as 'Videos/P1/Visite_1/a.mp4'; both are the file "
        f"{os.path.realpath(tmp_path / 'Videos/P1/Visite_1/a.mp4')})"
    ) in message
    assert "participant 'P1' appears in more than one split: train" in message
    assert f"test ({test}:1, a link to Videos/P1/Visite_1/a.mp4)" in message


def test_a_hard_link_is_the_same_file_too(tmp_path):
    _two_participants(tmp_path)
    os.link(tmp_path / "Videos/P1/Visite_1/a.mp4", tmp_path / "Videos/P9/Visite_1/copy.mp4")
    (tmp_path / "test.txt").write_text("Videos/P9/Visite_1/copy.mp4,1,z\n")
    assert "duplicate video 'Videos/P9/Visite_1/copy.mp4'" in _problems(tmp_path)


def test_a_link_to_another_participants_unlisted_video_breaks_disjointness(tmp_path):
    _two_participants(tmp_path)
    (tmp_path / "Videos/P9/Visite_1/q.mp4").symlink_to("../../P1/Visite_1/unlisted.mp4")
    (tmp_path / "test.txt").write_text("Videos/P9/Visite_1/q.mp4,1,z\n")
    message = _problems(tmp_path)
    assert "duplicate" not in message
    assert "participant 'P1' appears in more than one split" in message


@pytest.mark.slow
def test_links_to_another_disk_still_work(tmp_path):
    """Clusters keep videos elsewhere and link them in: that stays valid."""
    root = tmp_path / "corpus"
    for name, participant in (("a", "P1"), ("b", "P2"), ("c", "P3")):
        real = make_video(tmp_path / "disk" / f"{name}.mp4", seconds=0.4, seed=ord(name))
        (root / f"Videos/{participant}").mkdir(parents=True, exist_ok=True)
        (root / f"Videos/{participant}/{name}.mp4").symlink_to(real)
    (root / "train.txt").write_text("Videos/P1/a.mp4,1,x\n")
    (root / "val.txt").write_text("Videos/P2/b.mp4,0,y\n")
    (root / "test.txt").write_text("Videos/P3/c.mp4,0,z\n")
    records = read_corpus({"type": "bah", "root": str(root), "split_files": SPLITS})
    assert build_manifest(records, n_shards=1)["readable"].all()


# --- 3. long media is bounded ------------------------------------------------------


@pytest.mark.slow
def test_audio_is_cut_at_max_seconds(tmp_path):
    video = make_lavfi_video(tmp_path / "v.mp4", 6.0)
    wav = tmp_path / "a.wav"
    result = extract_audio_track(video, wav, 16000, max_seconds=2.5)
    assert result.reason is None and result.cut_at == 2.5 and result.seconds == 2.5
    with wave.open(str(wav)) as handle:
        assert handle.getnframes() == 40000 and handle.getframerate() == 16000
    assert 0.1 < np.abs(read_wav(wav)[0]).max() <= 1.0
    whole = extract_audio_track(video, wav, 16000, max_seconds=60.0)
    assert whole.cut_at is None and whole.seconds == pytest.approx(6.0, abs=0.1)
    assert extract_audio(video, wav, 16000, max_seconds=1.0) is None  # the reason-only entry point
    assert read_wav(wav)[0].size == 16000
    with pytest.raises(ValueError):
        extract_audio_track(video, wav, max_seconds=0)


@pytest.mark.slow
def test_audio_extraction_memory_does_not_grow_with_duration(tmp_path):
    """ffmpeg writes the wav; Python allocates nothing in proportion to the duration."""
    peaks = {}
    for seconds in (5.0, 120.0):
        video = make_lavfi_video(tmp_path / f"v{seconds:g}.mp4", seconds)
        tracemalloc.start()
        result = extract_audio_track(video, tmp_path / "a.wav", 16000)
        peaks[seconds] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert result.reason is None and result.seconds == pytest.approx(seconds, abs=0.1)
    # before: 120 s held as int16, float32 and float64 copies (~12 MB)
    assert peaks[120.0] < 512 * 1024, peaks
    tracemalloc.start()
    extract_audio_track(tmp_path / "v120.mp4", tmp_path / "a.wav", 16000, max_seconds=100.0)
    assert tracemalloc.get_traced_memory()[1] < 1024 * 1024  # the cut copies in blocks
    tracemalloc.stop()


def test_frames_are_sampled_within_max_seconds(tmp_path):
    video = make_video(tmp_path / "v.mp4", seconds=2.0)  # 50 frames, numbered
    for kwargs in ({"n_frames_hint": 50, "fps": 25.0}, {}):
        sampled = sample_frames(video, {"scene": 5}, max_seconds=1.0, **kwargs)["scene"]
        assert sampled.cut_at == 1.0
        assert sampled.frame_index.tolist() == [0, 6, 12, 18, 24]
        assert [frame_number(f) for f in sampled.frames] == [0, 6, 12, 18, 24]
    whole = sample_frames(video, {"scene": 5}, n_frames_hint=50, max_seconds=5.0, fps=25.0)
    assert whole["scene"].cut_at is None and whole["scene"].frame_index.max() == 49
    assert sample_frames(video, {"scene": 5})["scene"].cut_at is None


def test_speech_windows_are_bounded_and_lose_nothing():
    rng = np.random.default_rng(0)
    pcm = rng.normal(0, 3000, 16000 * 95).astype("<i2")
    pcm[16000 * 27 : 16000 * 27 + 3200] = 0  # a pause 27 s in: the first boundary
    blocks = [pcm[i : i + 65536] for i in range(0, len(pcm), 65536)]
    windows = list(speech_windows(blocks, 16000, window_seconds=30.0))
    assert np.array_equal(np.concatenate(windows), pcm)
    assert all(len(w) <= 30 * 16000 for w in windows)
    assert 27 * 16000 <= len(windows[0]) <= 27 * 16000 + 3200
    assert len(list(speech_windows([pcm[:16000]], 16000))) == 1  # short: one utterance


@pytest.mark.slow
def test_a_wav_is_recognised_in_windows_with_progress(tmp_path, caplog):
    wav = tmp_path / "long.wav"
    t = np.arange(16000 * 7) / 16000
    write_wav(wav, 0.3 * np.sin(2 * np.pi * 220 * t) * (t % 2 < 1.5), 16000)
    recognizer = PocketsphinxRecognizer(window_seconds=1.0, progress_every=2)
    sizes = []
    new_decoder = recognizer.new_decoder  # one per recording

    class Spy:
        def __init__(self):
            self.real = new_decoder()

        def __getattr__(self, name):
            return getattr(self.real, name)

        def process_raw(self, data, *args, **kwargs):
            sizes.append(len(data))
            return self.real.process_raw(data, *args, **kwargs)

    recognizer.new_decoder = Spy
    with caplog.at_level(logging.INFO, logger="ahrec.transcripts.asr"):
        text = transcribe_wav(recognizer, wav)
    assert isinstance(text, str)
    assert len(sizes) >= 7 and max(sizes) <= 2 * 16000  # 1 s windows of 16-bit samples
    progress = [r.getMessage() for r in caplog.records if "speech recognition" in r.getMessage()]
    assert any(" of 7 s " in line for line in progress) and progress[-1].endswith("windows")
    # the same audio as an array is decoded the same way
    assert recognizer.transcribe([read_wav(wav)[0]], 16000) == [text]


def test_resolve_transcripts_streams_wav_paths(tmp_path):
    loud, silent, empty = tmp_path / "loud.wav", tmp_path / "silent.wav", tmp_path / "empty.wav"
    write_wav(loud, np.random.default_rng(0).normal(0, 0.1, 16000), 16000)
    write_wav(silent, np.zeros(16000), 16000)
    write_wav(empty, np.zeros(0), 16000)

    class Streaming:
        name = "stream"

        def transcribe(self, waveforms, sample_rate):
            raise AssertionError("a streaming recogniser gets paths")

        def transcribe_wav(self, path):
            return f"streamed {sum(len(b) for b in iter_wav(path))}"

    class Batching:
        name = "batch"

        def transcribe(self, waveforms, sample_rate):
            return [f"batched {len(w)}" for w in waveforms]

    videos = [{"video_id": v, "transcript": None} for v in ("a", "b", "c", "d")]
    audio = {"a": loud, "b": silent, "c": empty, "d": None}
    rows = resolve_transcripts(videos, audio, Streaming())
    assert [r.transcript for r in rows] == ["streamed 16000", None, None, None]
    assert [r.reason for r in rows[1:]] == [
        "no transcript and silent audio",
        "no transcript and no audio",
        "no transcript and no audio",
    ]
    assert resolve_transcripts(videos, audio, Batching())[0].transcript == "batched 16000"


# --- 4. big or odd corpus inputs ---------------------------------------------------

BILLION_LAUGHS = """\
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
chunks: [{timestamp: [0, 1], text: *g, label: 1}]
"""


def _listed(root: Path, transcript: str = "") -> Path:
    video = root / "Videos/P1/Visite_1/q.mp4"
    video.parent.mkdir(parents=True, exist_ok=True)
    video.write_bytes(b"")
    (root / "test.txt").write_text(f"Videos/P1/Visite_1/q.mp4,1,{transcript}\n")
    return video


def test_yaml_aliases_are_refused_with_the_file_named(tmp_path):
    video = _listed(tmp_path)
    yaml_path = video.with_suffix(".yaml")
    yaml_path.write_text(BILLION_LAUGHS)
    assert len(BILLION_LAUGHS) < 500
    with pytest.raises(CorpusError, match="anchors and aliases") as caught:
        transcript_from_yaml(yaml_path)
    assert f"{yaml_path}:1:" in str(caught.value)
    records, problems = read_split_file(tmp_path / "test.txt", tmp_path, "test")
    assert records == [] and len(problems) == 1
    assert problems[0].startswith(f"{yaml_path}:1: YAML anchors and aliases")
    assert problems[0].endswith(f"(for {tmp_path / 'test.txt'}:1)")


def test_transcripts_are_capped_with_file_and_line(tmp_path):
    _listed(tmp_path, "word " * 20_001)
    _, problems = read_split_file(tmp_path / "test.txt", tmp_path, "test")
    assert problems == [
        f"{tmp_path / 'test.txt'}:1: the transcript (third field) is 100,004 characters long, "
        "more than the 100,000 a transcript may hold; shorten it (or leave it empty for "
        "speech recognition)"
    ]
    video = _listed(tmp_path)
    chunk = "well " * 10_000
    lines = ["chunks:"] + [f"  - {{timestamp: [{i}, {i + 1}], text: '{chunk}'}}" for i in range(3)]
    video.with_suffix(".yaml").write_text("\n".join(lines) + "\n")
    with pytest.raises(CorpusError, match=r"q\.yaml:4: the transcript is 149,999 characters"):
        transcript_from_yaml(video.with_suffix(".yaml"))
    video.with_suffix(".yaml").write_text("chunks: [{text: 'unclosed}\n")
    with pytest.raises(CorpusError, match=r"q\.yaml:\d+: not valid YAML"):
        transcript_from_yaml(video.with_suffix(".yaml"))


def test_long_csv_fields_get_file_and_line(tmp_path):
    (tmp_path / "a.mp4").write_bytes(b"")
    manifest = tmp_path / "m.csv"
    long = "x" * 131_073  # over csv's default field limit: a bare _csv.Error before
    manifest.write_text(f'video_path,split,transcript\na.mp4,test,"ok"\na.mp4,test,"{long}"\n')
    limit = csv.field_size_limit()
    with pytest.raises(CorpusError, match=r"m\.csv:3: the transcript is 131,073 characters"):
        read_csv_manifest(manifest)
    huge = "y" * 1_000_001
    manifest.write_text(f'video_path,split,transcript\na.mp4,test,"ok"\na.mp4,test,"{huge}\n')
    with pytest.raises(CorpusError, match=r"m\.csv:3: malformed CSV: a field is longer than"):
        read_csv_manifest(manifest)
    assert csv.field_size_limit() == limit  # the process-wide limit is restored
    (tmp_path / "list.csv").write_text(f'video_path,transcript\na.mp4,"{long}"\n')
    with pytest.raises(CorpusError, match=r"list\.csv:2: the transcript is 131,073"):
        read_new_videos(tmp_path / "list.csv")


def test_unicode_line_separators_stay_inside_their_field(tmp_path):
    for name in ("a.mp4", "b.mp4", "c.mp4"):
        (tmp_path / "Videos/P1" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "Videos/P1" / name).write_bytes(b"")
    text = "Well\u2028maybe\x85so\x0cthen\x1e."
    (tmp_path / "test.txt").write_bytes(
        f"Videos/P1/a.mp4,1,{text}\r\nVideos/P1/b.mp4,0,x\nVideos/P1/c.mp4,2,bad\n".encode()
    )
    records, problems = read_split_file(tmp_path / "test.txt", tmp_path, "test")
    assert records[0].transcript == text and records[1].source.endswith("test.txt:2")
    assert len(problems) == 1 and "test.txt:3: label must be" in problems[0]
    assert len(read_text_lines(tmp_path / "test.txt")) == 3
    (tmp_path / "m.csv").write_text(
        'video_path,split,label\nVideos/P1/a.mp4,test,1\n"Videos/P1/b\u2028.mp4",test,1\n'
        "Videos/P1/c.mp4,test,7\n"
    )
    with pytest.raises(CorpusError) as caught:
        read_csv_manifest(tmp_path / "m.csv")
    assert caught.value.problems == [
        f"{tmp_path / 'm.csv'}:4: label must be 0, 1 or empty (unknown), got '7'"
    ]


def test_an_unreadable_predict_folder_gives_one_message(tmp_path, monkeypatch):
    (tmp_path / "ok").mkdir()
    (tmp_path / "ok" / "a.mp4").write_bytes(b"x")
    (tmp_path / "private").mkdir()
    real_scandir = os.scandir

    def scandir(path="."):
        if os.fspath(path).endswith("private"):  # what a folder without read access raises
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real_scandir(path)

    monkeypatch.setattr(new_videos_module.os, "scandir", scandir)
    with pytest.raises(CorpusError) as caught:
        read_new_videos(tmp_path)
    (problem,) = caught.value.problems
    assert problem.startswith(f"{tmp_path}: cannot read {tmp_path / 'private'} (Permission denied)")
    assert "point it at the folder that holds the videos" in problem
    monkeypatch.undo()
    with pytest.raises(CorpusError, match="more than 2 files and folders"):
        new_videos_module.walk_videos(tmp_path, max_entries=2)


def test_links_out_of_the_predict_folder_are_not_followed(tmp_path):
    folder, elsewhere = tmp_path / "new", tmp_path / "elsewhere"
    (folder / "sub").mkdir(parents=True)
    elsewhere.mkdir()
    (folder / "a.mp4").write_bytes(b"x")
    (folder / "sub" / "inside.mp4").symlink_to("../a.mp4")
    (elsewhere / "secret.mp4").write_bytes(b"x")
    (folder / "linked-folder").symlink_to(elsewhere, target_is_directory=True)
    assert [r.video_path for r in read_new_videos(folder)] == ["a.mp4", "sub/inside.mp4"]
    (folder / "out.mp4").symlink_to(elsewhere / "secret.mp4")
    with pytest.raises(CorpusError) as caught:
        read_new_videos(folder)
    (problem,) = caught.value.problems
    target = os.path.realpath(elsewhere / "secret.mp4")
    assert problem.startswith(f"{folder}/out.mp4: a symbolic link to {target}, outside {folder}")


def _not_utf8(folder: Path, raw: bytes) -> Path:
    """A path under ``folder`` whose last name is these bytes (as ``os`` decodes it)."""
    return folder / os.fsdecode(raw)


def test_a_name_that_is_not_utf8_is_one_message_and_the_batch_goes_on(tmp_path, caplog):
    from ahrec.corpus.manifest import read_manifest
    from ahrec.corpus.steps import build_new_videos_manifest
    from tests.media_factory import make_video

    folder = tmp_path / "new"
    make_video(folder / "ok.mp4", seconds=1.0)
    (folder / "sub" / "deeper").mkdir(parents=True)
    _not_utf8(folder / "sub" / "deeper", b"bad\xff.mp4").write_bytes(b"x")
    _not_utf8(folder, b"caf\xe9").mkdir()
    (_not_utf8(folder, b"caf\xe9") / "inside.mp4").write_bytes(b"x")
    _not_utf8(folder, b"notes\xff.txt").write_bytes(b"not a video: not mentioned")
    out = tmp_path / "manifest.parquet"
    with caplog.at_level(logging.WARNING, logger="ahrec.corpus.new_videos"):
        build_new_videos_manifest(folder, 1, out, tmp_path / "report.csv", workers=1)
    assert list(read_manifest(out)["video_path"]) == ["ok.mp4"]
    messages = sorted(r.getMessage() for r in caplog.records)
    assert messages == [
        f"{folder}: skipped 'caf\\xe9': its name is not valid UTF-8 (the \\x escapes are its "
        "bytes); rename it to predict it",
        f"{folder}: skipped 'sub/deeper/bad\\xff.mp4': its name is not valid UTF-8 (the \\x "
        "escapes are its bytes); rename it to predict it",
    ]
    assert all(m.encode("ascii") for m in messages)  # printable in any log


def test_a_csv_list_skips_a_path_that_is_not_utf8_and_names_other_bad_bytes(tmp_path, caplog):
    (tmp_path / "ok.mp4").write_bytes(b"x")
    _not_utf8(tmp_path, b"bad\xff.mp4").write_bytes(b"x")
    (tmp_path / "list.csv").write_bytes(b"video_path,transcript\nbad\xff.mp4,hi\nok.mp4,hello\n")
    with caplog.at_level(logging.WARNING, logger="ahrec.corpus.new_videos"):
        records = read_new_videos(tmp_path / "list.csv")
    assert [(r.video_path, r.transcript, r.source[-10:]) for r in records] == [
        ("ok.mp4", "hello", "list.csv:3")
    ]
    (message,) = [r.getMessage() for r in caplog.records]
    assert message.startswith(f"{tmp_path / 'list.csv'}:2: skipped 'bad\\xff.mp4': its name")
    (tmp_path / "list.csv").write_bytes(b"video_path,transcript\nok.mp4,caf\xe9\n")
    with pytest.raises(CorpusError) as caught:
        read_new_videos(tmp_path / "list.csv")
    assert caught.value.problems == [
        f"{tmp_path / 'list.csv'}:2: the transcript is not valid UTF-8 ('caf\\xe9'); "
        "save the list as UTF-8"
    ]
