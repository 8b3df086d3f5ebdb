"""Real speech for the demo videos, with the audio cue planted in its delivery.

espeak-ng speaks exactly the transcript's words, phrase by phrase (a phrase
is the text between commas), so the timestamps of the transcript YAML are
known to the sample. The audio cue lives only in *how* the words are said:
hesitant delivery (cue 1) is slower, lower and more varied in pitch, with
longer and more pauses; fluent delivery (cue 0) is steady with short pauses.
Per-participant voices, random jitter and background noise make the two
classes overlap, as real recordings do.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ahrec.demo.script import Sentence

SAMPLE_RATE = 22050  # espeak-ng's native rate
VOICE_VARIANTS: tuple[str, ...] = ("f1", "f2", "f3", "f4", "f5", "m1", "m2", "m3", "m4", "m7")
# Variables espeak-ng may keep from the caller's environment; see espeak_environment.
ESPEAK_PASSTHROUGH: tuple[str, ...] = ("PATH", "ESPEAK_DATA_PATH", "LD_LIBRARY_PATH", "SYSTEMROOT")
# A sound server that cannot exist, so that libpulse never looks for a real one.
NO_SOUND_SERVER = "unix:/nonexistent/ahrec-demo-no-sound-server"


@dataclass(frozen=True)
class Voice:
    """A participant's voice: espeak-ng variant, base pitch (0-99) and rate (words/min)."""

    variant: str
    pitch: float
    rate: float


@dataclass(frozen=True)
class Delivery:
    """How one video's words are delivered: the audio cue, with its noise."""

    rate_scale: float
    rate_jitter: float
    pitch_shift: float
    pitch_spread: float
    phrase_pause: tuple[float, float]
    sentence_pause: tuple[float, float]
    word_gap_probability: float
    noise_level: float


@dataclass(frozen=True)
class Speech:
    """A synthesised answer: the waveform and when each sentence is spoken."""

    samples: np.ndarray  # float32 mono in [-1, 1] at SAMPLE_RATE
    spans: list[tuple[float, float]]  # (start_s, end_s) of each kept sentence
    kept: list[int]  # indices of the sentences kept
    phrase_seconds: float  # total voiced time of the phrases
    pause_seconds: float  # total silence between phrases (after the first)

    @property
    def end_seconds(self) -> float:
        """When the last word ends."""
        return self.spans[-1][1] if self.spans else 0.0


def espeak_binary() -> str:
    """The espeak-ng executable; fails with the fix when it is not installed."""
    found = shutil.which("espeak-ng")
    if found is None:
        raise RuntimeError(
            "espeak-ng is not installed; the demo corpus needs it for speech "
            "(Debian/Ubuntu: apt-get install espeak-ng; macOS: brew install espeak-ng)"
        )
    return found


def espeak_environment(home: Path) -> dict[str, str]:
    """The environment espeak-ng runs in: nothing of the user's session but its paths.

    Why: espeak-ng (1.51, as packaged by Debian and Ubuntu) opens an audio device
    through pcaudiolib even when it only writes a wav (``--stdout`` or ``-w``).
    libpulse then looks up its runtime directory, and where ``$HOME`` holds no
    ``~/.config/pulse/<machine-id>-runtime`` link to an existing directory (a
    fresh machine or home, or a link whose /tmp target was cleared at reboot)
    it creates ``/tmp/pulse-XXXXXXXXXXXX``, drawing the name from libc's
    ``rand()``: 12 calls per try, one more try per name that already exists.
    espeak-ng draws the breath and aspiration noise of its voices from that
    same unseeded ``rand()`` sequence, so the phrase spoken by such a call came
    out with different samples: the first videos made on a fresh machine (and
    any video whose worker met a dangling link) differed from later runs.

    A sound server address that cannot exist makes libpulse skip the runtime
    directory (it never calls ``rand()``); an empty private ``home`` (also the
    XDG and temp folders) keeps ``~/espeak-ng-data``, ``~/.asoundrc`` and any
    other per-user state out, so every call starts from the same state. Only
    the variables in ``ESPEAK_PASSTHROUGH`` are kept (``ESPEAK_DATA_PATH`` is
    a deliberate choice of data, not session state).
    """
    env = {key: os.environ[key] for key in ESPEAK_PASSTHROUGH if key in os.environ}
    env.setdefault("PATH", os.defpath)
    env.update(
        HOME=str(home),
        TMPDIR=str(home),
        XDG_CONFIG_HOME=str(home / "config"),
        XDG_CACHE_HOME=str(home / "cache"),
        XDG_RUNTIME_DIR=str(home / "runtime"),
        PULSE_SERVER=NO_SOUND_SERVER,
        PULSE_RUNTIME_PATH=str(home / "pulse"),
        PULSE_CLIENTCONFIG=os.devnull,
    )
    return env


