"""The speech recognition kinds: one table row each, with the options ``transcripts.asr`` may set.

Speech recognition runs only for videos whose corpus gives no transcript.
Light (no torch): the Snakefile validates the configuration with it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from ahrec.kinds import Kind, KindTable, count, option


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
    batch_size: int = count(8, "30-second windows per forward pass")


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
