"""Audio embeddings as in the paper: the hidden states of one wav2vec2 layer.

The paper runs ``audeering/wav2vec2-large-robust-12-ft-emotion-msp-dim`` over
each whole audio track (16 kHz mono) in one pass and keeps the output of layer
10: one 1024-d step per 20 ms, which the audio temporal model reads as a
sequence. The table stores that sequence (float16) and its mean over time (the
fixed-size vector every table has). The audeering checkpoint is a wav2vec2 with
an extra regression head; loading it as ``Wav2Vec2Model`` keeps the encoder and
ignores the head.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from transformers import Wav2Vec2FeatureExtractor, Wav2Vec2Model

from ahrec.device import inference
from ahrec.embeddings.base import AudioItem, unavailable_audio
from ahrec.embeddings.kinds import Wav2Vec2Spec
from ahrec.embeddings.locate import describe_load_failure, resolve_model_location
from ahrec.embeddings.table import EmbeddingRow
from ahrec.errors import ModelLoadError

SAMPLE_RATE = 16000
FLOAT16_MAX = float(np.finfo(np.float16).max)


def receptive_field(conv_kernel: Sequence[int], conv_stride: Sequence[int]) -> int:
    """The fewest samples for which the convolutional feature encoder yields one step."""
    needed = 1
    for kernel, stride in zip(reversed(conv_kernel), reversed(conv_stride), strict=True):
        needed = (needed - 1) * stride + kernel
    return needed


def to_mono(samples: np.ndarray) -> np.ndarray:
    """A 1-D float32 waveform; (channels, n) or (n, channels) input is averaged over channels."""
    samples = np.asarray(samples, dtype=np.float32)
    if samples.ndim == 2:
        channel_axis = 0 if samples.shape[0] < samples.shape[1] else 1
        samples = samples.mean(axis=channel_axis)
    return samples.reshape(-1)


def resample(samples: np.ndarray, rate: int, target: int = SAMPLE_RATE) -> np.ndarray:
    """Polyphase resampling to ``target`` Hz (exact for integer rate ratios)."""
    if rate == target:
        return samples
    if rate <= 0:
        raise ValueError(f"invalid sample rate {rate}")
    from scipy.signal import resample_poly

    divisor = math.gcd(int(rate), int(target))
    resampled = resample_poly(samples, target // divisor, int(rate) // divisor)
    return resampled.astype(np.float32)


def _normalise(samples: np.ndarray) -> np.ndarray:
    """Zero mean, unit variance: what Wav2Vec2FeatureExtractor(do_normalize=True) does."""
    return ((samples - samples.mean()) / np.sqrt(samples.var() + 1e-7)).astype(np.float32)


class Wav2Vec2Encoder:
    """One wav2vec2 loaded once; ``encode`` gives each track's layer sequence and its mean."""

    def __init__(self, spec: Wav2Vec2Spec, device: torch.device) -> None:
        location = resolve_model_location(spec.model)
        try:
            model = Wav2Vec2Model.from_pretrained(location, dtype=torch.float32)
        except Exception as exc:
            raise describe_load_failure(spec.model, exc) from exc
        config = model.config
        if not 0 <= spec.layer <= config.num_hidden_layers:
            raise ModelLoadError(
                f"wav2vec2 layer {spec.layer} does not exist in {spec.model!r}: it has "
                f"{config.num_hidden_layers} transformer layers, so layer must be 0 (the input "
                f"to the first layer) to {config.num_hidden_layers} (the last layer's output)"
            )
        self.spec = spec
        self.device = device
        self.feature_extractor = self._feature_extractor(location)
        self.sample_rate = int(
            getattr(self.feature_extractor, "sampling_rate", None) or SAMPLE_RATE
        )
        self.dim = int(config.hidden_size)
        self.seq_dim = int(config.hidden_size)
        self.min_samples = receptive_field(config.conv_kernel, config.conv_stride)
        self.model = model.to(device).eval()

    @staticmethod
    def _feature_extractor(location: str) -> Wav2Vec2FeatureExtractor | None:
        """The checkpoint's own feature extractor when it has one (it says whether to normalise)."""
        local = Path(location)
        if local.is_dir() and not (local / "preprocessor_config.json").is_file():
            return None
        try:
            return Wav2Vec2FeatureExtractor.from_pretrained(location)
        except Exception:  # a hub model without preprocessor_config.json
            return None

    def prepare(self, samples: np.ndarray, sample_rate: int) -> np.ndarray:
        """The model's input for one waveform: mono, 16 kHz, normalised as in training."""
        waveform = resample(to_mono(samples), sample_rate, self.sample_rate)
        if self.feature_extractor is None:
            return _normalise(waveform)
        values = self.feature_extractor(
            waveform, sampling_rate=self.sample_rate, return_tensors="np"
        ).input_values
        return np.asarray(values[0], dtype=np.float32)

    def _hidden_states(self, waveform: np.ndarray) -> np.ndarray:
        inputs = torch.from_numpy(waveform).unsqueeze(0).to(self.device)
        with inference(self.device):
            outputs = self.model(inputs, output_hidden_states=True)
            hidden = outputs.hidden_states[self.spec.layer][0].float()
        return hidden.cpu().numpy()

    def encode(self, items: Sequence[AudioItem]) -> list[EmbeddingRow]:
        """One row per track, in order; each track runs alone (whole file, no padding)."""
        rows = []
        for item in items:
            missing = unavailable_audio(item)
            if missing is not None:
                rows.append(missing)
                continue
            waveform = self.prepare(item.samples, item.sample_rate)
            if waveform.size < self.min_samples:
                rows.append(
                    EmbeddingRow.missing(
                        item.video_id,
                        f"audio too short: {waveform.size} samples at {self.sample_rate} Hz, "
                        f"wav2vec2 needs at least {self.min_samples}",
                    )
                )
                continue
            if not np.all(np.isfinite(waveform)):
                rows.append(EmbeddingRow.missing(item.video_id, "audio has non-finite samples"))
                continue
            hidden = self._hidden_states(waveform)
            sequence = np.clip(hidden, -FLOAT16_MAX, FLOAT16_MAX).astype(np.float16)
            rows.append(
                EmbeddingRow(
                    item.video_id,
                    hidden.mean(axis=0).astype(np.float32),
                    sequence=sequence,
                )
            )
        return rows
