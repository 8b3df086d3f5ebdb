"""Transcripts: the corpus's own where it has one, speech recognition elsewhere.

BAH ships transcripts; other corpora, new videos and some test videos do
not. The recogniser is chosen in config: pocketsphinx (its English model
ships in the wheel, so it runs offline on a laptop, at modest accuracy) or
Whisper by hub id or local folder on a GPU machine.

A voice-activity detector (``transcripts.vad``, ``ahrec.transcripts.vad``)
decides first whether a recording holds speech at all: music, effects and
noise get no transcript (and a reason) instead of invented words. When it
finds speech, the recogniser gets the whole recording, not only the speech
segments: the gate decides whether to recognise, the recogniser's own
windowing what to recognise.

Every video is recognised on its own: a fresh decoder per video
(pocketsphinx), batches of one video's windows (Whisper). A transcript is the
same, bit for bit, whichever videos share its shard and in whatever order.
"""

from __future__ import annotations

import logging
import os
import wave
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from ahrec.media.audio import BLOCK_FRAMES, AudioError, iter_wav, read_wav, wav_info

LOG = logging.getLogger(__name__)

_SPHINX_RATE = 16000
# pocketsphinx's search memory and time grow with the length of an
# utterance: long recordings are decoded as windows of at most this long...
WINDOW_SECONDS = 30.0
# ...each ending at the quietest 100 ms of its last seconds, so that a window
# boundary rarely falls inside a word.
BOUNDARY_SEARCH_SECONDS = 5.0
PROGRESS_EVERY = 10  # windows (five minutes of audio) between progress lines

# What resolve_transcripts takes per video: a waveform and its rate, the path
# of a wav file (read in blocks, flat memory), or None (no usable audio).
AudioSource = tuple[np.ndarray, int] | str | os.PathLike[str] | None


class Recognizer(Protocol):
    name: str

    def transcribe(self, waveforms: Sequence[np.ndarray], sample_rate: int) -> list[str]: ...


class VoiceGate(Protocol):
    """What gates recognition (``ahrec.transcripts.vad.SileroVad``): speech or not, and why."""

    def decide_wav(self, path: str | os.PathLike[str]) -> Any: ...

    def decide_samples(self, samples: np.ndarray, sample_rate: int) -> Any: ...


def to_pcm16(samples: np.ndarray) -> Iterator[np.ndarray]:
    """int16 blocks of a float waveform in [-1, 1], without a full-length copy."""
    flat = np.asarray(samples).reshape(-1)
    for start in range(0, flat.size, BLOCK_FRAMES):
        block = np.clip(flat[start : start + BLOCK_FRAMES], -1.0, 1.0)
        yield (block * 32767).astype("<i2")


