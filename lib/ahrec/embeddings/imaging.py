"""Image tensors for the pretrained vision models (VideoMAE, timm backbones).

Both were trained on ImageNet-normalised RGB; one conversion keeps them
consistent.
"""

from __future__ import annotations

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
