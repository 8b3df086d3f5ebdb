"""Frame sampling, decoding once, the frame store, audio extraction, audio-only recordings."""

import logging
import subprocess

import numpy as np
import pytest

from ahrec.media import frames as frames_module
from ahrec.media.audio import extract_audio, read_wav
from ahrec.media.frames import (
    DecodeError,
    capture_options,
    limit_long_side,
    resize_short_side,
    sample_frames,
)
from ahrec.media.framestore import FrameSet, load_frame_set, load_frame_sets, save_frame_sets
from ahrec.media.probe import AUDIO_CONTAINERS, AUDIO_ONLY, FORMAT_WHITELIST, probe_video
from ahrec.media.sampling import evenly_spaced
from ahrec.media.steps import extract_frames
from tests.audio_only import SPEECH_SECONDS, make_audio, make_mp3_with_cover
from tests.media_factory import frame_number, make_video


def test_evenly_spaced_includes_both_ends_and_repeats_when_short():
    assert evenly_spaced(100, 5).tolist() == [0, 25, 50, 74, 99]
    assert evenly_spaced(16, 16).tolist() == list(range(16))
    short = evenly_spaced(3, 6)
    assert len(short) == 6 and short.min() == 0 and short.max() == 2
    with pytest.raises(ValueError):
        evenly_spaced(0, 4)


def test_sample_frames_decodes_once_for_all_modalities(tmp_path, monkeypatch):
    video = make_video(tmp_path / "v.mp4", seconds=2.0)  # 50 frames
    opened = []
    real = frames_module.cv2.VideoCapture

    def counting(*args):
        opened.append(args)
        return real(*args)

    monkeypatch.setattr(frames_module.cv2, "VideoCapture", counting)
    sampled = sample_frames(video, {"scene": 16, "face": 30}, n_frames_hint=50)
    assert len(opened) == 1
    assert sampled["scene"].frame_index.tolist() == evenly_spaced(50, 16).tolist()
    assert len(sampled["face"].frames) == 30
    for index, rgb in zip(sampled["scene"].frame_index, sampled["scene"].frames, strict=True):
        assert rgb.shape == (120, 160, 3) and rgb.dtype == np.uint8
        assert frame_number(rgb) == index  # the right frames, in order


def test_wrong_frame_count_hint_falls_back_to_real_frames(tmp_path):
    video = make_video(tmp_path / "v.mp4", seconds=1.0)  # 25 frames
    sampled = sample_frames(video, {"scene": 8}, n_frames_hint=100)
    assert sampled["scene"].frame_index.max() == 24
    assert len(sampled["scene"].frames) == 8
    assert sample_frames(video, {"scene": 4})["scene"].frame_index.tolist() == [0, 8, 16, 24]


def test_undecodable_file_raises_decode_error(tmp_path):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(np.random.default_rng(0).bytes(5000))
    with pytest.raises(DecodeError):
        sample_frames(bad, {"scene": 4})


def test_resizing_helpers():
    image = np.zeros((480, 640, 3), np.uint8)
    assert resize_short_side(image, 224).shape == (224, 299, 3)
    assert limit_long_side(image, 320).shape == (240, 320, 3)
    assert limit_long_side(image, 1280) is image


def test_frame_store_round_trip_with_extras_and_reasons(tmp_path):
    rng = np.random.default_rng(1)
    smooth = [np.full((32, 48, 3), v, np.uint8) for v in (10, 120, 240)]
    sets = [
        FrameSet("a", smooth, np.array([0, 5, 9]), extras={"detected": np.array([1, 0, 1], bool)}),
        FrameSet(
            "b",
            [],
            np.zeros(0, np.int64),
            reason="unreadable",
            extras={"detected": np.zeros(0, bool)},
        ),
    ]
    path = tmp_path / "s.npz"
    save_frame_sets(path, sets, quality=95)
    back = load_frame_sets(path)
    assert [s.video_id for s in back] == ["a", "b"]
    assert back[0].available and not back[1].available and back[1].reason == "unreadable"
    assert back[0].frame_index.tolist() == [0, 5, 9]
    assert back[0].extras["detected"].tolist() == [True, False, True]
    for original, decoded in zip(smooth, back[0].frames, strict=True):
        assert decoded.shape == original.shape
        assert np.abs(decoded.astype(int) - original).max() <= 2
    with np.load(path, allow_pickle=False) as archive:  # no object arrays inside
        assert all(archive[k].dtype != object for k in archive.files)
    noisy = [rng.integers(0, 255, (16, 16, 3), dtype=np.uint8)]
    save_frame_sets(path, [FrameSet("n", noisy, np.array([3]))])
    assert load_frame_set(path).frames[0].shape == (16, 16, 3)


@pytest.mark.slow
@pytest.mark.parametrize(
    "name", ["plain.mp4", "with space.mp4", 'it\'s "quoted".mp4', "-dash é.mp4"]
)
def test_extract_audio_resamples_to_16k_mono(tmp_path, name):
    video = make_video(tmp_path / name, seconds=1.5)
    wav = tmp_path / "out" / "a.wav"
    assert extract_audio(video, wav, 16000) is None
    samples, rate = read_wav(wav)
    assert rate == 16000
    assert samples.dtype == np.float32 and samples.ndim == 1
    assert abs(len(samples) - 24000) < 1600
    assert 0.1 < np.abs(samples).max() <= 1.0


