"""Audio-only interviews through the real media steps: a batch mixing real recordings.

A phone or audio interview (``.wav``, ``.m4a``...) must give the audio and
text modalities and mask scene and face with a clear reason, with one row in
every table, beside real videos of the same batch. This runs the library's
steps as the rules call them (manifest, frames and audio per shard, a scene
and an audio encoder, the availability table), without Snakemake: a real
talking-head video with no audio track (``carphone``), a real voice re-encoded
as ``.m4a`` and a real voice left as ``.wav``.
"""

from __future__ import annotations

import shutil
import wave
from pathlib import Path

import pandas as pd
import pytest

from ahrec.corpus import plan
from ahrec.corpus.steps import build_new_videos_manifest
from ahrec.embeddings.availability import availability
from ahrec.embeddings.kinds import parse_encoder
from ahrec.embeddings.steps import embed_audio_shard, embed_frames_shard
from ahrec.media.audio import read_wav
from ahrec.media.framestore import load_frame_sets
from ahrec.media.probe import AUDIO_ONLY
from ahrec.media.shard import media_files, read_index
from ahrec.media.steps import extract_audio_shard, extract_frames_shard
from tests.audio_only import make_audio
from tests.real.media import path_of, require_real_media

SAMPLE_RATE = 16000
INTERVIEW = "speech/librivox-0870.wav"  # a LibriVox reader, re-encoded as .m4a


def _seconds(wav: Path) -> float:
    with wave.open(str(wav), "rb") as handle:
        return handle.getnframes() / handle.getframerate()


@pytest.fixture(scope="module")
def batch(tmp_path_factory) -> dict[str, Path]:
    """A folder of new recordings as a user would hand it in, and its manifest."""
    require_real_media()
    root = tmp_path_factory.mktemp("audio-only")
    folder = root / "interviews"
    folder.mkdir()
    shutil.copyfile(path_of("video/carphone.mp4"), folder / "carphone.mp4")
    make_audio(folder / "phone" / "interview.m4a", path_of(INTERVIEW))
    shutil.copyfile(path_of("speech/goforward.wav"), folder / "phone" / "call.wav")
    (folder / "phone" / "notes.txt").write_text("interviewer's notes: not a recording\n")
    manifest = root / "manifest.parquet"
    build_new_videos_manifest(folder, 1, manifest, root / "manifest_report.csv", workers=2)
    return {"root": root, "manifest": manifest, "report": root / "manifest_report.csv"}


def _media(batch: dict[str, Path]) -> tuple[pd.DataFrame, dict[str, Path]]:
    """Scene and face frames and audio of the batch's one shard, as the media rules make them."""
    from ahrec.corpus.manifest import read_manifest

    root, manifest = batch["root"], read_manifest(batch["manifest"])
    indexes = {kind: root / "media" / kind / "shard-0.json" for kind in ("scene", "face", "audio")}
    if not all(index.exists() for index in indexes.values()):
        frames = plan.shard_media(manifest, 0, "frames")
        extract_frames_shard(
            frames, root / "media" / "scene", indexes["scene"], n_frames=8, short_side=112
        )
        extract_frames_shard(
            frames, root / "media" / "face", indexes["face"], n_frames=8, max_side=256
        )
        extract_audio_shard(
            plan.shard_media(manifest, 0, "audio"),
            root / "media" / "audio",
            indexes["audio"],
            sample_rate=SAMPLE_RATE,
        )
    return manifest.set_index("video_path"), indexes


