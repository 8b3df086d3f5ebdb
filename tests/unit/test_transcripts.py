"""Transcripts: the corpus's own first, offline speech recognition for the rest."""

import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest

from ahrec.media.audio import read_wav, write_wav
from ahrec.transcripts.asr import PocketsphinxRecognizer, build_recognizer, resolve_transcripts
from ahrec.transcripts.steps import transcripts_shard

needs_espeak = pytest.mark.skipif(
    shutil.which("espeak-ng") is None, reason="espeak-ng not installed"
)


def speech(tmp_path, text: str) -> np.ndarray:
    raw = tmp_path / "raw.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "140", "-w", str(raw), text], check=True)
    samples, rate = read_wav(raw)
    # espeak speaks at 22.05 kHz; resample to 16 kHz by linear interpolation
    positions = np.arange(0, len(samples), rate / 16000)
    return np.interp(positions, np.arange(len(samples)), samples).astype(np.float32)


class Echo:
    """A recogniser with a known answer, to test the bookkeeping around it."""

    name = "echo"

    def transcribe(self, waveforms, sample_rate):
        return [f"heard {len(w)}" if len(w) > 100 else "" for w in waveforms]


def test_corpus_transcripts_win_and_gaps_are_filled_or_explained():
    videos = [
        {"video_id": "a", "transcript": "Well, maybe.", "transcript_source": "list"},
        {"video_id": "b", "transcript": None, "transcript_source": None},
        {"video_id": "c", "transcript": "  ", "transcript_source": None},
        {"video_id": "d", "transcript": None, "transcript_source": None},
        {"video_id": "e", "transcript": None, "transcript_source": None},
    ]
    noise = np.random.default_rng(0).normal(0, 0.1, 16000).astype(np.float32)
    audio = {
        "b": (noise, 16000),
        "c": (noise[:50], 16000),
        "d": None,
        "e": (np.zeros(16000, np.float32), 16000),
    }
    rows = resolve_transcripts(videos, audio, Echo())
    assert [(r.video_id, r.transcript, r.source) for r in rows[:2]] == [
        ("a", "Well, maybe.", "list"),
        ("b", "heard 16000", "asr:echo"),
    ]
    assert rows[2].transcript is None and rows[2].reason == "speech recognition found no words"
    assert rows[3].reason == "no transcript and no audio"
    assert rows[4].reason == "no transcript and silent audio"
    disabled = resolve_transcripts(videos, audio, None)
    assert disabled[1].reason == "no transcript (ASR disabled)"


@pytest.mark.slow
@needs_espeak
def test_pocketsphinx_recognises_synthesised_speech(tmp_path):
    recognizer = build_recognizer({"kind": "pocketsphinx", "language": "en"})
    assert isinstance(recognizer, PocketsphinxRecognizer)
    (text,) = recognizer.transcribe([speech(tmp_path, "hello, I think so, yes")], 16000)
    assert len(text.split()) >= 2  # offline ASR of synthetic speech: words, not accuracy
    with pytest.raises(ValueError, match="16000 Hz"):
        recognizer.transcribe([np.zeros(100, np.float32)], 8000)
    with pytest.raises(ValueError, match="English model only"):
        build_recognizer({"kind": "pocketsphinx", "language": "fr"})
    assert build_recognizer({"kind": "none"}) is None


@pytest.mark.slow
@needs_espeak
def test_transcripts_stage_writes_a_row_per_video(tmp_path):
    wav = tmp_path / "b.wav"
    write_wav(wav, speech(tmp_path, "maybe next year, I do not know"), 16000)
    videos = [
        {"video_id": "a", "transcript": "Yes, definitely.", "transcript_source": "list"},
        {"video_id": "b", "transcript": None, "transcript_source": None},
    ]
    out = tmp_path / "t.parquet"
    transcripts_shard(videos, {"b": wav}, out, {"kind": "pocketsphinx", "language": "en"})
    table = pd.read_parquet(out)
    assert table["video_id"].tolist() == ["a", "b"]
    assert table.loc[1, "source"] == "asr:pocketsphinx" and len(table.loc[1, "transcript"]) > 0
