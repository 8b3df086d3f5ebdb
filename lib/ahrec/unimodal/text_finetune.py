"""Kind ``text_finetune``: the paper's text model, a transformer fine-tuned end to end.

Transcript -> tokenizer (``max_length`` tokens) -> encoder (EmotionDistilRoBERTa
in the paper, the packaged MiniLM offline) -> first-token (``cls``) or
attention-masked mean (``mean``) output -> Linear(H, hidden) -> Dropout ->
Linear(hidden, 1) with a sigmoid. The ``hidden``-d layer output (128-d) is the
text embedding. Binary cross-entropy, unweighted as the authors' (with
``balanced``, the class balance in ``pos_weight``); SGD without momentum as the
authors' (``momentum`` sets it).

The word/position embeddings can be frozen (the paper freezes them) and so can
the first ``frozen_layers`` encoder layers, found generically for
BERT/RoBERTa/DistilBERT/DeBERTa-style encoders. A saved model holds the whole
fine-tuned network as safetensors plus the backbone's config and tokenizer, so
loading it needs no hub.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ahrec.embeddings.text_transformer import pool, token_limit
from ahrec.errors import ModelLoadError
from ahrec.models import load_model
from ahrec.unimodal.base import BackboneUnimodal, Item, item_label


def encoder_layers(backbone: nn.Module) -> nn.ModuleList | None:
    """The stack of transformer layers (``encoder.layer``, ``transformer.layer``, ``layers``)."""
    expected = getattr(getattr(backbone, "config", None), "num_hidden_layers", None)
    found = [
        module
        for name, module in backbone.named_modules()
        if isinstance(module, nn.ModuleList)
        and name.rsplit(".", 1)[-1] in ("layer", "layers")
        and (expected is None or len(module) == expected)
    ]
    return found[0] if found else None


def freeze_embeddings(backbone: nn.Module) -> int:
    """Freeze every embedding table (word, position, token type); returns how many."""
    container = getattr(backbone, "embeddings", None)
    tables = [m for m in container.modules() if isinstance(m, nn.Embedding)] if container else []
    if not tables:
        tables = [backbone.get_input_embeddings()]
    for table in tables:
        table.requires_grad_(False)
    return len(tables)


def freeze_layers(backbone: nn.Module, count: int, model_name: str) -> None:
    """Freeze the first ``count`` encoder layers, with a clear error when impossible."""
    if count <= 0:
        return
    layers = encoder_layers(backbone)
    if layers is None:
        raise ModelLoadError(
            f"text_finetune: cannot find the encoder layers of {model_name!r} to freeze "
            f"{count} of them; set frozen_layers: 0"
        )
    if count > len(layers):
        raise ModelLoadError(
            f"text_finetune: frozen_layers is {count} but {model_name!r} has {len(layers)} "
            f"encoder layers; set frozen_layers to at most {len(layers)}"
        )
    for layer in layers[:count]:
        layer.requires_grad_(False)


class TextNet(nn.Module):
    def __init__(self, backbone: nn.Module, hidden: int, dropout: float, pooling: str) -> None:
        super().__init__()
        if pooling not in ("cls", "mean"):
            raise ValueError(f"text_finetune: pooling must be 'cls' or 'mean', got {pooling!r}")
        self.backbone = backbone
        self.pooling = pooling
        self.project = nn.Linear(int(backbone.config.hidden_size), hidden)
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(hidden, 1)

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        states = self.backbone(input_ids=input_ids, attention_mask=attention_mask)
        pooled = pool(states.last_hidden_state, attention_mask, self.pooling)
        embedding = self.project(pooled)
        return self.out(self.dropout(embedding)).squeeze(-1), embedding


class TextFinetuneModel(BackboneUnimodal):
    """The fine-tuned text transformer (see the module docstring)."""

    kind = "text_finetune"

    def _build(self) -> nn.Module:
        from transformers import AutoConfig, AutoModel, AutoTokenizer

        spec = self.spec
        saved = self._backbone_dir

        def load(location: str) -> tuple[Any, nn.Module]:
            tokenizer = AutoTokenizer.from_pretrained(location)
            if saved is not None:  # a trained model's own backbone: its weights come after
                return tokenizer, AutoModel.from_config(AutoConfig.from_pretrained(location))
            return tokenizer, AutoModel.from_pretrained(location, dtype=torch.float32)

        self.tokenizer, backbone = load_model(spec.model, load, location=saved)
        backbone = backbone.float()
        self.max_length = token_limit(
            spec.max_length, int(self.tokenizer.model_max_length), backbone.config
        )
        if spec.freeze_embeddings:
            freeze_embeddings(backbone)
        freeze_layers(backbone, spec.frozen_layers, spec.model)
        return TextNet(backbone, spec.hidden, spec.dropout, spec.pooling)

    @property
    def embedding_dim(self) -> int:
        return int(self.spec.hidden)

    def _length(self, item: Item) -> int:
        return len(item["text"])

    def collate(self, items: Sequence[Item]) -> dict[str, Any]:
        texts = [str(item["text"]) for item in items]
        tokens = self.tokenizer(
            texts,
            padding=True,
            truncation=True,
            max_length=self.max_length,
            return_tensors="pt",
        )
        return {
            "input_ids": tokens["input_ids"],
            "attention_mask": tokens["attention_mask"],
            "label": item_label(items),
        }

    def loss(
        self, batch: dict[str, Any], class_weights: torch.Tensor, settings: Any
    ) -> torch.Tensor:
        logit, _ = self._forward(batch)
        target = batch["label"].float()
        smoothing = float(getattr(settings, "label_smoothing", 0.0))
        if smoothing:
            target = target * (1.0 - smoothing) + 0.5 * smoothing
        pos_weight = (class_weights[1] / class_weights[0]).reshape(1)
        return F.binary_cross_entropy_with_logits(logit.float(), target, pos_weight=pos_weight)

    def _proba_from_logits(self, logits: torch.Tensor) -> torch.Tensor:
        p = torch.sigmoid(logits.float())
        return torch.stack([1.0 - p, p], dim=-1)

    def _info(self) -> dict[str, Any]:
        return {**super()._info(), "max_length": self.max_length}

    def _save_extra(self, folder: Path) -> None:
        super()._save_extra(folder)
        self.tokenizer.save_pretrained(folder / self.backbone_folder)
