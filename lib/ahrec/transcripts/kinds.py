"""The speech recognition kinds: one table row each, with the options ``transcripts.asr`` may set.

Speech recognition runs only for videos whose corpus gives no transcript, and
only when the voice-activity detector (``transcripts.vad``) finds speech in them.
Light (no torch): the Snakefile validates the configuration with it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from ahrec.kinds import Kind, KindTable, count, number, option


@dataclass(frozen=True)
class PocketsphinxSpec:
    """CMU pocketsphinx with the US-English model its wheel ships: offline, CPU, modest accuracy."""

    language: str = option("en", "pocketsphinx ships English only")

    def __post_init__(self) -> None:
        if not self.language.lower().startswith("en"):
            raise ValueError(
                f"pocketsphinx ships an English model only; use kind: whisper for language {self.language!r}"
            )


@dataclass(frozen=True)
class WhisperSpec:
    """OpenAI Whisper through transformers (hub id or local folder), for GPU machines."""

    model: str = option(
        dataclasses.MISSING, "a hub id such as openai/whisper-small, or a local folder"
    )
    language: str = option("en", "spoken language (ISO code or Whisper's language name)")
    batch_size: int = count(8, "30-second windows of one video per forward pass (never mixed)")


@dataclass(frozen=True)
class NoAsrSpec:
    """No speech recognition: videos without a corpus transcript have no text."""


RECOGNIZERS: KindTable[Kind] = KindTable(
    "speech recogniser",
    [
        Kind("pocketsphinx", PocketsphinxSpec, "ahrec.transcripts.asr:PocketsphinxRecognizer"),
        Kind("whisper", WhisperSpec, "ahrec.transcripts.whisper:WhisperRecognizer", neural=True),
        Kind("none", NoAsrSpec, "ahrec.transcripts.asr:no_recognizer"),
    ],
)


@dataclass(frozen=True)
class SileroVadSpec:
    """Silero VAD (weights in the silero-vad wheel, run on the CPU): speech or not, per video."""

    threshold: float = option(
        0.8,
        "a 32 ms chunk is speech when its probability is at least this",
        low=0.0,
        high=1.0,
        low_open=True,
        high_open=True,
    )
    min_speech_ms: float = number(
        250.0, "a recording has speech when a run of speech chunks lasts this long", high=60000.0
    )


@dataclass(frozen=True)
class NoVadSpec:
    """No voice-activity gate: every recording with sound goes to the recogniser."""


# The gate before speech recognition: a video whose audio holds no speech (music, effects,
# noise) gets no transcript instead of invented words.
VOICE_DETECTORS: KindTable[Kind] = KindTable(
    "voice-activity detector",
    [
        Kind("silero", SileroVadSpec, "ahrec.transcripts.vad:SileroVad"),
        Kind("none", NoVadSpec, "ahrec.transcripts.asr:no_vad"),
    ],
)
