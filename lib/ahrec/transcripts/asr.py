"""Transcripts: the corpus's own where it has one, speech recognition elsewhere.

BAH ships transcripts; other corpora, new videos and some test videos do
not. The recogniser is chosen in config: pocketsphinx (its English model
ships in the wheel, so it runs offline on a laptop, at modest accuracy) or
Whisper by hub id or local folder on a GPU machine.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

_SPHINX_RATE = 16000


class Recognizer(Protocol):
    name: str

    def transcribe(self, waveforms: Sequence[np.ndarray], sample_rate: int) -> list[str]: ...


class PocketsphinxRecognizer:
    """CMU pocketsphinx with its bundled US-English acoustic and language models."""

    name = "pocketsphinx"

    def __init__(self, language: str = "en") -> None:
        if not language.lower().startswith("en"):
            raise ValueError(
                "pocketsphinx ships an English model only; set transcripts.asr.kind: whisper "
                f"for language {language!r}"
            )
        from pocketsphinx import Decoder

        self._decoder = Decoder(samprate=_SPHINX_RATE, loglevel="FATAL")

    def transcribe(self, waveforms: Sequence[np.ndarray], sample_rate: int) -> list[str]:
        if sample_rate != _SPHINX_RATE:
            raise ValueError(f"pocketsphinx needs {_SPHINX_RATE} Hz audio, got {sample_rate}")
        texts = []
        for samples in waveforms:
            pcm = (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2").tobytes()
            self._decoder.start_utt()
            self._decoder.process_raw(pcm, full_utt=True)
            self._decoder.end_utt()
            hypothesis = self._decoder.hyp()
            texts.append(hypothesis.hypstr.strip() if hypothesis is not None else "")
        return texts


def build_recognizer(settings: Mapping[str, Any], device: Any = "auto") -> Recognizer | None:
    """The recogniser a ``transcripts.asr`` section names; None when its kind is ``none``."""
    from ahrec.transcripts.kinds import RECOGNIZERS

    row, options, problems = RECOGNIZERS.parse("transcripts.asr", settings)
    if problems or row is None:
        raise ValueError("; ".join(problems))
    context: dict[str, Any] = {}
    if row.neural:
        from ahrec.device import select_device

        context["device"] = select_device(device) if isinstance(device, str) else device
    return row.load()(**vars(options), **context)


def no_recognizer() -> None:
    """Kind ``none``: no speech recognition."""
    return None


SILENCE_RMS = 1e-3  # about -60 dBFS: no speech to recognise


def is_silent(samples: np.ndarray) -> bool:
    return float(np.sqrt(np.mean(np.square(samples, dtype=np.float64)))) < SILENCE_RMS


@dataclass(frozen=True)
class TranscriptRow:
    video_id: str
    transcript: str | None
    source: str | None  # list | yaml | asr:<name> | None
    reason: str | None  # why there is no transcript


def resolve_transcripts(
    videos: Sequence[Mapping[str, Any]],
    audio: Mapping[str, tuple[np.ndarray, int] | None],
    recognizer: Recognizer | None,
) -> list[TranscriptRow]:
    """A transcript for every video: the corpus's, else recognised speech, else a reason.

    ``videos`` hold ``video_id``, ``transcript`` and ``transcript_source`` (from
    the manifest); ``audio`` maps the ids that need recognition to their
    waveform and rate, or None when the video has no usable audio.
    """
    rows: dict[str, TranscriptRow] = {}
    pending: list[tuple[str, np.ndarray, int]] = []
    for video in videos:
        video_id = video["video_id"]
        text = video.get("transcript")
        if text is not None and str(text).strip():
            rows[video_id] = TranscriptRow(
                video_id, str(text), video.get("transcript_source"), None
            )
            continue
        waveform = audio.get(video_id)
        if recognizer is None:
            rows[video_id] = TranscriptRow(video_id, None, None, "no transcript (ASR disabled)")
        elif waveform is None or waveform[0].size == 0:
            rows[video_id] = TranscriptRow(video_id, None, None, "no transcript and no audio")
        elif is_silent(waveform[0]):
            # recognisers hallucinate words in silence (Whisper notoriously so)
            rows[video_id] = TranscriptRow(video_id, None, None, "no transcript and silent audio")
        else:
            pending.append((video_id, waveform[0], waveform[1]))
    for rate in sorted({rate for _, _, rate in pending}):
        group = [(vid, samples) for vid, samples, r in pending if r == rate]
        texts = recognizer.transcribe([s for _, s in group], rate) if recognizer else []
        for (video_id, _), text in zip(group, texts, strict=True):
            if text.strip():
                rows[video_id] = TranscriptRow(
                    video_id, text.strip(), f"asr:{recognizer.name}", None
                )
            else:
                rows[video_id] = TranscriptRow(
                    video_id, None, None, "speech recognition found no words"
                )
    return [rows[video["video_id"]] for video in videos]
