"""Where models run: CUDA with bf16 autocast when present, the CPU otherwise.

One code path for both, so that the laptop run tests what the GPU run does.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch


def select_device(preference: str = "auto") -> torch.device:
    """``auto`` picks CUDA when available; ``cuda`` insists on it (clear error if absent)."""
    if preference == "cpu":
        return torch.device("cpu")
    if preference == "cuda":
        if not torch.cuda.is_available():
            raise RuntimeError(
                "device: cuda is configured but no CUDA GPU is visible to this job; "
                "set device: auto (or cpu) in config.yaml, or run on a GPU node"
            )
        return torch.device("cuda")
    if preference != "auto":
        raise ValueError(f"device: expected auto, cpu or cuda, got {preference!r}")
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


@contextlib.contextmanager
def inference(device: torch.device) -> Iterator[None]:
    """No gradients, and bf16 autocast on CUDA (the CPU keeps float32 for exactness)."""
    with torch.inference_mode():
        if device.type == "cuda":
            with torch.autocast("cuda", dtype=torch.bfloat16):
                yield
        else:
            yield
