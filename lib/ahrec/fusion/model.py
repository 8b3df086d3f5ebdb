"""The prototype-augmented multimodal fusion and the ensemble of its seeds.

Each modality's embedding (from the unimodal models; out-of-fold for training
videos) becomes one token; a small Transformer encoder lets the present
modalities attend to each other, and a readout (masked mean or a CLS token)
gives the fused vector that a linear classifier turns into the prediction.

A video may lack a modality (no face found, no speech...): the boolean mask
marks the modalities present, masked tokens are zeroed and never serve as
attention keys, so whatever a masked input holds (zeros, garbage, NaN) cannot
change the output. An optional prototype head adds an auxiliary loss only;
predictions always come from the linear classifier (the paper's design).

Settings come from ``FusionParams`` (the paper's values by default,
``docs/method.md``, "Fusion"); training goes through the shared trainer, so
model selection looks at the validation split only.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ahrec.fusion.params import FusionParams
from ahrec.training.loop import FitResult, TensorSplit, TrainSettings, fit, predict_proba
from ahrec.training.seeding import seed_everything

_INPUT_PREFIX = "inputs/"


class PrototypeHead(nn.Module):
    """K learnable prototypes per class scored against the fused vector.

    Class score = logsumexp over the class's prototypes of cos(fused, p) / tau:
    a soft maximum, so a video only needs to be close to *one* prototype of its
    class (classes may be multi-modal clusters). Cosine similarity makes the
    score independent of the fused vector's scale, which the linear classifier
    is free to use.
    """

    def __init__(self, d: int, k: int, tau: float) -> None:
        super().__init__()
        if k < 1:
            raise ValueError(f"the prototype head needs at least one prototype per class, got {k}")
        if tau <= 0:
            raise ValueError(f"tau must be positive, got {tau}")
        self.k = k
        self.tau = float(tau)
        self.prototypes = nn.Parameter(torch.randn(2, k, d).mul_(0.02))

    def forward(self, fused: Tensor) -> Tensor:
        """(B, 2) class scores of (B, d) fused vectors."""
        z = F.normalize(fused, dim=-1)
        p = F.normalize(self.prototypes, dim=-1)
        similarity = torch.einsum("bd,ckd->bck", z, p)
        return torch.logsumexp(similarity / self.tau, dim=-1)


def diversity_loss(prototypes: Tensor, margin: float) -> Tensor:
    """Keep prototypes spread out: within a class above ``margin``, across classes apart.

    - Same class: mean over distinct pairs (i < j) of ``relu(cos - margin)``;
      prototypes less similar than the margin cost nothing, so the term only
      prevents a class's prototypes from collapsing onto one point.
    - Different classes: mean over all cross-class pairs of ``relu(cos)``.
      Minimising it pushes a positive cosine down, i.e. pushes the classes'
      prototypes apart (the authors' code had this sign inverted and so pulled
      them together). We penalise only positive similarity: orthogonal
      prototypes already separate the classes, and chasing cosine -1 would
      fight the same-class term (all of a class cannot be antipodal to all of
      the other while staying diverse).

    The result is the sum of the two means; a class with one prototype has no
    same-class pair and contributes nothing to the first.
    """
    if prototypes.dim() != 3 or prototypes.shape[0] != 2:
        raise ValueError(f"prototypes must be (2, K, d), got {tuple(prototypes.shape)}")
    k = prototypes.shape[1]
    p = F.normalize(prototypes, dim=-1)
    zero = prototypes.new_zeros(())
    if k > 1:
        same = torch.einsum("ckd,cjd->ckj", p, p)  # (2, K, K)
        upper = torch.triu(torch.ones(k, k, dtype=torch.bool, device=p.device), diagonal=1)
        same_term = F.relu(same[:, upper] - margin).mean()
    else:
        same_term = zero
    cross = p[0] @ p[1].T  # (K, K)
    cross_term = F.relu(cross).mean()
    return same_term + cross_term


class FusionModel(nn.Module):
    """Modality tokens -> Transformer encoder -> readout -> linear classifier.

    ``input_dims`` maps modality name -> embedding size; its order is the
    token order, the order of the mask's columns and part of the saved model.
    """

    def __init__(
        self, input_dims: Mapping[str, int], params: FusionParams, prototypes: bool
    ) -> None:
        super().__init__()
        if not input_dims:
            raise ValueError("the fusion needs at least one modality")
        if params.readout not in ("mean", "cls"):
            raise ValueError(f"readout must be 'mean' or 'cls', got {params.readout!r}")
        if params.d % params.heads:
            raise ValueError(f"d ({params.d}) must be divisible by heads ({params.heads})")
        self.modalities = list(input_dims)
        self.input_dims = {m: int(input_dims[m]) for m in self.modalities}
        self.params = params
        self.readout = params.readout
        d = params.d
        self.projectors = nn.ModuleList(
            nn.Sequential(
                nn.Linear(self.input_dims[m], d),
                nn.LayerNorm(d),
                nn.GELU(),
                nn.Dropout(params.dropout),
            )
            for m in self.modalities
        )
        # In-place scaling (the same values as ``* 0.02``): on the meta device, where
        # loading builds a network to check its size, an out-of-place op imports
        # torch._dynamo, 1.5 s of CPU in every prediction job.
        self.modality_embedding = nn.Parameter(torch.randn(len(self.modalities), d).mul_(0.02))
        self.cls_token = (
            nn.Parameter(torch.randn(1, 1, d).mul_(0.02)) if self.readout == "cls" else None
        )
        layer = nn.TransformerEncoderLayer(
            d_model=d,
            nhead=params.heads,
            dim_feedforward=params.ff_mult * d,
            dropout=params.dropout,
            activation="gelu",
            batch_first=True,
            norm_first=True,
        )
        self.encoder = nn.TransformerEncoder(
            layer, num_layers=params.layers, norm=nn.LayerNorm(d), enable_nested_tensor=False
        )
        self.classifier = nn.Linear(d, 2)
        self.prototype_head = PrototypeHead(d, params.k, params.tau) if prototypes else None

    @property
    def has_prototypes(self) -> bool:
        return self.prototype_head is not None

    def forward(self, inputs: Mapping[str, Tensor], mask: Tensor) -> dict[str, Tensor]:
        """``logits`` (B, 2), ``fused`` (B, d) and, with prototypes, ``proto_logits`` (B, 2).

        ``inputs``: modality -> (B, D_m); ``mask``: (B, M) bool, True where
        present. A row with no modality present gets the CLS output (cls
        readout) or the zero vector (mean readout): finite, but uninformative;
        callers should give such videos a prior instead.
        """
        mask = mask.to(dtype=torch.bool)
        batch = mask.shape[0]
        if mask.shape != (batch, len(self.modalities)):
            raise ValueError(
                f"mask must be (B, {len(self.modalities)}) for modalities {self.modalities}, got {tuple(mask.shape)}"
            )
        tokens = []
        for index, (modality, projector) in enumerate(
            zip(self.modalities, self.projectors, strict=True)
        ):
            if modality not in inputs:
                raise KeyError(f"fusion input lacks modality {modality!r}")
            x = inputs[modality].to(device=mask.device, dtype=self.modality_embedding.dtype)
            present = mask[:, index : index + 1]
            # torch.where, not a product: 0 * NaN is NaN.
            x = torch.where(present, x, torch.zeros_like(x))
            token = projector(x) + self.modality_embedding[index]
            tokens.append(torch.where(present, token, torch.zeros_like(token)))
        tokens_bmd = torch.stack(tokens, dim=1)  # (B, M, d)
        padding = ~mask
        empty = ~mask.any(dim=1)
        if self.cls_token is not None:
            cls = self.cls_token.expand(batch, -1, -1)
            tokens_bmd = torch.cat([cls, tokens_bmd], dim=1)
            padding = torch.cat([padding.new_zeros(batch, 1), padding], dim=1)
        else:
            # A row with every key masked would softmax over nothing (NaN);
            # let it attend to its zero tokens instead, then drop the result.
            padding = padding & ~empty[:, None]
        encoded = self.encoder(tokens_bmd, src_key_padding_mask=padding)
        if self.cls_token is not None:
            fused = encoded[:, 0]
        else:
            weights = mask.to(encoded.dtype).unsqueeze(-1)
            summed = torch.where(mask.unsqueeze(-1), encoded, torch.zeros_like(encoded)).sum(dim=1)
            fused = summed / weights.sum(dim=1).clamp(min=1.0)
        out = {"logits": self.classifier(fused), "fused": fused}
        if self.prototype_head is not None:
            out["proto_logits"] = self.prototype_head(fused)
        return out

    def fused_embedding(self, inputs: Mapping[str, Tensor], mask: Tensor) -> Tensor:
        """(B, d) fused vectors (for analysis and plots), without gradients."""
        with torch.no_grad():
            return self.forward(inputs, mask)["fused"]


def drop_modalities(mask: Tensor, rate: float) -> Tensor:
    """``mask`` with each present modality masked at ``rate``, one always left per video.

    Without it a modality that every training video has (frames, a
    transcript from speech recognition) is never absent in training, and
    masking it, as the explanations do, asks the model about inputs it has
    never seen. Draws from torch's generator, which the seed fixes.
    """
    mask = mask.to(dtype=torch.bool)
    kept = mask & (torch.rand(mask.shape, device=mask.device) >= rate)
    emptied = ~kept.any(dim=1) & mask.any(dim=1)
    if bool(emptied.any()):
        # keep one of the video's own modalities, drawn uniformly
        scores = torch.rand(mask.shape, device=mask.device).masked_fill(~mask, -1.0)
        one = F.one_hot(scores.argmax(dim=1), mask.shape[1]).to(torch.bool)
        kept = torch.where(emptied.unsqueeze(1), one, kept)
    return kept


def collate_fusion(
    items: Sequence[dict[str, Any]], input_dims: Mapping[str, int]
) -> dict[str, Tensor]:
    """A batch of fusion items: ``mask`` (B, M) bool, ``label`` (B,) long, one (B, D_m) per modality.

    Every entry is row-wise (row i comes from item i alone), so collating a
    whole split once and selecting rows gives the batches collating each
    batch would (``fusion_split``).
    """
    modalities = list(input_dims)
    masks = np.stack([np.asarray(item["mask"], dtype=bool) for item in items])
    if masks.shape != (len(items), len(modalities)):
        raise ValueError(
            f"each item's mask must have {len(modalities)} entries ({', '.join(modalities)}), got shape {masks.shape[1:]}"
        )
    batch: dict[str, Tensor] = {
        "mask": torch.from_numpy(masks),
        "label": torch.tensor([int(item.get("label", -1)) for item in items], dtype=torch.long),
    }
    for index, modality in enumerate(modalities):
        dim = int(input_dims[modality])
        rows = []
        for row, item in enumerate(items):
            value = item["inputs"].get(modality)
            if value is None:
                if masks[row, index]:
                    raise ValueError(f"modality {modality!r} is marked present but missing")
                value = np.zeros(dim, dtype=np.float32)
            value = np.asarray(value, dtype=np.float32).reshape(-1)
            if value.shape[0] != dim:
                raise ValueError(
                    f"modality {modality!r} expects {dim} values per video, got {value.shape[0]}"
                )
            rows.append(value)
        # Flat keys: the trainer moves top-level tensors to the device only.
        batch[_INPUT_PREFIX + modality] = torch.from_numpy(np.stack(rows))
    return batch


def fusion_split(items: Sequence[dict[str, Any]], input_dims: Mapping[str, int]) -> TensorSplit:
    """A split of fusion items collated once, for training, evaluation or prediction.

    Build it once and reuse it (the search does, across trials and seeds):
    the per-item work is then paid once per split, not per batch and epoch.
    """
    if not items:
        raise ValueError("a fusion split needs at least one item")
    return TensorSplit(collate_fusion(items, input_dims))


class FusionTask:
    """The shared trainer's ``Task`` for a ``FusionModel``.

    Items: ``{"inputs": {modality: (D_m,) float32}, "mask": (M,) bool,
    "label": 0 | 1}`` (extra keys such as ``video_id`` are ignored). A missing
    modality may also be left out of ``inputs`` (zeros stand in) if its mask
    entry is False. Items of unknown label (-1) must never reach ``loss``:
    the trainer only receives labelled train and val items (``train_fusion``
    checks), and ``loss`` raises if it meets one. ``proba`` accepts any item.
    """

    def __init__(self, model: FusionModel) -> None:
        self.model = model
        self.params = model.params

    def collate(self, items: Sequence[dict[str, Any]]) -> dict[str, Any]:
        return collate_fusion(items, self.model.input_dims)

    def _forward(self, batch: dict[str, Any]) -> dict[str, Tensor]:
        inputs = {m: batch[_INPUT_PREFIX + m] for m in self.model.modalities}
        return self.model(inputs, batch["mask"])

    def loss(self, batch: dict[str, Any], class_weights: Tensor, settings: TrainSettings) -> Tensor:
        """Weighted, smoothed CE on the logits (+ lambda_proto * the same on the prototype
        scores + lambda_div * the diversity regulariser, with prototypes)."""
        if self.model.training and self.params.modality_dropout > 0:
            batch = {**batch, "mask": drop_modalities(batch["mask"], self.params.modality_dropout)}
        return self._loss(batch, self._forward(batch), class_weights, settings)

    def loss_and_proba(
        self, batch: dict[str, Any], class_weights: Tensor, settings: TrainSettings
    ) -> tuple[Tensor, Tensor]:
        """``loss`` and ``proba`` from one forward pass (the trainer's evaluation; eval mode)."""
        out = self._forward(batch)
        return self._loss(batch, out, class_weights, settings), torch.softmax(out["logits"], dim=-1)

    def _loss(
        self,
        batch: dict[str, Any],
        out: dict[str, Tensor],
        class_weights: Tensor,
        settings: TrainSettings,
    ) -> Tensor:
        labels = batch["label"]
        if bool(((labels < 0) | (labels > 1)).any()):
            raise ValueError("items of unknown label (-1) must never enter the fusion loss")
        weights = class_weights.to(out["logits"].device)
        smoothing = settings.label_smoothing
        loss = F.cross_entropy(out["logits"], labels, weight=weights, label_smoothing=smoothing)
        head = self.model.prototype_head
        if head is not None:
            if self.params.lambda_proto:
                loss = loss + self.params.lambda_proto * F.cross_entropy(
                    out["proto_logits"], labels, weight=weights, label_smoothing=smoothing
                )
            if self.params.lambda_div:
                loss = loss + self.params.lambda_div * diversity_loss(
                    head.prototypes, self.params.div_margin
                )
        return loss

    def proba(self, batch: dict[str, Any]) -> Tensor:
        """Softmax of the linear classifier's logits (the prototype head never predicts)."""
        return torch.softmax(self._forward(batch)["logits"], dim=-1)


FusionItems = Sequence[dict[str, Any]] | TensorSplit


def _check_labelled(items: FusionItems, split: str) -> list[int]:
    labels = items.labels if isinstance(items, TensorSplit) else [int(i["label"]) for i in items]
    bad = [label for label in labels if label not in (0, 1)]
    if bad:
        raise ValueError(
            f"{len(bad)} {split} items have no 0/1 label (e.g. {bad[0]}); give the fusion labelled items only"
        )
    return labels


def _as_split(items: FusionItems, input_dims: Mapping[str, int]) -> TensorSplit | None:
    if isinstance(items, TensorSplit):
        return items if len(items) else None
    return fusion_split(items, input_dims) if len(items) else None


def train_fusion(
    train_items: FusionItems,
    val_items: FusionItems,
    input_dims: Mapping[str, int],
    params: FusionParams,
    prototypes: bool,
    seed: int,
    device: torch.device | str,
) -> tuple[FusionModel, FitResult]:
    """Train one fusion model; early stopping and the checkpoint on validation MF1 only.

    Everything is seeded before the model is built, so the seed fixes the
    initial weights as well as batch order and dropout: one seed of the
    ensemble is one reproducible model. The returned model holds the best
    state and sits on ``device``. The splits may be item lists or
    ``fusion_split``s built once (a caller fitting many models on the same
    splits, as the search does, saves collating them again).
    """
    if not len(train_items):
        raise ValueError("the fusion has no labelled training items")
    train_labels = _check_labelled(train_items, "training")
    _check_labelled(val_items, "validation")
    train_split = _as_split(train_items, input_dims)
    val_split = _as_split(val_items, input_dims)
    if params.late:
        return _train_late(train_split, val_split, input_dims, params, device)
    seed_everything(seed)
    model = FusionModel(input_dims, params, prototypes)
    task = FusionTask(model)
    result = fit(
        task, train_split, val_split, params, torch.device(device), train_labels, seed=seed
    )
    return model, result


def _train_late(
    train: TensorSplit,
    val: TensorSplit | None,
    input_dims: Mapping[str, int],
    params: FusionParams,
    device: torch.device | str,
) -> tuple[Any, FitResult]:
    """A late fusion (fusion/late.py): fitted once on ``train``, its validation MF1 for the log."""
    from ahrec.fusion.late import fit_late_fusion
    from ahrec.metrics import macro_f1

    model = fit_late_fusion(train, input_dims, params)
    val_mf1 = None
    if val is not None:
        proba = predict_fusion(model, val, device, batch_size=len(val))
        val_mf1 = float(macro_f1(val.labels, proba.argmax(axis=1)))
    return model.to(device), FitResult(model.state_dict(), 1, val_mf1, [])


def build_fusion_model(
    input_dims: Mapping[str, int], params: FusionParams, prototypes: bool
) -> Any:
    """The network ``params.method`` names: the paper's Transformer, or a late fusion."""
    if params.late:
        from ahrec.fusion.late import LateFusionModel

        return LateFusionModel(input_dims, params)
    return FusionModel(input_dims, params, prototypes)


def predict_fusion(
    model: FusionModel,
    items: FusionItems,
    device: torch.device | str = "cpu",
    batch_size: int = 1,
) -> np.ndarray:
    """(N, 2) float32 class probabilities of ``items`` (any label, -1 included), in order.

    One video per forward pass by default: in a larger batch the kernels'
    blocking follows the batch's shape, so a video's probability would move in
    its last bits with the videos that share its batch, shard or predict run.
    """
    device = torch.device(device)
    model.to(device)
    split = _as_split(items, model.input_dims)
    if split is None:
        return np.zeros((0, 2), dtype=np.float32)
    return predict_proba(FusionTask(model), split, device, batch_size)


def average_probabilities(
    runs: Sequence[tuple[Sequence[str], np.ndarray]],
) -> tuple[list[str], np.ndarray]:
    """The seed ensemble: per video id, the mean of the runs' (N, 2) class probabilities.

    Runs are aligned by video id (their row orders may differ); the result
    follows the first run's order. Every run must cover exactly the same ids:
    an ensemble silently missing a seed for some videos would not be the
    ensemble reported. The ensemble's prediction is the argmax of the mean.
    """
    if not runs:
        raise ValueError("the ensemble needs at least one run")
    first_ids = [str(v) for v in runs[0][0]]
    total = np.zeros((len(first_ids), 2), dtype=np.float64)
    for number, (ids, proba) in enumerate(runs):
        ids = [str(v) for v in ids]
        proba = np.asarray(proba, dtype=np.float64)
        if proba.shape != (len(ids), 2):
            raise ValueError(
                f"run {number}: probabilities must be ({len(ids)}, 2), got {proba.shape}"
            )
        index = {video_id: row for row, video_id in enumerate(ids)}
        if len(index) != len(ids):
            duplicate = next(v for v in ids if ids.count(v) > 1)
            raise ValueError(f"run {number}: video id {duplicate!r} appears more than once")
        missing = [v for v in first_ids if v not in index]
        if missing:
            raise ValueError(
                f"run {number} has no prediction for video {missing[0]!r} ({len(missing)} missing)"
            )
        if len(ids) != len(first_ids):
            extra = next(v for v in ids if v not in set(first_ids))
            raise ValueError(f"run 0 has no prediction for video {extra!r} (run {number} has)")
        total += proba[[index[v] for v in first_ids]]
    return first_ids, (total / len(runs)).astype(np.float32)


def save_fusion_model(
    model: Any, folder: Path, input_dims: Mapping[str, int], params: FusionParams, prototypes: bool
) -> None:
    """Weights as safetensors plus the JSON needed to rebuild the model (no pickles)."""
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(folder / "model.safetensors"))
    (folder / "model.json").write_text(
        json.dumps(
            {
                "input_dims": dict(input_dims),
                "params": dataclasses.asdict(params),
                "prototypes": prototypes,
            },
            indent=2,
        )
        + "\n"
    )


def load_fusion_model(folder: str | Path, device: Any = "cpu") -> Any:
    """A saved fusion seed; its ``model.json`` is read with the bounded loader and validated
    with ``FusionParams``' bounds (ConfigError naming the file and key), and a network far
    larger than its weights file is refused before it is allocated."""
    from safetensors.torch import load_file

    from ahrec.model_records import MODEL_JSON, read_fusion_record
    from ahrec.unimodal.base import check_weights_fit

    folder = Path(folder)
    record = read_fusion_record(folder)
    with torch.device("meta"):
        shape_only = build_fusion_model(record.input_dims, record.params, record.prototypes)
    weights = folder / "model.safetensors"
    check_weights_fit(shape_only, weights, folder / MODEL_JSON)
    model = build_fusion_model(record.input_dims, record.params, record.prototypes)
    model.load_state_dict(load_file(str(weights), device="cpu"))
    return model.to(device).eval()
