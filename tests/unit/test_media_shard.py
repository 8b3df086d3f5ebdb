"""Media per shard: one job extracts the videos of its shard that changed, files stay per video."""

import json
import os
import shutil

import numpy as np
import pytest

from ahrec.errors import CorpusError
from ahrec.io import content_digest
from ahrec.media import shard, steps
from ahrec.media.audio import read_wav
from ahrec.media.framestore import load_frame_set
from ahrec.media.shard import VideoMedia, media_files, media_key, read_index, resolve_media
from ahrec.media.steps import extract_audio_shard, extract_frames_shard
from tests.media_factory import make_video, replace_in_place


def videos_in(tmp_path, n=3):
    """Videos as the manifest hands them to a frames job (their content digest included)."""
    folder = tmp_path / "videos"
    folder.mkdir()
    videos = []
    for i in range(n):
        path = make_video(folder / f"v{i}.mp4", seconds=1.0, seed=i)
        videos.append(
            {
                "video_id": f"v{i}",
                "path": str(path),
                "digest": content_digest(path),
                "n_frames_hint": 25,
                "fps": 25.0,
                "problem": None,
            }
        )
    return videos


def mtimes(folder, suffix):
    return {p.name: p.stat().st_mtime_ns for p in sorted(folder.glob(f"*{suffix}"))}


def frames_shard(videos, out, index, n_frames=4, threads=2):
    return extract_frames_shard(
        videos, out, index, n_frames=n_frames, short_side=64, threads=threads
    )


@pytest.mark.slow
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


@pytest.mark.slow
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


@pytest.mark.slow
def test_a_setting_a_manifest_value_or_the_video_itself_changes_the_key(tmp_path):
    videos = videos_in(tmp_path, n=3)
    out, index = tmp_path / "scene_frames", tmp_path / "index.json"
    frames_shard(videos, out, index)
    assert sorted(frames_shard(videos, out, index, n_frames=6).computed) == ["v0", "v1", "v2"]
    assert len(load_frame_set(out / "v1.npz").frames) == 6
    videos[1] = {**videos[1], "problem": "too short: 1.00 s (media.min_seconds: 2)"}
    assert frames_shard(videos, out, index, n_frames=6).computed == ["v1"]
    assert load_frame_set(out / "v1.npz").reason.startswith("too short")
    # the video file replaced by another recording: the manifest's new digest is a new key
    shutil.copy(videos[0]["path"], videos[2]["path"] + ".new")
    os.replace(videos[2]["path"] + ".new", videos[2]["path"])
    videos[2] = {**videos[2], "digest": content_digest(videos[2]["path"])}
    assert frames_shard(videos, out, index, n_frames=6).computed == ["v2"]


def test_a_same_size_edit_with_its_mtime_put_back_is_extracted_again(tmp_path):
    """The manifest's digest, not the file's size and mtime, keys the media."""
    videos = videos_in(tmp_path, n=2)
    out, index = tmp_path / "scene_frames", tmp_path / "index.json"
    with open(videos[1]["path"], "ab") as handle:
        handle.write(b"\0" * 20_000)  # room for the other recording
    videos[1]["digest"] = content_digest(videos[1]["path"])
    frames_shard(videos, out, index)
    before = load_frame_set(out / "v1.npz").frames[0]
    key = media_key(VideoMedia.from_params(videos[1]), {}, "code")
    replace_in_place(videos[1]["path"], videos[0]["path"])
    videos[1] = {**videos[1], "digest": content_digest(videos[1]["path"])}  # the new manifest
    assert media_key(VideoMedia.from_params(videos[1]), {}, "code") != key
    assert frames_shard(videos, out, index).computed == ["v1"]
    after = load_frame_set(out / "v1.npz").frames[0]
    assert not np.array_equal(before, after)
    assert np.array_equal(after, load_frame_set(out / "v0.npz").frames[0])


