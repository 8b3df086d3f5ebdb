"""Determinism: same config, same seed, same numbers (on the same device)."""

from __future__ import annotations

import os
import random

import numpy as np
import torch


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, NumPy and torch; ask torch for deterministic kernels where it has others.

    Returns a torch generator for data loaders, so that batch order depends
    on the seed only. ``torch.use_deterministic_algorithms`` matters for CUDA
    (scatter/index kernels, cuBLAS workspaces); the CPU kernels this method
    uses are deterministic already (checked bit for bit), and in torch 2.14
    the call imports the whole compiler stack (inductor, dynamo): seconds in
    every training job. So it is made only where CUDA is.
    """
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.use_deterministic_algorithms(True, warn_only=True)
    generator = torch.Generator()
    generator.manual_seed(seed)
    return generator
