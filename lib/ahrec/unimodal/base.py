"""The common interface of the unimodal models, and what the torch ones share.

Every unimodal model kind (``mlp``, ``linear``, ``temporal``, ``text_finetune``,
``tfidf_logreg``, ``tfidf_catboost``, ``videomae_finetune``) fits on labelled
training items, selects itself on the validation items only, and maps any item
to class probabilities plus the embedding the fusion reads. One interface lets
the unimodal stage train, embed out of fold and save every kind the same way.

A model folder holds ``model.json`` (the kind, the spec and what is needed to
rebuild the network) next to weights in formats that execute no code when
read: safetensors for torch state dicts, CatBoost's ``.cbm``, JSON and npz for
TF-IDF vocabularies and coefficients. No pickles.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar, Protocol, runtime_checkable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ahrec.device import autocast, to_device
from ahrec.model_records import MODEL_JSON, read_unimodal_record
from ahrec.training.loop import median_epochs
from ahrec.training.seeding import seed_everything
from ahrec.unimodal.kinds import UNIMODAL_KINDS

Item = dict[str, Any]

WEIGHTS_FILE = "weights.safetensors"
FORMAT_VERSION = 1


@runtime_checkable
class UnimodalModel(Protocol):
    """What the unimodal stage needs from every model kind."""

    embedding_dim: int

    def fit(self, train: Sequence[Item], val: Sequence[Item]) -> dict[str, Any]:
        """Train on ``train``, select on ``val``; a JSON-able summary of the selection."""
        ...

    def predict(self, items: Sequence[Item]) -> tuple[np.ndarray, np.ndarray]:
        """(N, 2) float32 class probabilities and (N, embedding_dim) float32 embeddings."""
        ...

    def save(self, folder: Path) -> None: ...

    @classmethod
    def load(cls, folder: Path, device: torch.device | str) -> UnimodalModel: ...

    @classmethod
    def refit_spec(cls, spec: Any, fold_summaries: Sequence[dict[str, Any]]) -> Any:
        """The spec a final model refits on train + val with, from the folds' selections (CV)."""
        ...


def predict_each(model: UnimodalModel, items: Sequence[Item]) -> tuple[np.ndarray, np.ndarray]:
    """``model.predict`` one video at a time: what the saved model gives new videos.

    A batch pads sequences to its longest and its kernels pick their blocking
    by batch shape, so a video predicted among others would change in its last
    bits with its company (shard, corpus or predict batch). One at a time, a
    video's probability and embedding are the same wherever it is predicted.
    """
    if not items:
        return model.predict(items)
    results = [model.predict([item]) for item in items]
    return (
        np.concatenate([proba for proba, _ in results]),
        np.concatenate([embedding for _, embedding in results]),
    )


# --- factory -----------------------------------------------------------------


def model_class(kind: str) -> type:
    """The class implementing ``kind`` (its kind table row imports it on first use)."""
    return UNIMODAL_KINDS[kind].load()


def build_unimodal(
    kind: str, spec: Any, input_dim: int | None, device: torch.device | str
) -> UnimodalModel:
    """A fresh, untrained model of ``kind`` configured by ``spec`` (its options dataclass)."""
    expected = UNIMODAL_KINDS[kind].options
    if not isinstance(spec, expected):
        raise TypeError(f"kind {kind!r} takes a {expected.__name__}, got {type(spec).__name__}")
    return model_class(kind)(spec, input_dim, torch.device(device))


def load_unimodal(folder: str | Path, device: torch.device | str = "cpu") -> UnimodalModel:
    """The model saved in ``folder`` (its kind is read from ``model.json``)."""
    kind = read_model_json(folder)["kind"]
    return model_class(kind).load(Path(folder), torch.device(device))


# --- model.json ------------------------------------------------------------


def spec_to_dict(spec: Any) -> dict[str, Any]:
    return dataclasses.asdict(spec)