def voice_for_participant(rng: np.random.Generator) -> Voice:
    """A distinct voice per participant, so speaker identity is not the label."""
    variant = VOICE_VARIANTS[int(rng.integers(len(VOICE_VARIANTS)))]
    return Voice(
        variant=variant, pitch=float(rng.uniform(38, 62)), rate=float(rng.uniform(150, 180))
    )


def delivery_for_cue(audio_cue: int, rng: np.random.Generator) -> Delivery:
    """Draw the delivery of one video; the two cue distributions overlap a little."""
    if audio_cue:
        return Delivery(
            rate_scale=float(rng.uniform(0.66, 0.9)),
            rate_jitter=float(rng.uniform(0.06, 0.14)),
            pitch_shift=float(rng.uniform(-14, -1)),
            pitch_spread=float(rng.uniform(6, 16)),
            phrase_pause=(float(rng.uniform(0.12, 0.3)), float(rng.uniform(0.45, 0.85))),
            sentence_pause=(float(rng.uniform(0.35, 0.6)), float(rng.uniform(0.8, 1.4))),
            word_gap_probability=float(rng.uniform(0.2, 0.6)),
            noise_level=float(rng.uniform(0.002, 0.008)),
        )
    return Delivery(
        rate_scale=float(rng.uniform(0.85, 1.12)),
        rate_jitter=float(rng.uniform(0.0, 0.05)),
        pitch_shift=float(rng.uniform(-3, 6)),
        pitch_spread=float(rng.uniform(0.5, 5)),
        phrase_pause=(float(rng.uniform(0.02, 0.06)), float(rng.uniform(0.08, 0.25))),
        sentence_pause=(float(rng.uniform(0.12, 0.25)), float(rng.uniform(0.3, 0.55))),
        word_gap_probability=float(rng.uniform(0.0, 0.1)),
        noise_level=float(rng.uniform(0.002, 0.008)),
    )


