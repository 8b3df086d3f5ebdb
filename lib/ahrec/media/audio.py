"""The audio track as 16 kHz mono PCM, extracted with ffmpeg.

ffmpeg is called with an argument list (never a shell string), so file
names with spaces, quotes or a leading dash are just arguments; it reads the
video under the same protocol and container whitelists as the probe
(``ahrec.media.probe``), so a playlist or text file named ``.mp4`` cannot
make it read anything else.

ffmpeg writes the wav file itself and Python only reads its header (and, to
cut a long recording, copies it in fixed-size blocks): the memory an
extraction needs does not grow with the duration of the video. An hour of
audio held as float64 arrays, as a decode into Python would, is 1.6 GB.

A killed job leaves nothing running or lying around for good: ffmpeg dies
with the job's process (``ahrec.processes.run_child``, through ``run_tool``),
and its temporary wav is named for the wav it becomes, so the next job
writing that wav deletes it (``ahrec.processes.remove_leftovers``).
"""

from __future__ import annotations

import logging
import os
import tempfile
import wave
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ahrec.media.probe import failure, input_args, media_url, run_tool
from ahrec.processes import temporary_beside

LOG = logging.getLogger(__name__)

BLOCK_FRAMES = 1 << 16  # samples per block when a wav is read or copied in pieces
# ffmpeg decodes this much past max_seconds, so a recording that is longer
# than the limit can be told from one that is exactly as long
_CUT_MARGIN_S = 0.5


class AudioError(Exception):
    """The audio track could not be extracted (message: the user-facing reason)."""


@dataclass(frozen=True)
class AudioExtraction:
    """What ``extract_audio_track`` wrote.

    ``reason``: why the wav holds no samples (None when it holds some);
    ``seconds``: the duration written; ``cut_at``: where a recording longer
    than ``max_seconds`` was cut (None when it was not), for the caller to log
    and record.
    """

    reason: str | None
    seconds: float = 0.0
    cut_at: float | None = None


