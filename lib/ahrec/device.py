"""Where models run: CUDA with bf16 autocast when present, the CPU otherwise.

One code path for both, so that the laptop run tests what the GPU run does.
``gpu_request`` is the one place that decides whether a job asks the
scheduler for a GPU; torch is imported only by the functions that need it,
so the Snakefile can call that one at parse time.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any


def gpu_request(neural: bool, device: str) -> int:
    """GPUs a job asks for: one for a neural kind when config says ``device: cuda``, else none.

    ``auto`` asks for none: it uses a GPU when the job lands where one is
    visible, and runs on the CPU otherwise, so it never waits for a GPU.
    """
    return 1 if neural and device == "cuda" else 0


def select_device(preference: str = "auto") -> Any:
    """``auto`` picks CUDA when available; ``cuda`` insists on it (clear error if absent)."""
    import torch

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


def autocast(device: Any) -> Any:
    """bf16 autocast on CUDA (no gradient scaler needed for bf16); a no-op on the CPU."""
    import torch

    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


@contextlib.contextmanager
def inference(device: Any) -> Iterator[None]:
    """No gradients, and bf16 autocast on CUDA (the CPU keeps float32 for exactness)."""
    import torch

    with torch.inference_mode(), autocast(device):
        yield


def to_device(value: Any, device: Any) -> Any:
    """Move tensors to the device, also inside nested dicts and lists."""
    import torch

    if isinstance(value, torch.Tensor):
        return value.to(device)
    if isinstance(value, dict):
        return {k: to_device(v, device) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(to_device(v, device) for v in value)
    return value
