"""Media per shard: one job extracts the videos of its shard that changed, files stay per video."""

import json
import os
import shutil

import numpy as np
import pytest

from ahrec.media.audio import read_wav
from ahrec.media.framestore import load_frame_set
from ahrec.media.shard import media_files, read_index, resolve_media
from ahrec.media.steps import extract_audio_shard, extract_frames_shard
from tests.media_factory import make_video


def videos_in(tmp_path, n=3):
    folder = tmp_path / "videos"
    folder.mkdir()
    return [
        {
            "video_id": f"v{i}",
            "path": str(make_video(folder / f"v{i}.mp4", seconds=1.0, seed=i)),
            "n_frames_hint": 25,
            "fps": 25.0,
            "problem": None,
        }
        for i in range(n)
    ]


def mtimes(folder, suffix):
    return {p.name: p.stat().st_mtime_ns for p in sorted(folder.glob(f"*{suffix}"))}


def frames_shard(videos, out, index, n_frames=4, threads=2):
    return extract_frames_shard(
        videos, out, index, n_frames=n_frames, short_side=64, threads=threads
    )


def test_a_shard_job_writes_one_file_per_video_and_an_index(tmp_path):
    videos = videos_in(tmp_path)
    out, index = tmp_path / "scene_frames", tmp_path / "scene_frames" / "shards" / "shard-0.json"
    summary = frames_shard(videos, out, index)
    assert sorted(summary.computed) == ["v0", "v1", "v2"] and summary.reused == []
    listed = read_index(index)
    assert listed == {v: str(out / f"{v}.npz") for v in ("v0", "v1", "v2")}
    for video_id, path in listed.items():
        frame_set = load_frame_set(path)
        assert frame_set.video_id == video_id and len(frame_set.frames) == 4
        assert min(frame_set.frames[0].shape[:2]) == 64
    # threads give the same files as one thread
    serial_out = tmp_path / "serial"
    frames_shard(videos, serial_out, serial_out / "index.json", threads=1)
    for video_id in listed:
        a, b = (
            load_frame_set(out / f"{video_id}.npz"),
            load_frame_set(serial_out / f"{video_id}.npz"),
        )
        assert all(np.array_equal(x, y) for x, y in zip(a.frames, b.frames, strict=True))


def test_adding_a_video_extracts_that_video_only(tmp_path):
    videos = videos_in(tmp_path, n=3)
    out, index = tmp_path / "scene_frames", tmp_path / "index.json"
    frames_shard(videos[:2], out, index)
    before = mtimes(out, ".npz")
    summary = frames_shard(videos, out, index)
    assert summary.computed == ["v2"] and summary.reused == ["v0", "v1"]
    after = mtimes(out, ".npz")
    assert {k: after[k] for k in before} == before  # the other videos' files are untouched
    assert json.loads(index.read_text())["extracted"] == ["v2"]
    assert media_files([index]) == [str(out / f"v{i}.npz") for i in range(3)]


def test_a_setting_a_manifest_value_or_the_video_itself_changes_the_key(tmp_path):
    videos = videos_in(tmp_path, n=3)
    out, index = tmp_path / "scene_frames", tmp_path / "index.json"
    frames_shard(videos, out, index)
    assert sorted(frames_shard(videos, out, index, n_frames=6).computed) == ["v0", "v1", "v2"]
    assert len(load_frame_set(out / "v1.npz").frames) == 6
    videos[1] = {**videos[1], "problem": "too short: 1.00 s (media.min_seconds: 2)"}
    assert frames_shard(videos, out, index, n_frames=6).computed == ["v1"]
    assert load_frame_set(out / "v1.npz").reason.startswith("too short")
    # the video file replaced by another recording (new size and modification time)
    shutil.copy(videos[0]["path"], videos[2]["path"] + ".new")
    os.replace(videos[2]["path"] + ".new", videos[2]["path"])
    assert frames_shard(videos, out, index, n_frames=6).computed == ["v2"]


def test_a_file_without_its_key_is_never_trusted(tmp_path):
    """A job killed between writing a file and its key: the next job extracts it again."""
    videos = videos_in(tmp_path, n=2)
    out, index = tmp_path / "scene_frames", tmp_path / "index.json"
    frames_shard(videos, out, index)
    (out / "v0.npz.key").unlink()
    (out / "v1.npz").unlink()  # and one whose file is gone
    assert sorted(frames_shard(videos, out, index).computed) == ["v0", "v1"]
    assert load_frame_set(out / "v1.npz").available


def test_an_unreadable_video_gets_a_file_that_says_why(tmp_path):
    videos = videos_in(tmp_path, n=1)
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\x00" * 100)
    videos.append({"video_id": "bad", "path": str(bad), "n_frames_hint": None, "fps": None})
    out, index = tmp_path / "scene_frames", tmp_path / "index.json"
    frames_shard(videos, out, index)
    assert not load_frame_set(out / "bad.npz").available
    assert load_frame_set(out / "v0.npz").available


def test_audio_shard_and_index_resolution(tmp_path):
    videos = [
        {"video_id": v["video_id"], "path": v["path"], "has_audio": True}
        for v in videos_in(tmp_path, n=2)
    ]
    videos[1]["has_audio"] = False
    out, index = tmp_path / "audio", tmp_path / "audio" / "shards" / "shard-1.json"
    summary = extract_audio_shard(videos, out, index, sample_rate=16000, threads=2)
    assert sorted(summary.computed) == ["v0", "v1"]
    samples, rate = read_wav(out / "v0.wav")
    assert rate == 16000 and samples.size > 8000
    assert read_wav(out / "v1.wav")[0].size == 0  # no track: an empty wav, not a failed job
    assert extract_audio_shard(videos, out, index, sample_rate=16000).reused == ["v0", "v1"]
    crops = tmp_path / "crops.npz"
    assert resolve_media([index, crops]) == [str(out / "v0.wav"), str(out / "v1.wav"), str(crops)]


def test_an_index_of_another_version_is_refused(tmp_path):
    index = tmp_path / "index.json"
    index.write_text(json.dumps({"version": 0, "videos": []}))
    with pytest.raises(ValueError, match="another version"):
        read_index(index)
