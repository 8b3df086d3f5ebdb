"""Kind ``linear``: a linear classifier on a fixed per-video vector.

The offline scene model (motion statistics) and any other fixed embedding
that needs no hidden layer. Inputs are standardised with the training items'
mean and std; the standardised vector itself is the embedding, so the fusion
reads the features on a common scale and the classifier adds no bottleneck.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from ahrec.unimodal.base import Item, TorchUnimodal, item_label
from ahrec.unimodal.kinds import LinearSpec
from ahrec.unimodal.mlp import Standardise, vector_batch


class LinearNet(nn.Module):
    def __init__(self, input_dim: int) -> None:
        super().__init__()
        self.standardise = Standardise(input_dim)
        self.out = nn.Linear(input_dim, 2)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z = self.standardise(x)
        return self.out(z), z


class LinearModel(TorchUnimodal):
    """Standardise, then Linear(D, 2); the embedding is the standardised input (D-d)."""

    kind = "linear"

    def __init__(self, spec: LinearSpec, input_dim: int | None, device: torch.device) -> None:
        if not input_dim:
            raise ValueError("linear: the input size (the embedding's dimension) is required")
        super().__init__(spec, int(input_dim), device)

    def _build(self) -> nn.Module:
        return LinearNet(self.input_dim)

    @property
    def embedding_dim(self) -> int:
        return int(self.input_dim)

    def _prepare(self, train: Sequence[Item]) -> None:
        self.model.standardise.fit(vector_batch(train, self.input_dim, self.kind).numpy())

    def collate(self, items: Sequence[Item]) -> dict[str, Any]:
        return {"x": vector_batch(items, self.input_dim, self.kind), "label": item_label(items)}
