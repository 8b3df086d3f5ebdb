"""Steps: one fusion model per seed, and the ensemble of a run's seeds.

The fusion reads the embeddings the unimodal models wrote (out-of-fold for
the training videos). A modality a video lacks is masked; a video that lacks
every modality of the run gets the training prior and ``available = false``,
so every video still has a prediction.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from ahrec.embeddings.table import read_embeddings
from ahrec.models.data import prior_proba, read_labels
from ahrec.models.predictions import (
    predictions_frame,
    proba_matrix,
    read_predictions,
    write_predictions,
)
from ahrec.models.specs import FusionParams

LOG = logging.getLogger(__name__)


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


def load_fusion_data(embedding_tables: Sequence[str | Path], labels_path: str | Path) -> FusionData:
    """Align the unimodal embedding tables on the labelled video list."""
    return fusion_data(embedding_tables, read_labels(labels_path))


def fusion_data(embedding_tables: Sequence[str | Path], labels: pd.DataFrame) -> FusionData:
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
        matrix = np.zeros((len(ids), table.dim), dtype=np.float32)
        has = np.zeros(len(ids), dtype=bool)
        for row, video_id in enumerate(ids):
            position = index.get(video_id)
            if position is not None and table.available[position]:
                matrix[row] = table.vectors[position]
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


def resolve_params(params: Mapping[str, Any], best_params: str | Path | None) -> FusionParams:
    """The run's hyperparameters, overlaid with a search's best ones when it names one."""
    values = dict(params)
    if best_params:
        found = yaml.safe_load(Path(best_params).read_text()) or {}
        values.update(found.get("params", found))
    return FusionParams(**values)


def train_fusion_seed(
    prototypes: bool,
    params: Mapping[str, Any],
    seed: int,
    embedding_tables: Sequence[str | Path],
    labels_path: str | Path,
    out_dir: str | Path,
    best_params: str | Path | None = None,
    device: str = "auto",
) -> dict[str, Any]:
    from ahrec.embeddings.device import select_device
    from ahrec.models.fusion import predict_fusion, train_fusion

    torch_device = select_device(device)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    hyper = resolve_params(params, best_params)
    data = load_fusion_data(embedding_tables, labels_path)
    fusable = data.mask.any(axis=1)
    train_rows = [
        i
        for i in range(len(data.video_ids))
        if data.splits[i] == "train" and data.labels[i] >= 0 and fusable[i]
    ]
    val_rows = [
        i
        for i in range(len(data.video_ids))
        if data.splits[i] == "val" and data.labels[i] >= 0 and fusable[i]
    ]
    LOG.info(
        "fusion of %s (prototypes %s, seed %d): train %d, val %d, %d videos without any modality",
        ", ".join(data.modalities),
        prototypes,
        seed,
        len(train_rows),
        len(val_rows),
        int((~fusable).sum()),
    )
    model, result = train_fusion(
        data.items(train_rows),
        data.items(val_rows),
        data.input_dims,
        hyper,
        prototypes,
        seed,
        torch_device,
    )
    rows = [i for i in range(len(data.video_ids)) if fusable[i]]
    proba = np.tile(prior_proba([data.labels[i] for i in train_rows]), (len(data.video_ids), 1))
    if rows:
        proba[rows] = predict_fusion(model, data.items(rows), torch_device)
    write_predictions(
        predictions_frame(
            data.video_ids,
            data.splits,
            proba,
            fusable,
            ["model" if f else "prior" for f in fusable],
        ),
        out_dir / "predictions.parquet",
    )
    save_fusion_model(model, out_dir / "model", data.input_dims, hyper, prototypes)
    summary = {
        "seed": seed,
        "modalities": data.modalities,
        "prototypes": prototypes,
        "params": dataclasses.asdict(hyper),
        "best_epoch": result.best_epoch,
        "best_val_mf1": result.best_val_mf1,
        "history": result.history,
    }
    (out_dir / "selection.json").write_text(json.dumps(summary, indent=2) + "\n")
    LOG.info("best epoch %d, validation MF1 %s", result.best_epoch, result.best_val_mf1)
    return summary


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
    from safetensors.torch import load_file

    from ahrec.models.fusion import FusionModel

    folder = Path(folder)
    spec = json.loads((folder / "model.json").read_text())
    model = FusionModel(spec["input_dims"], FusionParams(**spec["params"]), spec["prototypes"])
    model.load_state_dict(load_file(str(folder / "model.safetensors"), device="cpu"))
    return model.to(device).eval()


def ensemble(seed_predictions: Sequence[str | Path], out: str | Path) -> None:
    """Average the seeds' class probabilities; the ensemble predicts the argmax."""
    from ahrec.models.fusion import average_probabilities

    frames = [read_predictions(p) for p in seed_predictions]
    ids, proba = average_probabilities([(list(f["video_id"]), proba_matrix(f)) for f in frames])
    first = frames[0].set_index("video_id").loc[ids]
    write_predictions(
        predictions_frame(
            ids, list(first["split"]), proba, first["available"].to_numpy(), ["ensemble"] * len(ids)
        ),
        out,
    )
    LOG.info("ensemble of %d seeds over %d videos", len(frames), len(ids))
