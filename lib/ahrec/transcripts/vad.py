"""Voice-activity detection: is there speech in a recording before words are recognised in it?

A speech recogniser turns any sound into words: music, effects and noise get
a transcript, and the text model then reads invented words as if someone had
said them. The gate is Silero VAD (MIT), whose weights ship as a safetensors
file inside the ``silero-vad`` wheel (``silero_vad/data/silero_vad_16k.safetensors``).
The network is re-declared here as a small torch module from the package's own
tinygrad definition (``silero_vad/tinygrad_model.py``) and its weights are read
with ``safetensors.torch.load_file``: no TorchScript, no pickle, and the
package is located on ``sys.path`` without importing it (``ahrec.models``).

Silero scores 32 ms chunks (512 samples at 16 kHz, with 64 samples of the
previous chunk as context and an LSTM state carried from chunk to chunk). A
recording has speech when some run of consecutive chunks with probability at
least ``threshold`` lasts ``min_speech_ms``. The defaults were measured on the
real recordings (docs/measurements.md): at p >= 0.8 the longest run is 416 ms
or more on every real speech recording and 0 ms on music, effects and noise.

The wav is read block by block (``iter_wav``) and scoring stops at the first
run long enough, so memory is flat in the duration. Each recording starts
from a zero state: a decision never depends on other videos.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ahrec.errors import ModelLoadError
from ahrec.media.audio import BLOCK_FRAMES, iter_wav
from ahrec.media.resample import resample
from ahrec.models import package_folder

VAD_RATE = 16000
CHUNK = 512  # samples scored at once (32 ms)
CONTEXT = 64  # samples of the previous chunk each chunk sees
CHUNK_MS = 1000.0 * CHUNK / VAD_RATE
BATCH_CHUNKS = 128  # chunks per forward pass (4.1 s): fixed, so results never depend on block sizes
WEIGHTS = "package:silero_vad/data/silero_vad_16k.safetensors"
THRESHOLD = 0.8
MIN_SPEECH_MS = 250.0


class SileroNetwork(nn.Module):
    """Silero VAD v6 at 16 kHz: a learned STFT, four convolutions, an LSTM cell, a sigmoid.

    Parameter names match the safetensors file's keys, so it loads strictly.
    """

    def __init__(self) -> None:
        super().__init__()
        self.stft_conv = nn.Conv1d(1, 258, 256, stride=128, bias=False)
        self.conv1 = nn.Conv1d(129, 128, 3, padding=1)
        self.conv2 = nn.Conv1d(128, 64, 3, stride=2, padding=1)
        self.conv3 = nn.Conv1d(64, 64, 3, stride=2, padding=1)
        self.conv4 = nn.Conv1d(64, 128, 3, padding=1)
        self.lstm_cell = nn.LSTMCell(128, 128)
        self.final_conv = nn.Conv1d(128, 1, 1)

    def features(self, chunks: torch.Tensor) -> torch.Tensor:
        """(n, CONTEXT + CHUNK) samples -> (n, 128): the part without state, batched."""
        x = nn.functional.pad(chunks, (0, CONTEXT), mode="reflect").unsqueeze(1)
        x = self.stft_conv(x)
        x = (x[:, :129] ** 2 + x[:, 129:] ** 2).sqrt()
        for conv in (self.conv1, self.conv2, self.conv3, self.conv4):
            x = conv(x).relu()
        return x.squeeze(-1)

    def forward(
        self, chunks: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor] | None = None
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """Speech probabilities of consecutive chunks of one recording, and the state after them."""
        features = self.features(chunks)
        hidden = []
        for row in features:
            state = self.lstm_cell(row.unsqueeze(0), state)
            hidden.append(state[0])
        h = torch.cat(hidden).relu().unsqueeze(-1)
        probabilities = self.final_conv(h).sigmoid().squeeze(1).mean(1)
        assert state is not None
        return probabilities, state


@dataclass(frozen=True)
class VadDecision:
    """Whether speech was found, and the longest run of speech chunks seen (until it was)."""

    speech: bool
    longest_ms: float  # the longest run of speech chunks seen (until the decision)
    scored_ms: float  # audio scored before deciding (all of it when no speech was found)
    threshold: float
    min_speech_ms: float

    @property
    def reason(self) -> str:
        """Why a video without speech has no transcript (the text before ':' is the short form)."""
        return (
            "no transcript and no speech found by the voice-activity detector: its longest run "
            f"at p >= {self.threshold:g} lasts {self.longest_ms:.0f} ms, under min_speech_ms "
            f"{self.min_speech_ms:g}"
        )


def min_chunks(min_speech_ms: float) -> int:
    """Chunks a run needs to last ``min_speech_ms`` (at least one)."""
    return max(1, math.ceil(min_speech_ms / CHUNK_MS - 1e-9))


def first_speech_run(
    batches: Iterable[np.ndarray], threshold: float, min_speech_ms: float
) -> VadDecision:
    """The rule: speech when consecutive chunks with p >= ``threshold`` last ``min_speech_ms``.

    ``batches`` are consecutive arrays of per-chunk probabilities; reading
    stops at the batch where the first long enough run ends (nothing after it
    is scored). A run may span batches.
    """
    needed = min_chunks(min_speech_ms)
    run = longest = chunks = 0
    for probabilities in batches:
        for p in np.asarray(probabilities).reshape(-1):
            chunks += 1
            run = run + 1 if p >= threshold else 0
            longest = max(longest, run)
            if longest >= needed:
                return VadDecision(
                    True, longest * CHUNK_MS, chunks * CHUNK_MS, threshold, min_speech_ms
                )
    return VadDecision(False, longest * CHUNK_MS, chunks * CHUNK_MS, threshold, min_speech_ms)


def load_network(weights: str | os.PathLike[str] = WEIGHTS) -> SileroNetwork:
    """The network with the wheel's weights (or a safetensors file at ``weights``)."""
    from safetensors.torch import load_file

    value = str(weights)
    path = package_folder(value) if value.startswith("package:") else Path(value)
    if not path.is_file():
        raise ModelLoadError(f"voice-activity detector weights {value!r}: no such file")
    network = SileroNetwork()
    network.load_state_dict(load_file(str(path)), strict=True)
    return network.eval()


