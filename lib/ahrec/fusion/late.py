"""Late fusion: each unimodal model's log-odds, combined by one weight each or averaged.

Why it is here: it is the yardstick a reviewer asks for first. A Transformer
over a few hundred training videos' embeddings can fit noise the unimodal
models already averaged away; a logistic regression over M numbers (one per
modality, the models' out-of-fold log-odds) cannot, and the mean of the
log-odds has nothing to fit at all. If the Transformer does not beat these,
it is not fusing (docs/measurements.md, "Fusion across a corpus family").

The model has the ``FusionModel`` interface (``forward(inputs, mask)`` gives
``logits`` and ``fused``; ``modalities``, ``input_dims``, ``params``, no
prototype head), so training, prediction, saving, the ensemble and predict
batches go through the same code. A modality a video lacks adds nothing: its
log-odds counts as 0 (no evidence either way), and the mean is over the
modalities present.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from ahrec.fusion.model import _INPUT_PREFIX
from ahrec.fusion.params import FusionParams
from ahrec.training.loop import TensorSplit


class LateFusionModel(nn.Module):
    """z = b + sum_m w_m * logodds_m over the present modalities (logreg), or their mean."""

    prototype_head = None

    def __init__(self, input_dims: Mapping[str, int], params: FusionParams) -> None:
        super().__init__()
        if not input_dims:
            raise ValueError("the fusion needs at least one modality")
        if not params.late:
            raise ValueError(f"a late fusion needs method logreg or mean, got {params.method!r}")
        wide = {m: d for m, d in input_dims.items() if int(d) != 1}
        if wide:
            modality, dim = next(iter(wide.items()))
            raise ValueError(
                f"a late fusion reads one log-odds per modality; {modality!r} has {dim} inputs"
            )
        self.modalities = list(input_dims)
        self.input_dims = {m: 1 for m in self.modalities}
        self.params = params
        self.method = params.method
        self.weight = nn.Parameter(torch.ones(len(self.modalities)))
        self.bias = nn.Parameter(torch.zeros(1))

    @property
    def has_prototypes(self) -> bool:
        return False

    def forward(self, inputs: Mapping[str, Tensor], mask: Tensor) -> dict[str, Tensor]:
        """``logits`` (B, 2) = [0, z] (so the softmax is the sigmoid of z) and ``fused`` (B, 1) = z."""
        mask = mask.to(dtype=torch.bool)
        if mask.shape[1:] != (len(self.modalities),):
            raise ValueError(
                f"mask must be (B, {len(self.modalities)}) for modalities {self.modalities}, "
                f"got {tuple(mask.shape)}"
            )
        missing = [m for m in self.modalities if m not in inputs]
        if missing:
            raise KeyError(f"fusion input lacks modality {missing[0]!r}")
        x = present_logodds(inputs, mask, self.modalities).to(self.weight.dtype)
        if self.method == "mean":
            z = x.sum(dim=1) / mask.sum(dim=1).clamp(min=1).to(x.dtype)
        else:
            z = x @ self.weight + self.bias
        return {"logits": torch.stack([torch.zeros_like(z), z], dim=1), "fused": z[:, None]}


def present_logodds(inputs: Mapping[str, Tensor], mask: Tensor, modalities: list[str]) -> Tensor:
    """(B, M): each video's log-odds per modality, 0 where it lacks one (whatever it holds)."""
    x = torch.cat([inputs[m].to(mask.device) for m in modalities], dim=1)
    return torch.where(mask, x, torch.zeros_like(x))  # not a product: 0 * NaN is NaN


def late_features(split: TensorSplit, modalities: list[str]) -> np.ndarray:
    """(N, M) float64: what the late fusion reads of a split, as the regression fits it."""
    batch = split.tensors
    inputs = {m: batch[_INPUT_PREFIX + m] for m in modalities}
    return present_logodds(inputs, batch["mask"].to(torch.bool), modalities).double().numpy()


def fit_late_fusion(
    train: TensorSplit, input_dims: Mapping[str, int], params: FusionParams
) -> LateFusionModel:
    """The late fusion fitted on ``train`` (logreg: balanced classes, L2 with C = ``params.c``).

    Classes are weighted as the networks' losses are (sklearn's 'balanced'),
    so the decision threshold sits where the other systems' does.
    """
    model = LateFusionModel(input_dims, params)
    if params.method == "mean":
        return model.eval()
    from sklearn.linear_model import LogisticRegression

    labels = np.asarray(train.labels, dtype=int)
    if len(set(labels.tolist())) < 2:
        raise ValueError("the late fusion needs training videos of both classes")
    regression = LogisticRegression(C=params.c, class_weight="balanced", max_iter=1000)
    regression.fit(late_features(train, model.modalities), labels)
    with torch.no_grad():
        model.weight.copy_(torch.as_tensor(regression.coef_[0], dtype=model.weight.dtype))
        model.bias.copy_(torch.as_tensor(regression.intercept_, dtype=model.bias.dtype))
    return model.eval()


def late_summary(model: LateFusionModel, val_mf1: float | None) -> dict[str, Any]:
    """What a late fusion's selection.json records: its weights (nothing was stopped early)."""
    return {
        "best_epoch": 1,
        "best_val_mf1": val_mf1,
        "history": [],
        "weights": dict(
            zip(model.modalities, (float(w) for w in model.weight.detach()), strict=True)
        ),
        "bias": float(model.bias.detach()[0]),
    }
