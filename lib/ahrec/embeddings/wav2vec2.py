"""Audio embeddings as in the paper: the hidden states of one wav2vec2 layer.

The paper runs ``audeering/wav2vec2-large-robust-12-ft-emotion-msp-dim`` over
each whole audio track (16 kHz mono) in one pass and keeps the output of layer
10: one 1024-d step per 20 ms, which the audio temporal model reads as a
sequence. The table stores that sequence (float16) and its mean over time (the
fixed-size vector every table has). The audeering checkpoint is a wav2vec2 with
an extra regression head; loading it as ``Wav2Vec2Model`` keeps the encoder and
ignores the head.

Two things keep a GPU busy: the layers after the kept one are dropped once
loaded (``truncate_to_layer``: layer 10 of 12 does not pay for 11 and 12,
nor for every layer's hidden states), and on a GPU tracks run in batches of
``batch_size``, sorted by length and right-padded with an attention mask (on
the CPU one at a time, where batching gains nothing). The
checkpoints with layer-norm convolutions (wav2vec2-large-robust, the paper's)
zero the padded steps and never attend to them, so a track's states equal its
states alone to float rounding (tested); checkpoints with group-norm
convolutions (wav2vec2-base) normalise over time, where padding would count,
so they run one track at a time.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn
from transformers import Wav2Vec2FeatureExtractor, Wav2Vec2Model

from ahrec.device import inference
from ahrec.embeddings.base import AudioItem, unavailable_audio
from ahrec.embeddings.kinds import Wav2Vec2Spec
from ahrec.embeddings.table import EmbeddingRow
from ahrec.errors import ModelLoadError
from ahrec.media.resample import resample, to_mono
from ahrec.models import load_model

LOG = logging.getLogger(__name__)

SAMPLE_RATE = 16000
FLOAT16_MAX = float(np.finfo(np.float16).max)


def receptive_field(conv_kernel: Sequence[int], conv_stride: Sequence[int]) -> int:
    """The fewest samples for which the convolutional feature encoder yields one step."""
    needed = 1
    for kernel, stride in zip(reversed(conv_kernel), reversed(conv_stride), strict=True):
        needed = (needed - 1) * stride + kernel
    return needed


def truncate_to_layer(model: Wav2Vec2Model, layer: int) -> None:
    """Drop the transformer layers after ``layer``: the encoder then outputs that layer's states.

    ``last_hidden_state`` of the truncated model equals ``hidden_states[layer]``
    of the full one (tested). The pre-norm ("stable layer norm") encoder applies
    a final LayerNorm to its last layer's output that no entry of
    ``hidden_states`` carries, so it is removed, whichever layer is kept; the
    post-norm encoder normalises before its first layer and nowhere after.
    """
    encoder = model.encoder
    total = len(encoder.layers)
    if not 0 <= layer <= total:
        raise ValueError(f"layer {layer} is not between 0 and {total}")
    if layer < total:
        encoder.layers = encoder.layers[:layer]
        model.config.num_hidden_layers = layer
    if model.config.do_stable_layer_norm:
        encoder.layer_norm = nn.Identity()


def _normalise(samples: np.ndarray) -> np.ndarray:
    """Zero mean, unit variance: what Wav2Vec2FeatureExtractor(do_normalize=True) does."""
    return ((samples - samples.mean()) / np.sqrt(samples.var() + 1e-7)).astype(np.float32)


class Wav2Vec2Encoder:
    """One wav2vec2 loaded once; ``encode`` gives each track's layer sequence and its mean."""

    def __init__(self, spec: Wav2Vec2Spec, device: torch.device) -> None:
        model, self.feature_extractor = load_model(
            spec.model,
            lambda location: (
                Wav2Vec2Model.from_pretrained(location, dtype=torch.float32),
                self._feature_extractor(location),
            ),
        )
        config = model.config
        if not 0 <= spec.layer <= config.num_hidden_layers:
            raise ModelLoadError(
                f"wav2vec2 layer {spec.layer} does not exist in {spec.model!r}: it has "
                f"{config.num_hidden_layers} transformer layers, so layer must be 0 (the input "
                f"to the first layer) to {config.num_hidden_layers} (the last layer's output)"
            )
        self.spec = spec
        self.device = device
        self.sample_rate = int(
            getattr(self.feature_extractor, "sampling_rate", None) or SAMPLE_RATE
        )
        self.dim = int(config.hidden_size)
        self.seq_dim = int(config.hidden_size)
        self.min_samples = receptive_field(config.conv_kernel, config.conv_stride)
        self.layers_total = int(config.num_hidden_layers)
        truncate_to_layer(model, spec.layer)
        self.model = model.to(device).eval()
        LOG.info(
            "wav2vec2 %s: layer %d of %d kept (later layers dropped), one track per forward pass",
            spec.model,
            spec.layer,
            self.layers_total,
        )

    @property
    def batch_items(self) -> int:
        """Tracks per ``encode`` call (how often the progress bar moves).

        Each track has a forward pass of its own, on every device: padded into
        a mixed batch, a track's states would depend, in the last bits, on which
        other videos share its shard or predict batch (and post-norm
        checkpoints normalise over the padding).
        """
        return self.spec.batch_size

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
        """(steps, dim) float32 states of the kept layer for one waveform (no padding, no mask)."""
        inputs = torch.from_numpy(np.ascontiguousarray(waveform, dtype=np.float32))[None]
        with inference(self.device):
            hidden = self.model(inputs.to(self.device)).last_hidden_state.float()
        return hidden[0].cpu().numpy()

    def encode(self, items: Sequence[AudioItem]) -> list[EmbeddingRow]:
        """One row per track, in order; too short or non-finite tracks keep a reason."""
        rows: list[EmbeddingRow | None] = [None] * len(items)
        waveforms: dict[int, np.ndarray] = {}
        for position, item in enumerate(items):
            missing = unavailable_audio(item)
            if missing is not None:
                rows[position] = missing
                continue
            waveform = self.prepare(item.samples, item.sample_rate)
            if waveform.size < self.min_samples:
                rows[position] = EmbeddingRow.missing(
                    item.video_id,
                    f"audio too short: {waveform.size} samples at {self.sample_rate} Hz, "
                    f"wav2vec2 needs at least {self.min_samples}",
                )
            elif not np.all(np.isfinite(waveform)):
                rows[position] = EmbeddingRow.missing(item.video_id, "audio has non-finite samples")
            else:
                waveforms[position] = waveform
        for position, waveform in waveforms.items():
            hidden = self._hidden_states(waveform)
            sequence = np.clip(hidden, -FLOAT16_MAX, FLOAT16_MAX).astype(np.float16)
            rows[position] = EmbeddingRow(
                items[position].video_id, hidden.mean(axis=0).astype(np.float32), sequence=sequence
            )
        return [row for row in rows if row is not None]
