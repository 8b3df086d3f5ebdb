"""The audio track as 16 kHz mono PCM, extracted with ffmpeg.

ffmpeg is called through ffmpeg-python, which passes an argument list to the
process (never a shell string): file names with spaces, quotes or a leading
dash are just arguments.
"""

from __future__ import annotations

import os
import tempfile
import wave
from pathlib import Path

import ffmpeg
import numpy as np


class AudioError(Exception):
    """The audio track could not be extracted (message: the user-facing reason)."""


def write_wav(path: str | Path, samples: np.ndarray, sample_rate: int) -> None:
    """Write mono int16 PCM atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    pcm = np.clip(np.asarray(samples, dtype=np.float64), -1.0, 1.0)
    pcm16 = (pcm * 32767.0).round().astype("<i2")
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".wav")
    os.close(handle)
    try:
        with wave.open(temporary, "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(sample_rate)
            out.writeframes(pcm16.tobytes())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def read_wav(path: str | Path) -> tuple[np.ndarray, int]:
    """Mono float32 samples in [-1, 1] and the sample rate."""
    with wave.open(str(path), "rb") as handle:
        if handle.getsampwidth() != 2:
            raise AudioError(f"{path}: expected 16-bit PCM")
        rate = handle.getframerate()
        channels = handle.getnchannels()
        raw = handle.readframes(handle.getnframes())
    samples = np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768.0
    if channels > 1:
        samples = samples.reshape(-1, channels).mean(axis=1)
    return samples, rate


def decode_audio(video: str | Path, sample_rate: int = 16000) -> np.ndarray:
    """The first audio track resampled to mono ``sample_rate``, float32 in [-1, 1]."""
    try:
        out, _ = (
            ffmpeg.input(str(video))
            .output("pipe:", format="s16le", acodec="pcm_s16le", ac=1, ar=sample_rate, vn=None)
            .global_args("-nostdin", "-hide_banner", "-loglevel", "error")
            .run(capture_stdout=True, capture_stderr=True)
        )
    except ffmpeg.Error as exc:
        lines = (exc.stderr or b"").decode("utf-8", "replace").strip().splitlines()
        raise AudioError(
            f"ffmpeg could not decode the audio: {lines[-1] if lines else exc}"
        ) from exc
    samples = np.frombuffer(out, dtype="<i2").astype(np.float32) / 32768.0
    if samples.size == 0:
        raise AudioError("the audio track holds no samples")
    return samples


def extract_audio(
    video: str | Path, wav: str | Path, sample_rate: int = 16000, has_audio: bool = True
) -> str | None:
    """Write the video's audio as a wav; return why it is empty, or None when it is not.

    A video without a (decodable) audio track still gets a wav, with zero
    samples, so that the rule's output exists and the audio encoder marks the
    video unavailable instead of the run stopping.
    """
    if not has_audio:
        write_wav(wav, np.zeros(0, dtype=np.float32), sample_rate)
        return "no audio track"
    try:
        samples = decode_audio(video, sample_rate)
    except AudioError as exc:
        write_wav(wav, np.zeros(0, dtype=np.float32), sample_rate)
        return str(exc)
    write_wav(wav, samples, sample_rate)
    return None
