"""Scene embeddings as in the paper: VideoMAE, mean of the last hidden state.

The paper feeds 16 frames spread evenly over a video to
``MCG-NJU/videomae-base-finetuned-kinetics`` and keeps the mean over all output
tokens of the last hidden state (768-d). Preprocessing follows VideoMAE's
image processor (shortest edge to the model's image size, centre crop,
ImageNet mean/std) but runs on tensors, so a clip never round-trips through
PIL, and on the encoder's device: a batch of clips travels there as uint8 and
is resized and normalised there (``imaging.prepare_images``), so the GPU is
not left waiting on the CPU. ``preprocess_clip`` is public because the scene
fine-tuning model feeds the same clips to the same network.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from transformers import VideoMAEModel

from ahrec.device import inference
from ahrec.embeddings.base import each_video, unavailable_frames
from ahrec.embeddings.imaging import prepare_images
from ahrec.embeddings.kinds import VideoMAESpec
from ahrec.embeddings.table import EmbeddingRow
from ahrec.media.framestore import FrameSet
from ahrec.media.sampling import evenly_spaced
from ahrec.models import load_model


def _resize_shortest_edge(frames: torch.Tensor, size: int) -> torch.Tensor:
    """(T, C, H, W) float frames with the shorter side scaled to ``size`` (aspect kept)."""
    height, width = frames.shape[-2:]
    if min(height, width) == size:
        return frames
    if height <= width:
        new_height, new_width = size, max(size, int(size * width / height))
    else:
        new_height, new_width = max(size, int(size * height / width)), size
    # Antialiased bilinear, like the PIL resize of VideoMAE's image processor.
    return F.interpolate(
        frames, size=(new_height, new_width), mode="bilinear", antialias=True, align_corners=False
    )


def _centre_crop(frames: torch.Tensor, size: int) -> torch.Tensor:
    height, width = frames.shape[-2:]
    top = (height - size) // 2
    left = (width - size) // 2
    return frames[..., top : top + size, left : left + size]


def preprocess_frames(
    frames: Sequence[np.ndarray], image_size: int, device: torch.device | None = None
) -> torch.Tensor:
    """RGB uint8 frames (any size) -> normalised (N, C, image_size, image_size) float32 on ``device``.

    Shortest edge resized to ``image_size``, centre crop, scaled to [0, 1], then
    ImageNet mean/std: what VideoMAE saw in pre-training and fine-tuning.
    Frames of different sizes are allowed (each size is resized on its own).
    """
    if len(frames) == 0:
        raise ValueError("preprocess_clip needs at least one frame")
    return prepare_images(
        frames,
        device or torch.device("cpu"),
        lambda batch: _centre_crop(_resize_shortest_edge(batch, image_size), image_size),
    )


def preprocess_clip(frames: Sequence[np.ndarray], image_size: int) -> torch.Tensor:
    """One clip's frames -> a normalised (T, C, image_size, image_size) float32 CPU tensor."""
    return preprocess_frames(frames, image_size)


def _evenly(frames: Sequence[np.ndarray], count: int) -> list[np.ndarray]:
    """Exactly ``count`` frames spread evenly (repeating some when the video has fewer)."""
    return [frames[p] for p in evenly_spaced(len(frames), count)]


class VideoMAEEncoder:
    """One VideoMAE, loaded once; ``encode`` maps frame sets to mean-token embeddings."""

    def __init__(self, spec: VideoMAESpec, device: torch.device) -> None:
        model = load_model(
            spec.model,
            lambda location: VideoMAEModel.from_pretrained(location, dtype=torch.float32),
        )
        config = model.config
        self.spec = spec
        self.device = device
        # The clip length is the model's: fewer sampled frames repeat, more are thinned evenly.
        self.n_frames = int(config.num_frames)
        self.image_size = int(config.image_size)
        self.dim = int(config.hidden_size)
        self.model = model.to(device).eval()

    @property
    def batch_items(self) -> int:
        """Videos per ``encode`` call (how often the progress bar moves)."""
        return self.spec.batch_size

    def _embed(self, clips: list[list[np.ndarray]]) -> np.ndarray:
        """Mean-token embeddings of clips of ``n_frames`` frames each, in one forward pass."""
        frames = [frame for clip in clips for frame in clip]
        pixels = preprocess_frames(frames, self.image_size, self.device)
        batch = pixels.view(len(clips), self.n_frames, *pixels.shape[1:])
        with inference(self.device):
            hidden = self.model(pixel_values=batch).last_hidden_state
            pooled = hidden.float().mean(dim=1)
        return pooled.cpu().numpy().astype(np.float32)

    def encode(self, frame_sets: Sequence[FrameSet]) -> list[EmbeddingRow]:
        """One row per frame set, in order; unusable frame sets keep their reason.

        Each video's clip has a forward pass of its own, so its embedding is the
        same bit for bit whichever videos share its shard or predict batch.
        """
        return each_video(
            frame_sets,
            unavailable_frames,
            lambda s: EmbeddingRow(s.video_id, self._embed([_evenly(s.frames, self.n_frames)])[0]),
        )
