"""Kind ``videomae_finetune``: the paper's scene model, VideoMAE fine-tuned on frames.

The video's sampled frames are resampled evenly to the model's clip length,
preprocessed exactly as the VideoMAE embeddings are (``preprocess_clip``), fed
to ``VideoMAEModel``; the mean over all output tokens of the last hidden state
(768-d for the paper's checkpoint) is the scene embedding and a new
``Linear(hidden, 2)`` classifies it. The patch embeddings and the first
``frozen_layers`` encoder layers are frozen (8 of 12 in the paper).

Training clips are augmented (random resized crop, horizontal flip, colour
jitter) with torch ops on the whole clip tensor, so every frame of a clip gets
the same crop, flip and colours, as a camera would produce; evaluation clips
are not augmented. Augmentation draws from the model's own generator, seeded
with ``spec.seed`` at the start of ``fit``, so training is reproducible.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ahrec.embeddings.imaging import IMAGENET_MEAN, IMAGENET_STD
from ahrec.embeddings.videomae import preprocess_clip
from ahrec.errors import ModelLoadError
from ahrec.media.sampling import evenly_spaced
from ahrec.models import load_model
from ahrec.unimodal.base import BackboneUnimodal, Item, item_label
from ahrec.unimodal.kinds import VideoMAEFinetuneSpec


def _uniform(generator: torch.Generator, low: float, high: float) -> float:
    return low + (high - low) * float(torch.rand((), generator=generator))


def augment_clip(
    clip: torch.Tensor,
    generator: torch.Generator,
    crop_scale: tuple[float, float] = (0.8, 1.0),
    flip: bool = True,
    color_jitter: float = 0.0,
) -> torch.Tensor:
    """One random crop/flip/colour change applied identically to every frame.

    ``clip`` is a normalised (T, C, S, S) tensor as ``preprocess_clip`` returns;
    the result has the same shape and normalisation.
    """
    mean = torch.tensor(IMAGENET_MEAN, dtype=clip.dtype).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD, dtype=clip.dtype).view(1, 3, 1, 1)
    x = clip * std + mean  # back to [0, 1]
    height, width = x.shape[-2:]
    low, high = crop_scale
    if not 0 < low <= high <= 1:
        raise ValueError(f"crop_scale must satisfy 0 < low <= high <= 1, got {crop_scale}")
    if low < 1:
        for _ in range(10):  # torchvision's RandomResizedCrop: retry, else keep the frame
            area = height * width * _uniform(generator, low, high)
            ratio = math.exp(_uniform(generator, math.log(3 / 4), math.log(4 / 3)))
            crop_w = round(math.sqrt(area * ratio))
            crop_h = round(math.sqrt(area / ratio))
            if 0 < crop_w <= width and 0 < crop_h <= height:
                top = int(torch.randint(0, height - crop_h + 1, (), generator=generator))
                left = int(torch.randint(0, width - crop_w + 1, (), generator=generator))
                x = x[..., top : top + crop_h, left : left + crop_w]
                x = F.interpolate(x, size=(height, width), mode="bilinear", align_corners=False)
                break
    if flip and float(torch.rand((), generator=generator)) < 0.5:
        x = x.flip(-1)
    if color_jitter > 0:
        j = color_jitter
        x = x * _uniform(generator, 1 - j, 1 + j)  # brightness
        grey = (0.299 * x[:, 0] + 0.587 * x[:, 1] + 0.114 * x[:, 2]).unsqueeze(1)
        x = (x - grey.mean()) * _uniform(generator, 1 - j, 1 + j) + grey.mean()  # contrast
        grey = (0.299 * x[:, 0] + 0.587 * x[:, 1] + 0.114 * x[:, 2]).unsqueeze(1)
        x = (x - grey) * _uniform(generator, 1 - j, 1 + j) + grey  # saturation
    return (x.clamp(0.0, 1.0) - mean) / std


class VideoNet(nn.Module):
    def __init__(self, backbone: nn.Module) -> None:
        super().__init__()
        self.backbone = backbone
        self.head = nn.Linear(int(backbone.config.hidden_size), 2)

    def forward(self, pixel_values: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        hidden = self.backbone(pixel_values=pixel_values).last_hidden_state
        embedding = hidden.float().mean(dim=1)
        return self.head(embedding), embedding


def freeze_backbone(backbone: nn.Module, frozen_layers: int, model_name: str) -> None:
    """Freeze the patch embeddings and the first ``frozen_layers`` encoder layers."""
    layers = backbone.encoder.layer
    if frozen_layers > len(layers):
        raise ModelLoadError(
            f"videomae_finetune: frozen_layers is {frozen_layers} but {model_name!r} has "
            f"{len(layers)} encoder layers; set frozen_layers to at most {len(layers)}"
        )
    backbone.embeddings.patch_embeddings.requires_grad_(False)
    for layer in layers[:frozen_layers]:
        layer.requires_grad_(False)


class VideoMAEFinetuneModel(BackboneUnimodal):
    """The fine-tuned VideoMAE scene model (see the module docstring)."""

    kind = "videomae_finetune"

    def __init__(
        self,
        spec: VideoMAEFinetuneSpec,
        input_dim: int | None,
        device: torch.device,
        backbone_dir: Path | None = None,
    ) -> None:
        self._generator = torch.Generator().manual_seed(spec.seed)
        super().__init__(spec, input_dim, device, backbone_dir)

    def _build(self) -> nn.Module:
        from transformers import VideoMAEConfig, VideoMAEModel

        spec = self.spec
        saved = self._backbone_dir

        def load(location: str) -> nn.Module:
            if saved is not None:  # a trained model's own backbone: its weights come after
                return VideoMAEModel(VideoMAEConfig.from_pretrained(location))
            return VideoMAEModel.from_pretrained(location, dtype=torch.float32)

        backbone = load_model(spec.model, load, location=saved)
        backbone = backbone.float()
        self.num_frames = int(backbone.config.num_frames)
        self.image_size = int(backbone.config.image_size)
        freeze_backbone(backbone, spec.frozen_layers, spec.model)
        return VideoNet(backbone)

    @property
    def embedding_dim(self) -> int:
        return int(self.model.backbone.config.hidden_size)

    def fit(self, train: Sequence[Item], val: Sequence[Item]) -> dict[str, Any]:
        self._generator = torch.Generator().manual_seed(self.spec.seed)
        return super().fit(train, val)

    def _frames(self, item: Item) -> list[np.ndarray]:
        frames = item.get("frames")
        if frames is None and "frames_path" in item:
            # the unimodal stage passes a path: a corpus of decoded frames does not fit in memory
            from ahrec.media.framestore import load_frame_set

            frames = load_frame_set(item["frames_path"]).frames
        if not frames:
            raise ValueError(f"videomae_finetune: video {item.get('video_id')!r} has no frames")
        return [frames[i] for i in evenly_spaced(len(frames), self.num_frames)]

    def collate(self, items: Sequence[Item]) -> dict[str, Any]:
        # The trainer switches the network to train mode before iterating the training
        # loader and to eval mode for validation and prediction (loaders run in this
        # process), so the mode tells whether to augment.
        augment = self.model.training
        clips = []
        for item in items:
            clip = preprocess_clip(self._frames(item), self.image_size)
            if augment:
                clip = augment_clip(
                    clip,
                    self._generator,
                    crop_scale=tuple(self.spec.crop_scale),
                    flip=self.spec.flip,
                    color_jitter=self.spec.color_jitter,
                )
            clips.append(clip)
        return {"pixel_values": torch.stack(clips), "label": item_label(items)}