class SileroVad:
    """Silero VAD as a gate: ``decide_wav`` says whether a recording holds speech.

    Runs on the CPU in float32, about 0.1 s per minute of audio (measured on
    the real recordings, docs/measurements.md). A recording starts from a zero
    state and is scored in batches fixed by its own length: its decision is
    the same alone or among other videos.
    """

    name = "silero"

    def __init__(
        self,
        threshold: float = THRESHOLD,
        min_speech_ms: float = MIN_SPEECH_MS,
        weights: str | os.PathLike[str] = WEIGHTS,
    ) -> None:
        if not 0.0 < threshold < 1.0 or min_speech_ms < 0:
            raise ValueError("threshold must lie in (0, 1) and min_speech_ms not be negative")
        self.threshold = float(threshold)
        self.min_speech_ms = float(min_speech_ms)
        self.network = load_network(weights)

    def probabilities(self, blocks: Iterable[np.ndarray], sample_rate: int) -> Iterator[np.ndarray]:
        """Speech probability per 32 ms chunk, ``BATCH_CHUNKS`` chunks at a time.

        ``blocks`` are int16 (or float in [-1, 1]) pieces of one recording, in
        order, of any sizes: the chunk grid starts at the first sample and the
        network always sees batches of ``BATCH_CHUNKS`` chunks (the last one
        fewer), so the probabilities do not depend on how the audio was cut
        into blocks. The last partial chunk is zero-padded, as Silero's own
        code does.
        """
        span = BATCH_CHUNKS * CHUNK
        pending = np.zeros(CONTEXT, np.float32)  # the first chunk's context is silence
        state = None
        with torch.inference_mode(), one_thread():
            for block in blocks:
                samples = _as_float(block)
                if sample_rate != VAD_RATE:
                    samples = resample(samples, sample_rate, VAD_RATE)
                pending = np.concatenate([pending, samples])
                while len(pending) - CONTEXT >= span:
                    probabilities, state = self._score(pending, BATCH_CHUNKS, state)
                    pending = pending[span:].copy()
                    yield probabilities
            left = len(pending) - CONTEXT
            if left > 0:
                n = math.ceil(left / CHUNK)
                padded = np.pad(pending, (0, n * CHUNK - left))
                probabilities, state = self._score(padded, n, state)
                yield probabilities

    def _score(
        self, samples: np.ndarray, n: int, state: tuple[torch.Tensor, torch.Tensor] | None
    ) -> tuple[np.ndarray, tuple[torch.Tensor, torch.Tensor]]:
        starts = np.arange(n) * CHUNK
        windows = samples[starts[:, None] + np.arange(CONTEXT + CHUNK)]
        probabilities, state = self.network(torch.from_numpy(windows), state)
        return probabilities.numpy(), state

    def decide(self, blocks: Iterable[np.ndarray], sample_rate: int) -> VadDecision:
        """Speech or not, stopping at the first long enough run of speech chunks."""
        with closing(self.probabilities(blocks, sample_rate)) as batches:
            return first_speech_run(batches, self.threshold, self.min_speech_ms)

    def decide_wav(self, path: str | os.PathLike[str]) -> VadDecision:
        """``decide`` for a wav file, read block by block (memory flat in its duration)."""
        import wave

        with wave.open(str(path), "rb") as handle:
            rate = handle.getframerate()
        return self.decide(iter_wav(path), rate)

    def decide_samples(self, samples: np.ndarray, sample_rate: int) -> VadDecision:
        """``decide`` for a waveform in memory (int16, or float in [-1, 1])."""
        flat = np.asarray(samples).reshape(-1)
        step = BLOCK_FRAMES
        return self.decide((flat[i : i + step] for i in range(0, flat.size, step)), sample_rate)


@contextmanager
def one_thread() -> Iterator[None]:
    """torch on one thread while the detector runs, the caller's setting restored after.

    The network is small and steps through an LSTM chunk by chunk: several
    threads only wait on each other. Measured on 5 minutes of audio on a busy
    2-core machine: 0.8 s on one thread, 11-13 s on two (the same
    probabilities, bit for bit).
    """
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _as_float(block: np.ndarray) -> np.ndarray:
    block = np.asarray(block)
    if block.dtype == np.int16 or block.dtype == np.dtype("<i2"):
        return block.astype(np.float32) / 32768.0
    return block.astype(np.float32, copy=False)