def write_wav(path: str | Path, samples: np.ndarray, sample_rate: int) -> None:
    """Write mono int16 PCM atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = temporary_beside(path, ".wav")
    try:
        with wave.open(str(temporary), "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(sample_rate)
            flat = np.asarray(samples).reshape(-1)
            for start in range(0, flat.size, BLOCK_FRAMES):  # no full-length float64 copy
                block = np.clip(flat[start : start + BLOCK_FRAMES].astype(np.float64), -1.0, 1.0)
                out.writeframes((block * 32767.0).round().astype("<i2").tobytes())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def wav_info(path: str | Path) -> tuple[int, int, int]:
    """``(n_frames, sample_rate, channels)`` of a 16-bit PCM wav, from its header alone."""
    with wave.open(str(path), "rb") as handle:
        if handle.getsampwidth() != 2:
            raise AudioError(f"{path}: expected 16-bit PCM")
        return handle.getnframes(), handle.getframerate(), handle.getnchannels()


def iter_wav(path: str | Path, block_frames: int = BLOCK_FRAMES) -> Iterator[np.ndarray]:
    """Mono int16 blocks of at most ``block_frames`` samples: a wav of any length in flat memory."""
    with wave.open(str(path), "rb") as handle:
        if handle.getsampwidth() != 2:
            raise AudioError(f"{path}: expected 16-bit PCM")
        channels = handle.getnchannels()
        while True:
            raw = handle.readframes(block_frames)
            if not raw:
                return
            block = np.frombuffer(raw, dtype="<i2")
            if channels > 1:
                block = block.reshape(-1, channels).mean(axis=1).astype("<i2")
            yield block


def read_wav(path: str | Path) -> tuple[np.ndarray, int]:
    """Mono float32 samples in [-1, 1] and the sample rate (the whole file in memory)."""
    with wave.open(str(path), "rb") as handle:
        if handle.getsampwidth() != 2:
            raise AudioError(f"{path}: expected 16-bit PCM")
        rate = handle.getframerate()
        channels = handle.getnchannels()
        raw = handle.readframes(handle.getnframes())
    samples = np.frombuffer(raw, dtype="<i2").astype(np.float32)
    del raw
    samples /= 32768.0  # in place: one float32 copy, not two
    if channels > 1:
        samples = samples.reshape(-1, channels).mean(axis=1)
    return samples, rate


def _run_ffmpeg(arguments: list[str]) -> None:
    """Run ffmpeg; raise AudioError with its last error line (stderr kept on disk)."""
    command = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", *arguments]
    try:
        done, stderr = run_tool(command)
    except FileNotFoundError as exc:
        raise AudioError("ffmpeg is not installed (see README, Quick start)") from exc
    if done.returncode != 0:
        raise AudioError(failure(stderr, "ffmpeg could not decode the audio", "ffmpeg failed"))


def _check_max_seconds(max_seconds: float | None) -> None:
    if max_seconds is not None and not max_seconds > 0:
        raise ValueError(f"max_seconds must be positive or None, got {max_seconds!r}")


def decode_audio(
    video: str | Path, sample_rate: int = 16000, max_seconds: float | None = None
) -> np.ndarray:
    """The first audio track resampled to mono ``sample_rate``, float32 in [-1, 1].

    Holds the whole track in memory; ``extract_audio_track`` does not.
    """
    _check_max_seconds(max_seconds)
    with tempfile.TemporaryDirectory(prefix="ahrec-audio-") as folder:
        wav = Path(folder) / "audio.wav"
        result = extract_audio_track(video, wav, sample_rate, max_seconds=max_seconds)
        if result.reason is not None:
            raise AudioError(result.reason)
        samples, _ = read_wav(wav)
    return samples


def _copy_head(source: Path, target: Path, n_frames: int, sample_rate: int) -> None:
    """The first ``n_frames`` samples of a mono wav into another, block by block."""
    with wave.open(str(source), "rb") as reader, wave.open(str(target), "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(sample_rate)
        left = n_frames
        while left > 0:
            raw = reader.readframes(min(BLOCK_FRAMES, left))
            if not raw:
                break
            writer.writeframes(raw)
            left -= len(raw) // 2


def extract_audio_track(
    video: str | Path,
    wav: str | Path,
    sample_rate: int = 16000,
    has_audio: bool = True,
    max_seconds: float | None = None,
) -> AudioExtraction:
    """Write the video's audio as a mono 16-bit wav, streaming; say what was written.

    A video without a (decodable) audio track still gets a wav, with zero
    samples, so that the rule's output exists and the audio encoder marks the
    video unavailable instead of the run stopping. ``max_seconds`` keeps the
    first seconds of a longer recording (``cut_at`` says so); the rest is
    never decoded.
    """
    _check_max_seconds(max_seconds)
    wav = Path(wav)
    if not has_audio:
        write_wav(wav, np.zeros(0, dtype=np.float32), sample_rate)
        return AudioExtraction("no audio track")
    wav.parent.mkdir(parents=True, exist_ok=True)
    # Named for ``wav``: removed here in any case, and by the next job writing ``wav``
    # when this one is killed outright (``ahrec.processes.remove_leftovers``).
    temporary = temporary_beside(wav, ".wav")
    cut: Path | None = None
    try:
        limit = ["-t", f"{max_seconds + _CUT_MARGIN_S:.6f}"] if max_seconds is not None else []
        _run_ffmpeg(
            [
                *input_args(),
                "-i",
                media_url(video),
                "-vn",
                "-sn",
                "-dn",
                "-ac",
                "1",
                "-ar",
                str(sample_rate),
                "-c:a",
                "pcm_s16le",
                "-map_metadata",
                "-1",
                "-fflags",
                "+bitexact",
                "-flags:a",
                "+bitexact",
                *limit,
                "-f",
                "wav",
                "-y",
                media_url(temporary),
            ]
        )
        n_frames, rate, channels = wav_info(temporary)
        if rate != sample_rate or channels != 1:
            raise AudioError(f"ffmpeg wrote {channels} channel(s) at {rate} Hz")
        if n_frames == 0:
            raise AudioError("the audio track holds no samples")
        cut_at: float | None = None
        if max_seconds is not None and n_frames > round(max_seconds * sample_rate):
            n_frames = round(max_seconds * sample_rate)
            cut_at = float(max_seconds)
            cut = temporary_beside(wav, ".wav")
            _copy_head(temporary, cut, n_frames, sample_rate)
            os.replace(cut, wav)
            LOG.warning("%s: audio cut at %g s (max_seconds)", video, cut_at)
        else:
            os.replace(temporary, wav)
        return AudioExtraction(None, n_frames / sample_rate, cut_at)
    except (AudioError, wave.Error, EOFError) as exc:
        write_wav(wav, np.zeros(0, dtype=np.float32), sample_rate)
        return AudioExtraction(str(exc))
    finally:
        temporary.unlink(missing_ok=True)
        if cut is not None:
            cut.unlink(missing_ok=True)


def extract_audio(
    video: str | Path,
    wav: str | Path,
    sample_rate: int = 16000,
    has_audio: bool = True,
    max_seconds: float | None = None,
) -> str | None:
    """Write the video's audio as a wav; return why it is empty, or None when it is not.

    ``extract_audio_track`` does the work and also says where a recording
    longer than ``max_seconds`` was cut.
    """
    return extract_audio_track(
        video, wav, sample_rate, has_audio=has_audio, max_seconds=max_seconds
    ).reason
