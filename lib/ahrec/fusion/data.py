"""The fusion's inputs: per video, one vector per modality and the mask of those present.

The unimodal models' embedding tables (out-of-fold for training videos) are
aligned on one video list; a modality a video lacks is a zero vector with its
mask entry off, so the fusion masks it. What a modality's vector holds is the
run's ``inputs``: the unimodal model's embedding (the paper's), its log-odds
(one number: what the late-fusion baseline reads) or both side by side.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ahrec.embeddings.table import EmbeddingTable, read_embeddings
from ahrec.fusion.params import FUSION_INPUTS
from ahrec.training.labels import read_labels


@dataclasses.dataclass
class FusionData:
    """Per video: one vector per modality (zeros where missing) and the presence mask."""

    video_ids: list[str]
    splits: list[str]
    labels: list[int]  # -1 where unknown to training
    modalities: list[str]
    vectors: dict[str, np.ndarray]  # modality -> (N, D_m) float32
    mask: np.ndarray  # (N, M) bool

    @property
    def input_dims(self) -> dict[str, int]:
        return {m: int(self.vectors[m].shape[1]) for m in self.modalities}

    def rows_of(self, splits: Sequence[str], labelled: bool = False) -> list[int]:
        """Rows of these splits that the fusion can see (at least one modality), labelled if asked."""
        fusable = self.mask.any(axis=1) if self.mask.size else np.zeros(len(self.video_ids), bool)
        return [
            i
            for i, split in enumerate(self.splits)
            if split in splits and fusable[i] and (self.labels[i] >= 0 or not labelled)
        ]

    def items(self, rows: Sequence[int]) -> list[dict[str, Any]]:
        return [
            {
                "video_id": self.video_ids[i],
                "inputs": {m: self.vectors[m][i] for m in self.modalities},
                "mask": self.mask[i],
                "label": self.labels[i],
            }
            for i in rows
        ]


def load_fusion_data(
    embedding_tables: Sequence[str | Path], labels_path: str | Path, inputs: str = "embedding"
) -> FusionData:
    """Align the unimodal embedding tables on the labelled video list."""
    return fusion_data(embedding_tables, read_labels(labels_path), inputs)


def table_vectors(table: EmbeddingTable, inputs: str, path: str | Path) -> np.ndarray:
    """(N, D) float32: what the fusion reads of each video of ``table`` for ``inputs``."""
    if inputs not in FUSION_INPUTS:
        raise ValueError(f"fusion inputs must be one of {', '.join(FUSION_INPUTS)}, got {inputs!r}")
    if inputs == "embedding":
        return table.vectors
    if table.logodds is None:
        raise ValueError(
            f"{path}: this embedding table stores no log-odds (written before they were); "
            "rerun its unimodal model (snakemake --forcerun unimodal) to read them"
        )
    logodds = np.where(table.available, table.logodds, 0.0).astype(np.float32)[:, None]
    if inputs == "logodds":
        return logodds
    return np.concatenate([table.vectors, logodds], axis=1)


def fusion_data(
    embedding_tables: Sequence[str | Path], labels: pd.DataFrame, inputs: str = "embedding"
) -> FusionData:
    """Align the unimodal embedding tables on ``labels`` (video_id, split, label; label may be NA)."""
    labels = labels.sort_values("video_id").reset_index(drop=True)
    ids = list(labels["video_id"])
    modalities, vectors, present = [], {}, []
    for path in embedding_tables:
        table = read_embeddings(path)
        modality = table.meta.get("modality") or Path(path).parent.name
        if modality in vectors:
            raise ValueError(f"two embedding tables of modality {modality!r} in one fusion run")
        index = table.index()
        values = table_vectors(table, inputs, path)
        matrix = np.zeros((len(ids), values.shape[1]), dtype=np.float32)
        has = np.zeros(len(ids), dtype=bool)
        for row, video_id in enumerate(ids):
            position = index.get(video_id)
            if position is not None and table.available[position]:
                matrix[row] = values[position]
                has[row] = True
        modalities.append(modality)
        vectors[modality] = matrix
        present.append(has)
    return FusionData(
        video_ids=ids,
        splits=list(labels["split"]),
        labels=[-1 if pd.isna(v) else int(v) for v in labels["label"]],
        modalities=modalities,
        vectors=vectors,
        mask=np.stack(present, axis=1) if present else np.zeros((len(ids), 0), bool),
    )
