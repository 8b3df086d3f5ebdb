"""Mamba's fused CUDA kernels (mamba-ssm) against the pure-PyTorch path: the same numbers.

Runs only on a CUDA machine with mamba-ssm and causal-conv1d installed
(``envs/models-cuda.yaml``); skipped everywhere else. transformers binds the
fused kernels when the packages import; the reference path is reached through
each kernel wrapper's ``__wrapped__`` (the PyTorch function it falls back to).
"""

from __future__ import annotations

import importlib.util

import pytest
import torch

from ahrec.unimodal.kinds import TemporalSpec

pytestmark = pytest.mark.skipif(
    not torch.cuda.is_available()
    or importlib.util.find_spec("mamba_ssm") is None
    or importlib.util.find_spec("causal_conv1d") is None,
    reason="needs a CUDA GPU with mamba-ssm and causal-conv1d installed",
)

KERNELS = (
    "mamba_inner_fn",
    "mamba_selective_scan",
    "mamba_selective_state_update",
    "causal_conv1d_fn",
    "causal_conv1d_update",
)


def _outputs(net: torch.nn.Module, x: torch.Tensor, mask: torch.Tensor, train: bool):
    net.train(train)
    torch.manual_seed(0)
    logits, embedding = net(x, mask)
    return logits.float(), embedding.float()


@pytest.mark.parametrize("train", [False, True])
def test_fused_kernels_match_the_pytorch_scan(monkeypatch, train):
    from transformers.models.mamba import modeling_mamba

    from ahrec.unimodal.temporal import TemporalNet, mamba_scan

    device = torch.device("cuda")
    assert mamba_scan(device).startswith("fused mamba-ssm kernels")
    spec = TemporalSpec(d_model=64, layers=2, dropout=0.0, residual_dropout=0.0)
    torch.manual_seed(0)
    net = TemporalNet(24, spec).to(device)
    x = torch.randn(3, 200, 24, device=device)
    mask = torch.ones(3, 200, dtype=torch.bool, device=device)
    mask[1, 150:] = False  # right padding, as the collate makes it
    mask[2, 90:] = False
    x[~mask] = 0.0
    with torch.no_grad():
        fused = _outputs(net, x, mask, train)
        for name in KERNELS:
            monkeypatch.setattr(modeling_mamba, name, getattr(modeling_mamba, name).__wrapped__)
        reference = _outputs(net, x, mask, train)
    for a, b in zip(fused, reference, strict=True):
        torch.testing.assert_close(a, b, atol=2e-3, rtol=2e-3)