def write_model_json(folder: Path, kind: str, spec: Any, info: dict[str, Any]) -> None:
    """Write what ``load`` needs to rebuild the model: kind, spec and ``info``."""
    folder.mkdir(parents=True, exist_ok=True)
    record = {"format": FORMAT_VERSION, "kind": kind, "spec": spec_to_dict(spec), "info": info}
    (folder / MODEL_JSON).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")


def read_model_json(folder: str | Path) -> dict[str, Any]:
    """The ``model.json`` of a saved model, read with the bounded loader and validated.

    A model folder may come from another machine (an exported ensemble): the
    spec goes through the kind's options class with the configuration's
    bounds, and ``info`` is checked (ConfigError naming the file and key).
    """
    record = read_unimodal_record(folder)
    return {
        "format": FORMAT_VERSION,
        "kind": record.kind,
        "spec": record.spec,
        "info": record.info,
    }


def read_saved(folder: Path, kind: str) -> tuple[Any, dict[str, Any]]:
    """(spec, info) of a saved model, checking that it is of ``kind``."""
    record = read_unimodal_record(folder)
    if record.kind != kind:
        raise ValueError(f"{folder}: holds a {record.kind!r} model, not {kind!r}")
    return record.spec, record.info


# --- helpers -----------------------------------------------------------------


def stored_values(weights: Path) -> int:
    """How many numbers a safetensors file holds (read from its header only)."""
    from safetensors import safe_open

    total = 0
    with safe_open(str(weights), framework="pt") as handle:
        for key in handle.keys():  # noqa: SIM118 (safe_open has no __iter__)
            total += math.prod(handle.get_slice(key).get_shape())
    return total


def check_weights_fit(network: nn.Module, weights: Path, record: Path) -> None:
    """Refuse a ``model.json`` whose network is far larger than its weights file.

    The network is built on the meta device (no memory) from the record; a
    record that asks for billions of parameters beside a small weights file
    is refused before the real network is allocated. Tied parameters are
    counted once, and a margin leaves room for buffers not stored.
    """
    from ahrec.errors import ConfigError

    tensors = {id(t): t for t in [*network.parameters(), *network.buffers()]}
    needed = sum(t.numel() for t in tensors.values())
    held = stored_values(weights)
    if needed > 2 * held + 1_000_000:
        raise ConfigError(
            f"{record}: describes a network of {needed:,} values, but {weights.name} holds "
            f"{held:,}; the saved model is inconsistent (save or export it again)"
        )


def labelled(items: Sequence[Item]) -> list[Item]:
    """Items whose label is 0 or 1: unknown labels (-1) never enter a loss or a selection."""
    return [item for item in items if int(item.get("label", -1)) in (0, 1)]


def require_training_items(train: Sequence[Item], kind: str) -> None:
    if not train:
        raise ValueError(f"{kind}: no labelled training items to fit on")


