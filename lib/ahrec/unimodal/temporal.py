"""Kind ``temporal``: the paper's audio model, a sequence encoder over time steps.

(T, F) features per video (wav2vec2 hidden states, openSMILE descriptors) ->
optional average pooling of ``pool_steps`` consecutive steps (CPU speed) ->
truncation to ``max_steps`` -> per-feature standardisation (training
statistics) -> Linear(F, d_model) -> Dropout -> ``layers`` blocks of
[Mamba mixer -> Dropout(``residual_dropout``) + residual -> LayerNorm] (or a
Transformer encoder) -> mean over
the valid steps -> Linear(d, d/2) -> ReLU -> Dropout -> Linear(d/2, 2). The d/2
hidden activation is the embedding.

Mamba is transformers' ``MambaMixer``: on the CPU it runs the ``mambapy``
parallel scan; on a GPU transformers switches to mamba-ssm's fused kernels by
itself when they are importable (``envs/models-cuda.yaml``), so CPU users never
install mamba-ssm. The model says in its job's log which scan runs
(``mamba_scan``).
Sequences of a batch are right-padded with a boolean mask. The mixer zeroes
padded steps and is causal, and the Transformer masks padded keys, so a
video's output does not depend on the other videos in its batch.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from ahrec.unimodal.base import Item, TorchUnimodal, item_label
from ahrec.unimodal.kinds import TemporalSpec

LOG = logging.getLogger(__name__)

ENCODERS = ("mamba", "transformer")


def pool_and_truncate(x: np.ndarray, pool_steps: int, max_steps: int) -> np.ndarray:
    """(T, F) -> float32 (ceil(T / pool_steps) steps at most max_steps, F).

    Averages ``pool_steps`` consecutive steps (the last group may be shorter)
    and keeps the first ``max_steps`` of the result.
    """
    x = np.asarray(x, dtype=np.float32)
    if x.ndim != 2:
        raise ValueError(f"temporal: expected a (steps, features) array, got shape {x.shape}")
    if pool_steps > 1 and x.shape[0] > 0:
        steps = x.shape[0]
        keep = min(steps, max_steps * pool_steps)  # drop what truncation would drop anyway
        x = x[:keep]
        groups = math.ceil(keep / pool_steps)
        padded = np.zeros((groups * pool_steps, x.shape[1]), dtype=np.float64)
        padded[:keep] = x
        counts = np.minimum(pool_steps, keep - np.arange(groups) * pool_steps)
        x = (padded.reshape(groups, pool_steps, -1).sum(axis=1) / counts[:, None]).astype(
            np.float32
        )
    return x[:max_steps]


class MambaBlock(nn.Module):
    """Mamba mixer -> dropout -> + residual -> LayerNorm.

    The authors drop out the mixer's output before the residual sum (0.1);
    ``residual_dropout: 0`` builds no dropout at all (an identity): the block
    is then norm(h + mixer(h)) and draws nothing from the random stream.
    """

    def __init__(self, config: Any, layer_idx: int, residual_dropout: float = 0.0) -> None:
        super().__init__()
        from transformers.models.mamba.modeling_mamba import MambaMixer

        self.mixer = MambaMixer(config, layer_idx=layer_idx)
        self.dropout = nn.Dropout(residual_dropout) if residual_dropout > 0 else nn.Identity()
        self.norm = nn.LayerNorm(config.hidden_size)

    def forward(self, h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.norm(h + self.dropout(self.mixer(h, attention_mask=mask)))


def mamba_scan(device: torch.device) -> str:
    """Which selective scan transformers' MambaMixer runs on ``device``, in words (for the log).

    transformers binds mamba-ssm's fused kernels (and causal-conv1d's) when
    those packages import, and its pure-PyTorch path otherwise, where
    ``use_mambapy`` picks the ``mambapy`` parallel scan over the sequential
    loop. The fused kernels need CUDA tensors: with mamba-ssm installed and the
    model on the CPU the first forward pass would fail deep in a kernel, so
    that is refused here with a clear message.
    """
    from transformers.models.mamba import modeling_mamba
    from transformers.utils.import_utils import is_mambapy_available

    fused = _bound_to_package(modeling_mamba.mamba_selective_scan)
    conv = _bound_to_package(modeling_mamba.causal_conv1d_fn)
    if fused:
        if device.type != "cuda":
            raise RuntimeError(
                "mamba-ssm is installed, so transformers' Mamba runs its fused CUDA kernels, "
                f"but the temporal model runs on {device.type}: use a GPU (device: cuda or "
                "auto), or an environment without mamba-ssm (envs/models.yaml)"
            )
        return "fused mamba-ssm kernels" + (" with causal-conv1d" if conv else "")
    if is_mambapy_available():
        return "mambapy parallel scan (pure PyTorch; mamba-ssm is not installed)"
    return "sequential PyTorch scan (neither mamba-ssm nor mambapy is installed)"


def _bound_to_package(function: Any) -> bool:
    """Whether a transformers kernel wrapper dispatches to its package, not its torch fallback."""
    import inspect

    try:
        return bool(inspect.getclosurevars(function).nonlocals.get("is_new_implementation"))
    except (TypeError, ValueError):
        return False


def sinusoidal_positions(steps: int, dim: int, device: torch.device) -> torch.Tensor:
    """(steps, dim) fixed sine/cosine positions: the Transformer has no other notion of order."""
    position = torch.arange(steps, device=device, dtype=torch.float32)[:, None]
    rate = torch.exp(
        torch.arange(0, dim, 2, device=device, dtype=torch.float32) * (-math.log(10000.0) / dim)
    )
    table = torch.zeros(steps, dim, device=device)
    table[:, 0::2] = torch.sin(position * rate)
    table[:, 1::2] = torch.cos(position * rate[: dim // 2])
    return table


class TemporalNet(nn.Module):
    def __init__(self, input_dim: int, spec: TemporalSpec) -> None:
        super().__init__()
        if spec.encoder not in ENCODERS:
            raise ValueError(f"temporal: encoder must be one of {ENCODERS}, got {spec.encoder!r}")
        d = spec.d_model
        if d < 2:
            raise ValueError("temporal: d_model must be at least 2")
        self.encoder_kind = spec.encoder
        self.register_buffer("mean", torch.zeros(input_dim))
        self.register_buffer("std", torch.ones(input_dim))
        self.project = nn.Linear(input_dim, d)
        self.dropout = nn.Dropout(spec.dropout)
        if spec.encoder == "mamba":
            from transformers import MambaConfig

            config = MambaConfig(
                hidden_size=d,
                state_size=spec.d_state,
                conv_kernel=spec.d_conv,
                expand=spec.expand,
                num_hidden_layers=spec.layers,
                use_mambapy=True,
                vocab_size=1,  # unused: only the mixers are built
            )
            self.blocks = nn.ModuleList(
                MambaBlock(config, i, spec.residual_dropout) for i in range(spec.layers)
            )
        else:
            if d % spec.heads:
                raise ValueError(
                    f"temporal: d_model ({d}) must be divisible by heads ({spec.heads})"
                )
            layer = nn.TransformerEncoderLayer(
                d_model=d,
                nhead=spec.heads,
                dim_feedforward=spec.ff_dim,
                dropout=spec.dropout,
                batch_first=True,
                norm_first=True,
            )
            self.transformer = nn.TransformerEncoder(
                layer, num_layers=spec.layers, norm=nn.LayerNorm(d), enable_nested_tensor=False
            )
        half = max(1, d // 2)
        self.hidden = nn.Linear(d, half)
        self.head_dropout = nn.Dropout(spec.dropout)
        self.out = nn.Linear(half, 2)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x (B, T, F) right-padded, mask (B, T) True on valid steps."""
        z = (x - self.mean) / self.std
        h = self.dropout(self.project(z))
        if self.encoder_kind == "mamba":
            for block in self.blocks:
                h = block(h, mask)
        else:
            h = h + sinusoidal_positions(h.shape[1], h.shape[2], h.device)
            h = self.transformer(h, src_key_padding_mask=~mask)
        weights = mask.unsqueeze(-1).to(h.dtype)
        pooled = (h * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1.0)
        embedding = torch.relu(self.hidden(pooled))
        return self.out(self.head_dropout(embedding)), embedding


