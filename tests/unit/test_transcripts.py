"""Transcripts: the corpus's own first, offline speech recognition for the rest."""

import math
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest

from ahrec.config import load_settings
from ahrec.errors import ConfigError
from ahrec.media.audio import read_wav, write_wav
from ahrec.reporting.summaries import short_reason
from ahrec.transcripts.asr import (
    PocketsphinxRecognizer,
    build_recognizer,
    build_vad,
    resolve_transcripts,
)
from ahrec.transcripts.steps import transcripts_shard
from ahrec.transcripts.vad import CHUNK, CHUNK_MS, SileroVad, first_speech_run, min_chunks

VAD_REASON = "no transcript and no speech found by the voice-activity detector"

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


# --- the speech gate: the run rule, the detector, where it runs ---------------------------


def test_the_run_rule_needs_min_speech_ms_of_consecutive_chunks_at_the_threshold():
    # 32 ms chunks: 250 ms needs 8 of them (7 last 224 ms)
    assert min_chunks(250) == 8 and min_chunks(256) == 8 and min_chunks(0) == 1
    seven = [np.array([0.1] + [0.8] * 7 + [0.79] + [0.9] * 7)]  # two runs of 7, p == 0.8 counts
    decision = first_speech_run(seven, 0.8, 250)
    assert not decision.speech and decision.longest_ms == 7 * CHUNK_MS
    assert decision.scored_ms == 16 * CHUNK_MS
    assert short_reason(decision.reason) == VAD_REASON
    assert "224 ms" in decision.reason and "min_speech_ms 250" in decision.reason

    # a run may span batches, and nothing after the deciding batch is read
    def batches():
        yield np.array([0.0, 0.9, 0.9, 0.9])
        yield np.array([0.9] * 5 + [0.0])
        raise AssertionError("read past the decision")

    decision = first_speech_run(batches(), 0.8, 250)
    assert decision.speech and decision.longest_ms == 8 * CHUNK_MS
    assert decision.scored_ms == 9 * CHUNK_MS


@pytest.fixture(scope="module")
def silero() -> SileroVad:
    return SileroVad()


def test_the_detector_scores_the_same_whatever_the_blocks_and_company(silero):
    rng = np.random.default_rng(1)
    noise = rng.normal(0, 0.05, 16000 * 3).astype(np.float32)
    as_whole = np.concatenate(list(silero.probabilities([noise], 16000)))
    pieces = [noise[i : i + 777] for i in range(0, noise.size, 777)]
    in_pieces = np.concatenate(list(silero.probabilities(pieces, 16000)))
    assert as_whole.shape == (math.ceil(noise.size / CHUNK),)
    assert np.array_equal(as_whole, in_pieces)  # bit for bit
    silero.decide_samples(rng.normal(0, 0.3, 16000 * 3).astype(np.float32), 16000)
    again = np.concatenate(list(silero.probabilities([noise], 16000)))
    assert np.array_equal(as_whole, again)  # no state from the recording before
    assert not silero.decide_samples(noise, 16000).speech
    with pytest.raises(ValueError, match="threshold"):
        SileroVad(threshold=1.0)


@needs_espeak
def test_the_gate_runs_only_where_recognition_would_and_keeps_noise_from_it(tmp_path, silero):
    spoken = tmp_path / "spoken.wav"
    write_wav(spoken, speech(tmp_path, "maybe next year, I do not know"), 16000)
    noise = np.random.default_rng(0).normal(0, 0.1, 16000 * 2).astype(np.float32)

    class Listener(Echo):
        def __init__(self):
            self.heard: list[int] = []

        def transcribe(self, waveforms, sample_rate):
            self.heard.extend(len(w) for w in waveforms)
            return super().transcribe(waveforms, sample_rate)

    videos = [
        {"video_id": v, "transcript": t, "transcript_source": s}
        for v, t, s in [("a", "Yes.", "list"), ("b", None, None), ("c", None, None)]
    ]
    # "a" has a corpus transcript: its (noise) audio is neither gated nor recognised
    audio = {"a": (noise, 16000), "b": str(spoken), "c": (noise, 16000)}
    listener = Listener()
    rows = resolve_transcripts(videos, audio, listener, silero)
    assert [r.source for r in rows] == ["list", "asr:echo", None]
    assert short_reason(rows[2].reason) == VAD_REASON
    assert listener.heard == [read_wav(spoken)[0].size]  # the whole recording, not segments
    ungated = resolve_transcripts(videos, audio, Listener(), None)
    assert ungated[2].source == "asr:echo"  # what the gate is for


def test_transcripts_vad_is_validated_and_filled_in():
    settings = load_settings({})
    assert settings.config["transcripts"]["vad"] == {
        "kind": "silero",
        "threshold": 0.8,
        "min_speech_ms": 250.0,
    }
    assert build_vad({"kind": "none"}) is None and build_vad(None) is None
    with pytest.raises(ConfigError, match=r"transcripts.vad.kind: 'silerro' .*did you mean"):
        load_settings({"transcripts": {"vad": {"kind": "silerro"}}})
    with pytest.raises(ConfigError, match=r"transcripts.vad.threshold"):
        load_settings({"transcripts": {"vad": {"kind": "silero", "threshold": 1.5}}})


# --- every video on its own -----------------------------------------------------------


@pytest.mark.slow
@needs_espeak
def test_pocketsphinx_gives_each_video_a_fresh_decoder(tmp_path):
    recognizer = PocketsphinxRecognizer()
    assert recognizer.new_decoder() is not recognizer.new_decoder()
    first = speech(tmp_path, "go forward ten meters")
    second = speech(tmp_path, "maybe next year, I do not know")
    alone = recognizer.transcribe([second], 16000)
    assert recognizer.transcribe([first, second], 16000)[1] == alone[0]


@pytest.mark.slow
def test_whisper_batches_hold_one_video_each(tmp_path):
    from ahrec.devtools.tiny_models import tiny_whisper
    from ahrec.transcripts.whisper import WhisperRecognizer

    recognizer = WhisperRecognizer(str(tiny_whisper(tmp_path)), batch_size=4, device="cpu")
    rng = np.random.default_rng(3)
    long = rng.normal(0, 0.1, 16000 * 65).astype(np.float32)  # three windows
    short = rng.normal(0, 0.2, 16000 * 4).astype(np.float32)
    seen: list[int] = []
    decode = recognizer._decode_windows
    recognizer._decode_windows = lambda windows: seen.append(len(windows)) or decode(windows)
    together = recognizer.transcribe([long, short], 16000)
    assert seen == [3, 1]  # one call per video, never a mixed batch
    assert recognizer.transcribe([short], 16000)[0] == together[1]
    assert recognizer.transcribe([short, long], 16000) == together[::-1]
