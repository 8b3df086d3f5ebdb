#!/bin/bash
# Builds Mamba's fused CUDA kernels into the active env (envs/models-cuda.yaml), against
# the torch it already holds: no build isolation, and a local build (never a prebuilt
# wheel fetched from the internet, which may not match torch 2.14.1 / CUDA 13).
# Pins: requirements-cuda.txt (tests/unit/test_envs.py checks that they agree).
set -euo pipefail
export CUDA_HOME="${CUDA_HOME:-${CONDA_PREFIX:?activate the env first}}"
export MAMBA_FORCE_BUILD=TRUE CAUSAL_CONV1D_FORCE_BUILD=TRUE
export MAX_JOBS="${MAX_JOBS:-4}"
python -m pip install --no-build-isolation --no-cache-dir \
    causal-conv1d==1.7.0 \
    mamba-ssm==2.3.2.post1
python -c "import mamba_ssm, causal_conv1d; print('mamba-ssm', mamba_ssm.__version__, 'built')"