@pytest.mark.slow
def test_a_file_changed_after_the_manifest_is_refused(tmp_path):
    """Extracting with the probe of another file (its frame count, its audio) is refused."""
    videos = videos_in(tmp_path, n=3)
    out, index = tmp_path / "scene_frames", tmp_path / "index.json"
    frames_shard(videos[:1], out, index)
    with open(videos[2]["path"], "ab") as handle:
        handle.write(b"\0" * 20_000)
    replace_in_place(videos[2]["path"], videos[1]["path"])  # the manifest still says v2's digest
    with pytest.raises(CorpusError) as caught:
        frames_shard(videos, out, index)
    assert str(caught.value).endswith(
        f"{videos[2]['path']} changed since the manifest was built; run again so that it is "
        "probed again"
    )
    assert list(read_index(index)) == ["v0"]  # the job fails: no new index
    assert not (out / "v2.npz").exists() and not (out / "v2.npz.key").exists()
    # the other videos are extracted and keyed: the rerun with the new manifest resumes there
    videos[2] = {**videos[2], "digest": content_digest(videos[2]["path"])}
    summary = frames_shard(videos, out, index)
    assert summary.computed == ["v2"] and summary.reused == ["v0", "v1"]
    # audio too
    audio = [{**v, "has_audio": True} for v in videos]
    audio[0]["digest"] = "0" * 64
    with pytest.raises(CorpusError, match="v0.mp4 changed since the manifest was built"):
        extract_audio_shard(audio, tmp_path / "audio", tmp_path / "audio.json", 16000)


def test_extract_again_re_extracts_every_video_and_only_when_it_changes(tmp_path):
    videos = videos_in(tmp_path, n=2)
    out, index = tmp_path / "scene_frames", tmp_path / "index.json"

    def run(token):
        return extract_frames_shard(
            videos, out, index, n_frames=2, short_side=32, extract_again=token
        )

    assert sorted(run(None).computed) == ["v0", "v1"]
    assert run(None).computed == []  # a forced rerun of the job alone reuses the files
    assert sorted(run("2024-06-01").computed) == ["v0", "v1"]
    assert run("2024-06-01").computed == []
    assert sorted(run(2).computed) == ["v0", "v1"]


def test_every_module_and_tool_build_that_decides_a_media_file_is_in_its_key(monkeypatch):
    frames = steps._frames_code()
    audio = steps._audio_code()
    assert frames != audio
    assert shard.code_fingerprint([steps], ["ffmpeg 6"]) != shard.code_fingerprint(
        [steps], ["ffmpeg 7"]
    )
    assert shard.ffmpeg_build().startswith("ffmpeg version")
    assert shard.opencv_build().startswith("opencv ")
    monkeypatch.setattr(shard, "opencv_build", lambda: "opencv 0.0 other")
    assert steps._frames_code() != frames and steps._audio_code() == audio
    monkeypatch.setattr(shard, "ffmpeg_build", lambda: "ffmpeg version 0")
    assert steps._audio_code() != audio
    seen: list[str] = []
    real = shard.code_fingerprint

    def recording(modules, builds=()):
        seen.extend(m.__name__ for m in modules)
        return real(modules, builds)

    monkeypatch.setattr(shard, "code_fingerprint", recording)
    steps._frames_code()
    assert {
        "ahrec.media.frames",
        "ahrec.media.framestore",
        "ahrec.media.probe",
        "ahrec.media.sampling",
        "ahrec.media.shard",
        "ahrec.media.steps",
    } <= set(seen)
    seen.clear()
    steps._audio_code()
    assert {"ahrec.media.audio", "ahrec.media.probe", "ahrec.media.shard"} <= set(seen)


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


@pytest.mark.slow
def test_audio_shard_and_index_resolution(tmp_path):
    videos = [
        {"video_id": v["video_id"], "path": v["path"], "digest": v["digest"], "has_audio": True}
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