def test_the_manifest_takes_audio_files_and_reports_them_once(batch):
    manifest, _ = _media(batch)
    assert sorted(manifest.index) == ["carphone.mp4", "phone/call.wav", "phone/interview.m4a"]
    for audio_only in ("phone/call.wav", "phone/interview.m4a"):
        row = manifest.loc[audio_only]
        assert row["readable"] and row["has_audio"] and not row["has_video"], audio_only
    seconds = _seconds(path_of(INTERVIEW))
    assert manifest.loc["phone/interview.m4a", "duration"] == pytest.approx(seconds, abs=0.1)
    video = manifest.loc["carphone.mp4"]
    assert video["has_video"] and not video["has_audio"] and video["n_frames"] == 120
    report = pd.read_csv(batch["report"])
    rows = {
        path: list(zip(g["issue"], g["consequence"], strict=True))
        for path, g in report.groupby("video_path")
    }
    assert rows == {
        "carphone.mp4": [("no audio track and no transcript", "audio and text unavailable")],
        "phone/call.wav": [
            ("audio-only recording (no video stream)", "scene and face unavailable")
        ],
        "phone/interview.m4a": [
            ("audio-only recording (no video stream)", "scene and face unavailable")
        ],
    }


def test_audio_only_files_give_audio_and_no_frames_with_the_reason(batch):
    manifest, indexes = _media(batch)
    ids = manifest["video_id"]
    for kind in ("scene", "face"):
        sets = {s.video_id: s for f in media_files([indexes[kind]]) for s in load_frame_sets(f)}
        assert len(sets) == 3
        assert sets[ids["carphone.mp4"]].available and len(sets[ids["carphone.mp4"]].frames) == 8
        for audio_only in ("phone/call.wav", "phone/interview.m4a"):
            frame_set = sets[ids[audio_only]]
            assert not frame_set.available and frame_set.reason == AUDIO_ONLY, kind
    wavs = read_index(indexes["audio"])
    interview, rate = read_wav(wavs[ids["phone/interview.m4a"]])
    seconds = _seconds(path_of(INTERVIEW))
    assert rate == SAMPLE_RATE and interview.size == pytest.approx(seconds * SAMPLE_RATE, rel=0.03)
    call, _ = read_wav(wavs[ids["phone/call.wav"]])
    original, original_rate = read_wav(path_of("speech/goforward.wav"))
    assert call.size == pytest.approx(original.size * SAMPLE_RATE / original_rate, abs=160)
    assert read_wav(wavs[ids["carphone.mp4"]])[0].size == 0  # no audio track
    # speech recognition is planned for both, as for any video without a transcript
    assert sorted(plan.asr_video_ids(manifest.reset_index(), 0, "whisper")) == sorted(ids)


def test_availability_has_one_row_per_recording_and_modality_with_the_reason(batch):
    manifest, indexes = _media(batch)
    root, tables = batch["root"], []
    for modality, name, raw in (("scene", "motion", {"kind": "motion_stats"}),
                                ("audio", "egemaps", {"kind": "opensmile"})):  # fmt: skip
        spec, problems = parse_encoder(modality, name, raw)
        assert spec is not None, problems
        out = root / "embeddings" / modality / f"{name}.parquet"
        out.parent.mkdir(parents=True, exist_ok=True)
        if modality == "scene":
            embed_frames_shard(spec, media_files([indexes["scene"]]), out, device="cpu")
        else:
            reasons = plan.audio_reasons(manifest.reset_index(), 0)
            wavs = {Path(p).stem: p for p in media_files([indexes["audio"]])}
            embed_audio_shard(spec, wavs, reasons, out, device="cpu")
        tables.append(out)
    table = availability(batch["manifest"], tables, None, root / "availability.csv")
    assert len(table) == 3 * 2  # one row per recording and table
    got = {
        (r.video_path, r.modality): (r.available, None if pd.isna(r.reason) else r.reason)
        for r in table.itertuples()
    }
    for audio_only in ("phone/call.wav", "phone/interview.m4a"):
        assert got[(audio_only, "scene")] == (False, AUDIO_ONLY)
        assert got[(audio_only, "audio")] == (True, None)
    assert got[("carphone.mp4", "scene")] == (True, None)
    assert got[("carphone.mp4", "audio")] == (False, "no audio track")