def logit(p: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Log-odds of probabilities, clipped so that certain predictions stay finite."""
    p = np.clip(np.asarray(p, dtype=np.float64), eps, 1.0 - eps)
    return np.log(p / (1.0 - p))


def standardiser(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and population std over rows (float64 sums); constant features get std 1."""
    rows = np.asarray(rows, dtype=np.float64)
    mean = rows.mean(axis=0)
    std = rows.std(axis=0)
    std[~np.isfinite(std) | (std < 1e-8)] = 1.0
    return mean.astype(np.float32), std.astype(np.float32)


def json_history(history: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Epoch records with plain floats (NaN as None), safe for json.dumps."""

    def plain(value: Any) -> Any:
        if isinstance(value, float | np.floating):
            value = float(value)
            return None if math.isnan(value) else value
        return value

    return [{k: plain(v) for k, v in record.items()} for record in history]


# --- the torch models --------------------------------------------------------


class TorchUnimodal:
    """The shared part of the neural models: training via ``ahrec.training.loop``.

    A subclass builds ``self.model`` (an ``nn.Module`` whose forward takes the
    batch's tensors and returns ``(logits, embedding)``), ``collate``s items
    into batches and says which ``TrainSettings`` apply; this class is then the
    trainer's ``Task`` and implements fit, predict, save and load once.
    Networks are built right after seeding with ``spec.seed``, so a fixed seed
    gives the same initial weights, batches and dropout masks.
    """

    kind: ClassVar[str] = ""
    predict_batch_size: int = 64

    def __init__(self, spec: Any, input_dim: int | None, device: torch.device) -> None:
        self.spec = spec
        self.input_dim = input_dim
        self.device = torch.device(device)
        seed_everything(spec.seed)
        self.model: nn.Module = self._build()
        self.model.to(self.device)

    # -- subclass hooks --
    def _build(self) -> nn.Module:
        raise NotImplementedError

    def collate(self, items: Sequence[Item]) -> dict[str, Any]:
        raise NotImplementedError

    def settings(self) -> Any:
        """The optimisation settings: the spec itself (every neural spec extends ``TrainSettings``)."""
        return self.spec

    @property
    def embedding_dim(self) -> int:
        raise NotImplementedError

    def _prepare(self, train: Sequence[Item]) -> None:
        """Statistics fitted on the training items (standardisation), before training."""

    def _info(self) -> dict[str, Any]:
        """What ``load`` needs besides the spec to rebuild the network."""
        return {"input_dim": self.input_dim}

    def _save_extra(self, folder: Path) -> None:
        """Files besides the weights (a backbone's config and tokenizer)."""

    @classmethod
    def _restore(
        cls, spec: Any, info: dict[str, Any], folder: Path, device: torch.device
    ) -> TorchUnimodal:
        """An instance with the saved architecture (weights are loaded afterwards)."""
        return cls(spec, info.get("input_dim"), device)

    def _length(self, item: Item) -> int | None:
        """A size to group items of similar cost in prediction batches (None: keep order)."""
        return None

    # -- the trainer's Task --
    def _forward(self, batch: dict[str, Any]) -> tuple[torch.Tensor, torch.Tensor]:
        inputs = {k: v for k, v in batch.items() if k not in ("label", "video_id")}
        return self.model(**inputs)

    def loss(
        self, batch: dict[str, Any], class_weights: torch.Tensor, settings: Any
    ) -> torch.Tensor:
        logits, _ = self._forward(batch)
        return F.cross_entropy(
            logits.float(),
            batch["label"],
            weight=class_weights,
            label_smoothing=float(getattr(settings, "label_smoothing", 0.0)),
        )

    def _proba_from_logits(self, logits: torch.Tensor) -> torch.Tensor:
        return torch.softmax(logits.float(), dim=-1)

    def proba(self, batch: dict[str, Any]) -> torch.Tensor:
        logits, _ = self._forward(batch)
        return self._proba_from_logits(logits)

    # -- the UnimodalModel interface --
    @classmethod
    def refit_spec(cls, spec: Any, fold_summaries: Sequence[dict[str, Any]]) -> Any:
        """Train for the median of the folds' best epochs (no early stopping left to do)."""
        return dataclasses.replace(spec, epochs=median_epochs(fold_summaries, spec.epochs))

    def fit(self, train: Sequence[Item], val: Sequence[Item]) -> dict[str, Any]:
        """Train with early stopping on validation macro F1 (unlabelled items are ignored)."""
        from ahrec.training.loop import Items
        from ahrec.training.loop import fit as train_loop

        train, val = labelled(train), labelled(val)
        require_training_items(train, self.kind)
        self._prepare(train)
        settings = self.settings()
        result = train_loop(
            self,
            Items(train),
            Items(val) if val else None,
            settings,
            self.device,
            [int(item["label"]) for item in train],
            seed=self.spec.seed,
        )
        self.model.eval()
        return {
            "kind": self.kind,
            "n_train": len(train),
            "n_val": len(val),
            "best_epoch": result.best_epoch,
            "best_val_mf1": result.best_val_mf1,
            "epochs_run": len(result.history),
            "history": json_history(result.history),
        }

    def predict(self, items: Sequence[Item]) -> tuple[np.ndarray, np.ndarray]:
        """Probabilities and embeddings in item order (batches grouped by size internally)."""
        count = len(items)
        proba = np.zeros((count, 2), dtype=np.float32)
        embedding = np.zeros((count, self.embedding_dim), dtype=np.float32)
        if count == 0:
            return proba, embedding
        lengths = [self._length(item) for item in items]
        order = (
            list(range(count))
            if any(n is None for n in lengths)
            else sorted(range(count), key=lambda i: lengths[i])
        )
        self.model.eval()
        with torch.no_grad():
            for start in range(0, count, self.predict_batch_size):
                chunk = order[start : start + self.predict_batch_size]
                with autocast(self.device):
                    logits, emb = self._forward(
                        to_device(self.collate([items[i] for i in chunk]), self.device)
                    )
                proba[chunk] = self._proba_from_logits(logits).float().cpu().numpy()
                embedding[chunk] = emb.float().cpu().numpy()
        return proba, embedding

    def save(self, folder: Path) -> None:
        """``model.json`` + the whole network's state as safetensors (+ subclass extras)."""
        from safetensors.torch import save_model

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        write_model_json(folder, self.kind, self.spec, self._info())
        save_model(self.model, str(folder / WEIGHTS_FILE))
        self._save_extra(folder)

    @classmethod
    def load(cls, folder: Path, device: torch.device | str = "cpu") -> TorchUnimodal:
        from safetensors.torch import load_model

        folder = Path(folder)
        device = torch.device(device)
        spec, info = read_saved(folder, cls.kind)
        with torch.device("meta"):  # the network's size, before any memory is taken
            shape_only = cls._restore(spec, info, folder, torch.device("meta"))
        check_weights_fit(shape_only.model, folder / WEIGHTS_FILE, folder / MODEL_JSON)
        instance = cls._restore(spec, info, folder, device)
        load_model(instance.model, str(folder / WEIGHTS_FILE), strict=True, device=str(device))
        instance.model.to(device).eval()
        return instance


class BackboneUnimodal(TorchUnimodal):
    """A fine-tuned pretrained backbone (the text transformer, VideoMAE).

    A saved model keeps the backbone's config beside the whole network's
    weights, so loading rebuilds the architecture from that config and reads
    no pretrained weights (no hub access, no second copy of the backbone).
    """

    backbone_folder: ClassVar[str] = "backbone"

    def __init__(
        self,
        spec: Any,
        input_dim: int | None,
        device: torch.device,
        backbone_dir: Path | None = None,
    ) -> None:
        # backbone_dir: a saved model's own backbone config (None: the spec's pretrained model)
        self._backbone_dir = backbone_dir
        self.predict_batch_size = max(1, spec.batch_size)
        super().__init__(spec, None, device)

    def _info(self) -> dict[str, Any]:
        return {"backbone": self.backbone_folder}

    def _save_extra(self, folder: Path) -> None:
        self.model.backbone.config.save_pretrained(folder / self.backbone_folder)

    @classmethod
    def _restore(
        cls, spec: Any, info: dict[str, Any], folder: Path, device: torch.device
    ) -> BackboneUnimodal:
        backbone = folder / info.get("backbone", cls.backbone_folder)
        return cls(spec, None, device, backbone_dir=backbone)


def item_label(items: Sequence[Item]) -> torch.Tensor:
    """The batch's labels as a long tensor (-1 where unknown: never reaches a loss)."""
    return torch.tensor([int(item.get("label", -1)) for item in items], dtype=torch.long)