def synthesise_phrase(text: str, variant: str, rate: int, pitch: int, word_gap: int) -> np.ndarray:
    """One phrase from espeak-ng, leading and trailing silence trimmed.

    Called with an argument list (``--`` before the text), never a shell line,
    in a fresh private home (see ``espeak_environment``: the samples must not
    depend on what earlier programs left in the user's home or /tmp).
    """
    command = [
        espeak_binary(),
        "-v",
        f"en-us+{variant}",
        "-s",
        str(rate),
        "-p",
        str(pitch),
        "-g",
        str(word_gap),
        "--stdout",
        "--",
        text,
    ]
    with tempfile.TemporaryDirectory(prefix="ahrec-espeak-") as home:
        result = subprocess.run(
            command, capture_output=True, check=True, env=espeak_environment(Path(home))
        )
    raw = result.stdout
    start = raw.find(b"data")
    if start < 0:
        raise RuntimeError(f"espeak-ng returned no audio for {text!r}")
    body = raw[start + 8 :]
    body = body[: len(body) // 2 * 2]
    samples = np.frombuffer(body, dtype="<i2").astype(np.float32) / 32768.0
    return trim_silence(samples)


def trim_silence(
    samples: np.ndarray, threshold: float = 0.02, margin_s: float = 0.01
) -> np.ndarray:
    """Cut the silence espeak-ng puts around a phrase, so timestamps hug the words."""
    loud = np.flatnonzero(np.abs(samples) > threshold * max(float(np.abs(samples).max()), 1e-6))
    if loud.size == 0:
        return samples[:0]
    margin = int(margin_s * SAMPLE_RATE)
    return samples[max(0, loud[0] - margin) : loud[-1] + margin + 1]


class Speaker:
    """Synthesises an answer once, then lays it out for any subset of its sentences.

    Every random draw happens up front, in a fixed order, so dropping sentences
    to fit the video does not change the others (and output stays deterministic).
    """

    def __init__(
        self,
        sentences: list[Sentence],
        voice: Voice,
        delivery: Delivery,
        rng: np.random.Generator,
    ) -> None:
        self.sentences = sentences
        self.phrase_audio: list[list[np.ndarray]] = []
        self.phrase_pauses: list[list[float]] = []
        self.sentence_pauses: list[float] = []
        self.lead_in = float(rng.uniform(0.2, 0.6))
        self.level = float(rng.uniform(0.45, 0.7))
        self.noise_level = delivery.noise_level
        self.noise_seed = int(rng.integers(2**31))
        for sentence in sentences:
            audio: list[np.ndarray] = []
            pauses: list[float] = []
            for _ in sentence.phrases():
                pauses.append(float(rng.uniform(*delivery.phrase_pause)))
            for phrase in sentence.phrases():
                rate = voice.rate * delivery.rate_scale * (1 + rng.normal(0, delivery.rate_jitter))
                pitch = voice.pitch + delivery.pitch_shift + rng.normal(0, delivery.pitch_spread)
                gap = int(rng.integers(1, 6)) if rng.random() < delivery.word_gap_probability else 0
                audio.append(
                    synthesise_phrase(
                        phrase,
                        voice.variant,
                        int(np.clip(round(rate), 80, 260)),
                        int(np.clip(round(pitch), 0, 99)),
                        gap,
                    )
                )
            self.phrase_audio.append(audio)
            self.phrase_pauses.append(pauses)
            self.sentence_pauses.append(float(rng.uniform(*delivery.sentence_pause)))

    def layout(self, kept: list[int], total_seconds: float | None = None) -> Speech:
        """The waveform of the sentences ``kept`` (in order), padded to ``total_seconds``."""
        pieces: list[np.ndarray] = []
        spans: list[tuple[float, float]] = []
        cursor = int(self.lead_in * SAMPLE_RATE)
        pieces.append(np.zeros(cursor, np.float32))
        voiced = 0
        paused = 0
        for number, index in enumerate(kept):
            if number:
                gap = int(self.sentence_pauses[index] * SAMPLE_RATE)
                pieces.append(np.zeros(gap, np.float32))
                cursor += gap
                paused += gap
            start = cursor
            for k, audio in enumerate(self.phrase_audio[index]):
                if k:
                    gap = int(self.phrase_pauses[index][k] * SAMPLE_RATE)
                    pieces.append(np.zeros(gap, np.float32))
                    cursor += gap
                    paused += gap
                pieces.append(audio)
                cursor += len(audio)
                voiced += len(audio)
            spans.append((start / SAMPLE_RATE, cursor / SAMPLE_RATE))
        speech = np.concatenate(pieces)
        peak = float(np.abs(speech).max()) if speech.size else 0.0
        if peak > 0:
            speech = speech * (self.level / peak)
        if total_seconds is not None:
            length = max(int(round(total_seconds * SAMPLE_RATE)), len(speech))
            speech = np.pad(speech, (0, length - len(speech)))
        noise_rng = np.random.default_rng(self.noise_seed)
        noise = noise_rng.normal(0.0, self.noise_level, len(speech)).astype(np.float32)
        hum_t = np.arange(len(speech), dtype=np.float32) / SAMPLE_RATE
        hum = 0.3 * self.noise_level * np.sin(2 * np.pi * 50.0 * hum_t, dtype=np.float32)
        samples = np.clip(speech + noise + hum, -1.0, 1.0).astype(np.float32)
        return Speech(
            samples=samples,
            spans=spans,
            kept=list(kept),
            phrase_seconds=voiced / SAMPLE_RATE,
            pause_seconds=paused / SAMPLE_RATE,
        )


def write_wav(path: Path, samples: np.ndarray, sample_rate: int = SAMPLE_RATE) -> None:
    """A 16-bit mono PCM wav (what ffmpeg muxes as the video's audio track)."""
    pcm = np.clip(np.round(samples * 32767.0), -32768, 32767).astype("<i2")
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(sample_rate)
        handle.writeframes(pcm.tobytes())