@pytest.mark.slow
def test_no_audio_track_and_silent_audio(tmp_path):
    mute = make_video(tmp_path / "mute.mp4", seconds=1.0, audio=False)
    assert not probe_video(mute).has_audio
    wav = tmp_path / "mute.wav"
    assert extract_audio(mute, wav, 16000, has_audio=False) == "no audio track"
    assert read_wav(wav)[0].size == 0
    reason = extract_audio(mute, wav, 16000, has_audio=True)  # the manifest was wrong
    assert reason and "audio" in reason and read_wav(wav)[0].size == 0
    silent = make_video(tmp_path / "silent.mp4", seconds=1.0, silent=True)
    assert extract_audio(silent, wav, 16000) is None
    samples, _ = read_wav(wav)
    assert samples.size > 10000 and np.abs(samples).max() < 1e-3


def test_extract_frames_stage_for_each_modality(tmp_path):
    video = make_video(tmp_path / "v.mp4", seconds=2.0, width=320, height=240)
    scene, face = tmp_path / "scene.npz", tmp_path / "face.npz"
    assert extract_frames(video, "vid-1", scene, 16, short_side=112, n_frames_hint=50) is None
    assert extract_frames(video, "vid-1", face, 30, max_side=200, n_frames_hint=50) is None
    scene_set, face_set = load_frame_set(scene), load_frame_set(face)
    assert scene_set.video_id == "vid-1" and len(scene_set.frames) == 16
    assert scene_set.frames[0].shape == (112, 149, 3)  # short side 112
    assert scene_set.frame_index.tolist() == evenly_spaced(50, 16).tolist()
    assert len(face_set.frames) == 30 and face_set.frames[0].shape == (150, 200, 3)  # long side 200


def test_extract_frames_stage_records_why_a_video_has_no_frames(tmp_path):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\x00" * 100)
    out = tmp_path / "scene.npz"
    reason = extract_frames(bad, "bad-1", out, 16, short_side=112)
    assert reason
    assert not load_frame_set(out).available and load_frame_set(out).reason == reason
    reason = extract_frames(bad, "bad-1", out, 16, problem="empty file")
    assert reason == "empty file" and load_frame_set(out).reason == "empty file"


# --- audio-only recordings (phone and audio interviews) ---------------------------------


@pytest.mark.parametrize("suffix", [".wav", ".flac", ".mp3", ".m4a", ".ogg", ".opus", ".aac"])
def test_an_audio_only_recording_is_readable_audio_without_frames(tmp_path, suffix):
    """A real voice in each common audio container: readable, no video stream, its audio
    extracted like a video's track; frames are never decoded from it."""
    recording = make_audio(tmp_path / f"interview{suffix}")
    info = probe_video(recording)
    assert info.readable and info.has_audio and not info.has_video, info
    assert info.problem is None
    assert info.duration == pytest.approx(SPEECH_SECONDS, abs=0.15)  # encoders pad a little
    assert (info.fps, info.n_frames, info.width, info.height) == (None, None, None, None)
    wav = tmp_path / "out.wav"
    assert extract_audio(recording, wav, 16000) is None
    samples, rate = read_wav(wav)
    assert rate == 16000 and abs(samples.size - SPEECH_SECONDS * 16000) < 0.15 * 16000
    assert np.abs(samples).max() > 0.05  # the voice, not silence
    with pytest.raises(DecodeError):  # OpenCV's whitelist holds video containers only
        sample_frames(recording, {"scene": 4})


def test_cover_art_is_not_a_video_stream(tmp_path):
    info = probe_video(make_mp3_with_cover(tmp_path / "song.mp3"))
    assert info.readable and info.has_audio and not info.has_video, info


def test_a_container_with_neither_video_nor_audio_is_unreadable(tmp_path):
    subtitles = tmp_path / "s.srt"
    subtitles.write_text("1\n00:00:00,000 --> 00:00:01,000\nhello\n")
    only = tmp_path / "subtitles.mkv"
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(subtitles), str(only)], check=True)
    info = probe_video(only)
    assert not info.readable and not info.has_video and not info.has_audio
    assert info.problem == "no video or audio stream"


def test_a_video_is_still_a_video(tmp_path):
    info = probe_video(make_video(tmp_path / "v.mp4", seconds=1.0))
    assert info.readable and info.has_video and info.has_audio and info.n_frames == 25


def test_frames_of_an_audio_only_recording_are_an_unavailable_set_with_the_reason(tmp_path, caplog):
    recording = make_audio(tmp_path / "call.m4a")
    out = tmp_path / "frames.npz"
    with caplog.at_level(logging.INFO, logger="ahrec.media.steps"):
        reason = extract_frames(recording, "call", out, n_frames=8, problem=AUDIO_ONLY)
    assert reason == AUDIO_ONLY == "audio-only recording: no video stream"
    (frame_set,) = load_frame_sets(out)
    assert not frame_set.available and frame_set.reason == AUDIO_ONLY
    assert frame_set.frames == [] and frame_set.frame_index.size == 0
    (record,) = [r for r in caplog.records if "no frames" in r.getMessage()]
    assert record.levelno == logging.INFO  # expected of an audio file: not a warning


def test_the_audio_containers_are_read_by_ffmpeg_only():
    assert set(AUDIO_CONTAINERS) <= set(FORMAT_WHITELIST.split(","))
    assert not set(AUDIO_CONTAINERS) & set(
        capture_options().split("format_whitelist;")[1].split(",")
    )
    for refused in ("hls", "concat", "tty", "image2", "png_pipe", "lavfi", "s16le", "m4v"):
        assert refused not in FORMAT_WHITELIST.split(",")
