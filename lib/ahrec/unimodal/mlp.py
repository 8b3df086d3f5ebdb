"""Kind ``mlp``: the paper's face model, an MLP on a fixed per-video vector.

2560-d face statistics -> [Linear, LayerNorm, ReLU, Dropout] per hidden width
(16 then 256 in the paper) -> Linear(last, 2). The last hidden block's output
(256-d) is the face embedding the fusion reads. With ``standardise`` (ours;
the authors feed the raw statistics) inputs are standardised with the training
items' mean and std. The statistics are buffers saved with the weights, left at
the identity (mean 0, std 1) when off, so a loaded model transforms its inputs
exactly as the trained one did either way.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from ahrec.unimodal.base import Item, TorchUnimodal, item_label, standardiser
from ahrec.unimodal.kinds import MlpSpec


class Standardise(nn.Module):
    """(x - mean) / std with statistics fitted on the training items."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(dim))
        self.register_buffer("std", torch.ones(dim))

    def fit(self, rows: np.ndarray) -> None:
        mean, std = standardiser(rows)
        self.mean.copy_(torch.from_numpy(mean))
        self.std.copy_(torch.from_numpy(std))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


class MlpNet(nn.Module):
    def __init__(self, input_dim: int, hidden: Sequence[int], dropout: float) -> None:
        super().__init__()
        if not hidden:
            raise ValueError("mlp: hidden must name at least one layer width")
        self.standardise = Standardise(input_dim)
        blocks: list[nn.Module] = []
        width = input_dim
        for size in hidden:
            blocks += [nn.Linear(width, size), nn.LayerNorm(size), nn.ReLU(), nn.Dropout(dropout)]
            width = size
        self.blocks = nn.Sequential(*blocks)
        self.out = nn.Linear(width, 2)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        embedding = self.blocks(self.standardise(x))
        return self.out(embedding), embedding


def vector_batch(items: Sequence[Item], dim: int, kind: str) -> torch.Tensor:
    """Stack the items' ``x`` vectors as float32, checking their size."""
    rows = []
    for item in items:
        x = np.asarray(item["x"], dtype=np.float32).reshape(-1)
        if x.shape[0] != dim:
            raise ValueError(
                f"{kind}: video {item.get('video_id')!r} has a {x.shape[0]}-d input, expected {dim}"
            )
        rows.append(x)
    return torch.from_numpy(np.stack(rows))


class MlpModel(TorchUnimodal):
    """The face MLP (see the module docstring)."""

    kind = "mlp"

    def __init__(self, spec: MlpSpec, input_dim: int | None, device: torch.device) -> None:
        if not input_dim:
            raise ValueError("mlp: the input size (the embedding's dimension) is required")
        super().__init__(spec, int(input_dim), device)

    def _build(self) -> nn.Module:
        return MlpNet(self.input_dim, self.spec.hidden, self.spec.dropout)

    @property
    def embedding_dim(self) -> int:
        return int(self.spec.hidden[-1])

    def _prepare(self, train: Sequence[Item]) -> None:
        if self.spec.standardise:
            self.model.standardise.fit(vector_batch(train, self.input_dim, self.kind).numpy())

    def collate(self, items: Sequence[Item]) -> dict[str, Any]:
        return {"x": vector_batch(items, self.input_dim, self.kind), "label": item_label(items)}
