"""Image tensors for the pretrained vision models (VideoMAE, timm backbones).

Both were trained on ImageNet-normalised RGB; one conversion keeps them
consistent. ``prepare_images`` is the path the encoders use: on a GPU, uint8
frames go to the device as they are and are converted there in batches.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def rgb_tensor(image: np.ndarray) -> torch.Tensor:
    """An (H, W, 3) uint8 RGB array as a (1, 3, H, W) float32 tensor in [0, 255]."""
    array = np.asarray(image)
    if array.ndim != 3 or array.shape[2] != 3:
        raise ValueError(f"expected RGB images of shape (H, W, 3), got {array.shape}")
    return torch.from_numpy(np.ascontiguousarray(array)).permute(2, 0, 1).unsqueeze(0).float()


def imagenet_normalise(batch: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) values in [0, 255] -> ImageNet mean/std normalised."""
    mean = torch.tensor(IMAGENET_MEAN, dtype=batch.dtype, device=batch.device).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD, dtype=batch.dtype, device=batch.device).view(1, 3, 1, 1)
    return (batch.div(255.0).clamp(0.0, 1.0) - mean) / std


def _checked(image: np.ndarray) -> np.ndarray:
    array = np.asarray(image)
    if array.ndim != 3 or array.shape[2] != 3:
        raise ValueError(f"expected RGB images of shape (H, W, 3), got {array.shape}")
    return array


def prepare_images(
    images: Sequence[np.ndarray],
    device: torch.device,
    transform: Callable[[torch.Tensor], torch.Tensor],
    batched: bool | None = None,
) -> torch.Tensor:
    """RGB uint8 images -> an (N, 3, h, w) float32 batch on ``device``, ImageNet-normalised.

    Converting, resizing and normalising each image on the CPU as float32
    before copying it to the GPU means four times the bytes to copy and
    per-image work, which starves the GPU (VideoMAE fed that way gets 78
    videos/s to a network that runs 222-276). On CUDA (``batched``, the default there)
    images of one size are stacked once as uint8 (one memory copy), sent to the
    device pinned and non-blocking, and converted, resized by ``transform``
    ((n, 3, H, W) float in [0, 255] -> (n, 3, h, w), the same h, w for every
    size) and normalised there, a whole group at once. On the CPU each image
    is converted and resized on its own: there is no copy to save,
    and one image's float32 intermediates stay in cache where a batch's would
    not (batching measured slower there). Either way the arithmetic per image
    is the same, so the results equal the per-image path to float rounding
    (tested).
    """
    if len(images) == 0:
        raise ValueError("prepare_images needs at least one image")
    arrays = [_checked(image) for image in images]
    if not (device.type == "cuda" if batched is None else batched):
        return imagenet_normalise(
            torch.cat(
                [
                    transform(torch.from_numpy(array).permute(2, 0, 1).unsqueeze(0).float())
                    for array in arrays
                ]
            )
        ).to(device)
    groups: dict[tuple[int | str, ...], list[int]] = {}
    for index, array in enumerate(arrays):
        groups.setdefault((*array.shape, array.dtype.str), []).append(index)
    out: torch.Tensor | None = None
    for indices in groups.values():
        stacked = torch.from_numpy(np.stack([arrays[i] for i in indices]))  # (n, H, W, 3) uint8
        if device.type == "cuda":
            stacked = stacked.pin_memory()
        batch = stacked.to(device, non_blocking=True).permute(0, 3, 1, 2).float()
        batch = imagenet_normalise(transform(batch))
        if out is None:
            if len(groups) == 1:
                return batch.contiguous()
            out = torch.empty((len(arrays), *batch.shape[1:]), dtype=batch.dtype, device=device)
        out[torch.tensor(indices, device=device)] = batch
    assert out is not None
    return out
