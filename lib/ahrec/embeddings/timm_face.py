"""Face embeddings as in the paper: a timm image model on each crop, mean+std over frames.

The paper runs EfficientNet-B0 trained on AffectNet over the 30 face crops of a
video and pools the 1280-d features with their mean and population standard
deviation (2560-d). AffectNet checkpoints circulate as bare state dicts in
several containers, so weights come from a local ``.safetensors`` file, a
``.pt/.pth/.bin`` state dict (read with ``weights_only=True``: a checkpoint
cannot run code), a model folder, or a timm hub id. Every backbone key must
match the architecture: a silently half-loaded network would give plausible but
meaningless features.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import timm
import torch
import torch.nn.functional as F

from ahrec.device import inference
from ahrec.embeddings.base import each_video, unavailable_frames
from ahrec.embeddings.imaging import prepare_images
from ahrec.embeddings.kinds import TimmSpec
from ahrec.embeddings.pooling import stat_pool
from ahrec.embeddings.table import EmbeddingRow
from ahrec.errors import ModelLoadError
from ahrec.media.framestore import FrameSet
from ahrec.models import load_model, resolve_model_location

INPUT_SIZE = 224
CLASSIFIER_PREFIXES = ("classifier.", "fc.", "head.")
STATE_DICT_FILES = ("model.safetensors", "pytorch_model.bin", "model.pt", "model.pth")


def _read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """Tensors of a weights file, without ever unpickling arbitrary objects."""
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(path), device="cpu")
    if path.suffix not in (".pt", ".pth", ".bin"):
        raise ModelLoadError(
            f"model {str(path)!r}: unsupported weights file (use .safetensors, .pt, .pth or .bin)"
        )
    try:
        loaded = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ModelLoadError(
            f"model {str(path)!r} is not a plain state dict ({type(exc).__name__}: "
            f"{str(exc).splitlines()[0] if str(exc) else ''}). Whole pickled models are "
            "refused because loading them can run code; if you trust the file, convert it once: "
            "torch.save(torch.load(path, weights_only=False).state_dict(), 'weights.pt')"
        ) from exc
    if isinstance(loaded, Mapping):
        for key in ("state_dict", "model"):
            if isinstance(loaded.get(key), Mapping):
                loaded = loaded[key]
                break
    if not isinstance(loaded, Mapping) or not all(
        isinstance(v, torch.Tensor) for v in loaded.values()
    ):
        raise ModelLoadError(
            f"model {str(path)!r}: expected a state dict (names to tensors), "
            "or a dict holding one under 'state_dict' or 'model'"
        )
    return dict(loaded)


def _weights_file(location: Path) -> Path:
    if location.is_file():
        return location
    for name in STATE_DICT_FILES:
        if (location / name).is_file():
            return location / name
    raise ModelLoadError(
        f"model folder {str(location)!r} holds none of {', '.join(STATE_DICT_FILES)}"
    )


def _strip_module_prefix(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Weights saved from DataParallel/DDP carry a ``module.`` prefix on every key."""
    if state and all(k.startswith("module.") for k in state):
        return {k[len("module.") :]: v for k, v in state.items()}
    return state


def load_backbone(state: dict[str, torch.Tensor], model: torch.nn.Module, name: str) -> None:
    """Load every backbone weight into ``model`` (built with num_classes=0), or refuse."""
    state = _strip_module_prefix(state)
    model_keys = set(model.state_dict())
    # The checkpoint's own classifier (AffectNet's 8 classes) is not part of the features.
    state = {
        k: v for k, v in state.items() if k in model_keys or not k.startswith(CLASSIFIER_PREFIXES)
    }
    try:
        result = model.load_state_dict(state, strict=False)
    except RuntimeError as exc:  # shape mismatches
        raise ModelLoadError(
            f"model {name!r} does not fit the configured architecture: {exc}"
        ) from exc
    missing = [k for k in result.missing_keys if not k.endswith("num_batches_tracked")]
    unexpected = list(result.unexpected_keys)
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing (e.g. {', '.join(missing[:3])})")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected (e.g. {', '.join(unexpected[:3])})")
        raise ModelLoadError(
            f"model {name!r} does not match the configured architecture: backbone weights "
            f"{'; '.join(parts)}. Check the face encoder's 'architecture' option."
        )


class TimmFaceEncoder:
    """A timm backbone loaded once; ``encode`` maps face-crop sets to mean+std features."""

    def __init__(self, spec: TimmSpec, device: torch.device) -> None:
        self.spec = spec
        self.device = device
        self.model = self._load(spec).to(device).eval()
        self.num_features = int(self.model.num_features)
        self.dim = 2 * self.num_features

    @staticmethod
    def _load(spec: TimmSpec) -> torch.nn.Module:
        location = resolve_model_location(spec.model)
        path = Path(location)
        if path.exists():
            try:
                model = timm.create_model(spec.architecture, pretrained=False, num_classes=0)
            except Exception as exc:
                raise ModelLoadError(
                    f"timm has no architecture {spec.architecture!r} "
                    f"({type(exc).__name__}: {exc}); see timm.list_models()"
                ) from exc
            load_backbone(_read_state_dict(_weights_file(path)), model, spec.model)
            return model
        return load_model(
            spec.model,
            lambda hub_id: timm.create_model("hf-hub:" + hub_id, pretrained=True, num_classes=0),
            location=location,
        )

    @property
    def batch_items(self) -> int:
        """Videos per ``encode`` call (how often the progress bar moves).

        Forward passes never mix videos: a video's crops go through in batches
        of ``batch_size`` of its own, so its embedding is the same bit for bit
        whichever videos share its shard or predict batch (kernels pick their
        blocking by batch shape, so a mixed batch changes the last bits).
        """
        return self.spec.batch_size

    @staticmethod
    def _resize(batch: torch.Tensor) -> torch.Tensor:
        """Crops of one size -> INPUT_SIZE x INPUT_SIZE (antialiased bilinear), on their device."""
        if batch.shape[-2:] == (INPUT_SIZE, INPUT_SIZE):
            return batch
        return F.interpolate(batch, size=(INPUT_SIZE, INPUT_SIZE), mode="bilinear", antialias=True)

    def _preprocess(self, crops: Sequence[np.ndarray]) -> torch.Tensor:
        """Normalised (N, 3, 224, 224) float32 on the encoder's device (uint8 copied, converted there)."""
        return prepare_images(crops, self.device, self._resize)

    def frame_features(self, crops: Sequence[np.ndarray]) -> np.ndarray:
        """(N, num_features) float32 features of N crops, in batches of spec.batch_size."""
        out = np.zeros((len(crops), self.num_features), dtype=np.float32)
        for start in range(0, len(crops), self.spec.batch_size):
            batch = self._preprocess(crops[start : start + self.spec.batch_size])
            with inference(self.device):
                features = self.model(batch).float()
            out[start : start + len(batch)] = features.cpu().numpy()
        return out

    def encode(self, frame_sets: Sequence[FrameSet]) -> list[EmbeddingRow]:
        """One row per video, in order; each video's crops in forward passes of their own."""
        return each_video(
            frame_sets,
            unavailable_frames,
            lambda s: EmbeddingRow(s.video_id, stat_pool(self.frame_features(s.frames))),
        )