class TemporalModel(TorchUnimodal):
    """The audio sequence model (see the module docstring)."""

    kind = "temporal"

    def __init__(self, spec: TemporalSpec, input_dim: int | None, device: torch.device) -> None:
        if not input_dim:
            raise ValueError("temporal: the per-step feature size is required")
        self.predict_batch_size = max(1, spec.batch_size)
        if spec.encoder == "mamba":
            LOG.info("temporal: Mamba blocks run the %s", mamba_scan(torch.device(device)))
        super().__init__(spec, int(input_dim), device)

    def _build(self) -> nn.Module:
        return TemporalNet(self.input_dim, self.spec)

    @property
    def embedding_dim(self) -> int:
        return max(1, self.spec.d_model // 2)

    def _sequence(self, item: Item) -> np.ndarray:
        x = pool_and_truncate(item["x"], self.spec.pool_steps, self.spec.max_steps)
        if x.shape[1] != self.input_dim:
            raise ValueError(
                f"temporal: video {item.get('video_id')!r} has {x.shape[1]} features per step, "
                f"expected {self.input_dim}"
            )
        return x

    def _length(self, item: Item) -> int:
        return int(np.shape(item["x"])[0])

    def _prepare(self, train: Sequence[Item]) -> None:
        total = np.zeros(self.input_dim, dtype=np.float64)
        squares = np.zeros(self.input_dim, dtype=np.float64)
        count = 0
        for item in train:
            x = self._sequence(item).astype(np.float64)
            total += x.sum(axis=0)
            squares += (x**2).sum(axis=0)
            count += x.shape[0]
        if count == 0:
            return
        mean = total / count
        std = np.sqrt(np.maximum(squares / count - mean**2, 0.0))
        std[~np.isfinite(std) | (std < 1e-8)] = 1.0  # constant features pass unscaled
        self.model.mean.copy_(torch.from_numpy(mean.astype(np.float32)))
        self.model.std.copy_(torch.from_numpy(std.astype(np.float32)))

    def collate(self, items: Sequence[Item]) -> dict[str, Any]:
        sequences = [self._sequence(item) for item in items]
        longest = max(1, *(s.shape[0] for s in sequences))
        x = np.zeros((len(items), longest, self.input_dim), dtype=np.float32)
        mask = np.zeros((len(items), longest), dtype=bool)
        for i, sequence in enumerate(sequences):
            x[i, : sequence.shape[0]] = sequence
            mask[i, : max(1, sequence.shape[0])] = True  # an empty sequence reads one zero step
        return {
            "x": torch.from_numpy(x),
            "mask": torch.from_numpy(mask),
            "label": item_label(items),
        }