def _quietest_point(pcm: np.ndarray, sample_rate: int) -> int:
    """Index of the middle of the quietest 100 ms of ``pcm`` (10 ms frames)."""
    hop = max(1, sample_rate // 100)
    n = len(pcm) // hop
    if n < 10:
        return len(pcm)
    frames = pcm[: n * hop].astype(np.float64).reshape(n, hop)
    energy = np.square(frames).mean(axis=1)
    smoothed = np.convolve(energy, np.ones(10), mode="valid")
    return (int(np.argmin(smoothed)) + 5) * hop


def speech_windows(
    blocks: Iterable[np.ndarray],
    sample_rate: int,
    window_seconds: float = WINDOW_SECONDS,
    search_seconds: float = BOUNDARY_SEARCH_SECONDS,
) -> Iterator[np.ndarray]:
    """Consecutive int16 windows of at most ``window_seconds``, cut at quiet points.

    Holds at most one window and one block: memory is flat in the duration.
    A recording that fits in one window is that one window, uncut.
    """
    size = max(1, int(window_seconds * sample_rate))
    search = min(size - 1, max(0, int(search_seconds * sample_rate)))
    pending = np.zeros(0, dtype="<i2")
    for block in blocks:
        pending = np.concatenate([pending, np.asarray(block, dtype="<i2")])
        while len(pending) > size:
            cut = size - search + _quietest_point(pending[size - search : size], sample_rate)
            cut = min(max(cut, 1), size)
            yield pending[:cut]
            pending = pending[cut:].copy()
    if len(pending):
        yield pending


class PocketsphinxRecognizer:
    """CMU pocketsphinx with its bundled US-English acoustic and language models.

    Decodes a recording as windows of at most ``window_seconds`` (one
    utterance each) and logs progress every ``progress_every`` windows, so an
    hour-long video takes memory of one window and says how far it is.

    Each recording gets a new ``Decoder``: pocketsphinx adapts its cepstral
    mean normalisation (and other feature state) as it decodes, so one decoder
    kept for a shard transcribes a video differently depending on the videos
    before it. ``Decoder.reinit_feat()`` also gave identical results in our
    measurement (0.1 ms against 0.3 s for a new decoder), but nothing in
    pocketsphinx promises that it restores every piece of state; a new decoder
    provably does, and costs little next to decoding (docs/measurements.md).
    """

    name = "pocketsphinx"

    def __init__(
        self,
        language: str = "en",
        window_seconds: float = WINDOW_SECONDS,
        progress_every: int = PROGRESS_EVERY,
    ) -> None:
        if not language.lower().startswith("en"):
            raise ValueError(
                "pocketsphinx ships an English model only; set transcripts.asr.kind: whisper "
                f"for language {language!r}"
            )
        if not window_seconds > 0 or progress_every < 1:
            raise ValueError("window_seconds must be positive and progress_every at least 1")
        from pocketsphinx import Decoder

        self._decoder_class = Decoder
        self.window_seconds = float(window_seconds)
        self.progress_every = int(progress_every)

    def _check_rate(self, sample_rate: int) -> None:
        if sample_rate != _SPHINX_RATE:
            raise ValueError(f"pocketsphinx needs {_SPHINX_RATE} Hz audio, got {sample_rate}")

    def new_decoder(self) -> Any:
        """A decoder in its initial state: one per recording, never shared between two."""
        return self._decoder_class(samprate=_SPHINX_RATE, loglevel="FATAL")

    def _decode(self, blocks: Iterable[np.ndarray], total_seconds: float, label: str) -> str:
        texts: list[str] = []
        done = 0.0
        count = 0
        decoder = self.new_decoder()
        for window in speech_windows(blocks, _SPHINX_RATE, self.window_seconds):
            decoder.start_utt()
            decoder.process_raw(window.tobytes(), full_utt=True)
            decoder.end_utt()
            hypothesis = decoder.hyp()
            if hypothesis is not None and hypothesis.hypstr.strip():
                texts.append(hypothesis.hypstr.strip())
            done += len(window) / _SPHINX_RATE
            count += 1
            if count % self.progress_every == 0:
                LOG.info(
                    "%s: speech recognition at %.0f of %.0f s (%.0f%%), %d windows",
                    label,
                    done,
                    total_seconds,
                    100 * done / total_seconds if total_seconds else 100,
                    count,
                )
        if count >= self.progress_every:
            LOG.info("%s: speech recognition done, %.0f s in %d windows", label, done, count)
        return " ".join(texts)

    def transcribe(self, waveforms: Sequence[np.ndarray], sample_rate: int) -> list[str]:
        self._check_rate(sample_rate)
        return [
            self._decode(to_pcm16(samples), len(samples) / sample_rate, f"waveform {number}")
            for number, samples in enumerate(waveforms)
        ]

    def transcribe_wav(self, path: str | os.PathLike[str]) -> str:
        """The text of a wav file, read block by block (memory flat in its duration)."""
        n_frames, rate, _ = wav_info(path)
        self._check_rate(rate)
        return self._decode(iter_wav(path), n_frames / rate, str(path))


def transcribe_wav(recognizer: Recognizer, path: str | os.PathLike[str]) -> str:
    """One wav file's text: streamed where the recogniser can, else read whole."""
    streaming = getattr(recognizer, "transcribe_wav", None)
    if streaming is not None:
        return str(streaming(path))
    samples, rate = read_wav(path)
    return recognizer.transcribe([samples], rate)[0]


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


def build_vad(settings: Mapping[str, Any] | None) -> VoiceGate | None:
    """The detector a ``transcripts.vad`` section names; None for kind ``none`` or no section."""
    from ahrec.transcripts.kinds import VOICE_DETECTORS

    if settings is None:
        return None
    row, options, problems = VOICE_DETECTORS.parse("transcripts.vad", settings)
    if problems or row is None:
        raise ValueError("; ".join(problems))
    return row.load()(**vars(options))  # type: ignore[no-any-return]


def no_vad() -> None:
    """Kind ``none`` of ``transcripts.vad``: every recording with sound goes to the recogniser."""
    return None


SILENCE_RMS = 1e-3  # about -60 dBFS: no speech to recognise


def is_silent(samples: np.ndarray) -> bool:
    """RMS below ``SILENCE_RMS``; summed block by block (no float64 copy of the track)."""
    flat = np.asarray(samples).reshape(-1)
    if flat.size == 0:
        return True
    total = 0.0
    for start in range(0, flat.size, BLOCK_FRAMES):
        block = flat[start : start + BLOCK_FRAMES]
        total += float(np.square(block, dtype=np.float64).sum())
    return float(np.sqrt(total / flat.size)) < SILENCE_RMS


def is_silent_wav(path: str | os.PathLike[str]) -> bool:
    """``is_silent`` for a wav file, read block by block."""
    total, count = 0.0, 0
    for block in iter_wav(path):
        total += float(np.square(block, dtype=np.float64).sum()) / (32768.0 * 32768.0)
        count += block.size
    return count == 0 or float(np.sqrt(total / count)) < SILENCE_RMS


@dataclass(frozen=True)
class TranscriptRow:
    video_id: str
    transcript: str | None
    source: str | None  # list | yaml | asr:<name> | None
    reason: str | None  # why there is no transcript


def _audio_state(source: AudioSource) -> str | None:
    """Why a video's audio cannot be recognised (None: it can)."""
    if source is None:
        return "no transcript and no audio"
    if isinstance(source, tuple):
        samples = source[0]
        if samples.size == 0:
            return "no transcript and no audio"
        return "no transcript and silent audio" if is_silent(samples) else None
    try:
        n_frames, _, _ = wav_info(source)
        if n_frames == 0:
            return "no transcript and no audio"
        # recognisers hallucinate words in silence (Whisper notoriously so)
        return "no transcript and silent audio" if is_silent_wav(source) else None
    except (AudioError, wave.Error, EOFError, OSError) as exc:
        return f"no transcript and unreadable audio: {exc}"


def _no_speech(vad: Any, source: AudioSource) -> str | None:
    """The reason a recording holds no speech by the detector (None: it does)."""
    if isinstance(source, tuple):
        decision = vad.decide_samples(source[0], source[1])
    else:
        decision = vad.decide_wav(source)  # type: ignore[arg-type]
    return None if decision.speech else str(decision.reason)


def resolve_transcripts(
    videos: Sequence[Mapping[str, Any]],
    audio: Mapping[str, AudioSource],
    recognizer: Recognizer | None,
    vad: VoiceGate | None = None,
) -> list[TranscriptRow]:
    """A transcript for every video: the corpus's, else recognised speech, else a reason.

    ``videos`` hold ``video_id``, ``transcript`` and ``transcript_source`` (from
    the manifest); ``audio`` maps the ids that need recognition to their
    waveform and rate, to the path of their wav file, or to None when the
    video has no usable audio. A path is the better choice for long
    recordings: a recogniser that streams (pocketsphinx) reads it block by
    block, so memory does not grow with its duration.

    ``vad``, when given, runs on exactly the recordings the recogniser would
    get (never on a video with a corpus transcript) and keeps those without
    speech from it: they get no transcript, and its reason. Each video is
    recognised on its own, so the order and company of ``videos`` change
    nothing in any row.
    """
    rows: dict[str, TranscriptRow] = {}
    pending: list[tuple[str, np.ndarray, int]] = []
    files: list[tuple[str, str | os.PathLike[str]]] = []
    for video in videos:
        video_id = video["video_id"]
        text = video.get("transcript")
        if text is not None and str(text).strip():
            rows[video_id] = TranscriptRow(
                video_id, str(text), video.get("transcript_source"), None
            )
            continue
        source = audio.get(video_id)
        if recognizer is None:
            rows[video_id] = TranscriptRow(video_id, None, None, "no transcript (ASR disabled)")
            continue
        problem = _audio_state(source)
        if problem is None and vad is not None:
            problem = _no_speech(vad, source)
        if problem is not None:
            rows[video_id] = TranscriptRow(video_id, None, None, problem)
        elif isinstance(source, tuple):
            pending.append((video_id, source[0], source[1]))
        elif hasattr(recognizer, "transcribe_wav"):
            files.append((video_id, source))  # type: ignore[arg-type]
        else:  # a batching recogniser (Whisper) gets the waveform with the others
            samples, rate = read_wav(source)  # type: ignore[arg-type]
            pending.append((video_id, samples, rate))
    recognised: list[tuple[str, str]] = []
    for video_id, path in files:
        recognised.append((video_id, transcribe_wav(recognizer, path)))  # type: ignore[arg-type]
    for rate in sorted({rate for _, _, rate in pending}):
        group = [(vid, samples) for vid, samples, r in pending if r == rate]
        texts = recognizer.transcribe([s for _, s in group], rate) if recognizer else []
        recognised.extend((vid, text) for (vid, _), text in zip(group, texts, strict=True))
    for video_id, text in recognised:
        if text.strip():
            rows[video_id] = TranscriptRow(
                video_id,
                text.strip(),
                f"asr:{recognizer.name}",  # type: ignore[union-attr]
                None,
            )
        else:
            rows[video_id] = TranscriptRow(
                video_id, None, None, "speech recognition found no words"
            )
    return [rows[video["video_id"]] for video in videos]
