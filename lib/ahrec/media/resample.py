"""Waveforms for a model: mono, at the sample rate the model expects.

The speech recogniser and the audio encoders both take 16 kHz mono; a
recording arrives with the rate and channels of its wav. Kept apart from the
extraction (``media.audio``), whose rules' environment has no scipy.
"""

from __future__ import annotations

import math

import numpy as np


def to_mono(samples: np.ndarray) -> np.ndarray:
    """A 1-D float32 waveform; (channels, n) or (n, channels) input is averaged over channels."""
    samples = np.asarray(samples, dtype=np.float32)
    if samples.ndim == 2:
        channel_axis = 0 if samples.shape[0] < samples.shape[1] else 1
        samples = samples.mean(axis=channel_axis)
    return samples.reshape(-1)


def resample(samples: np.ndarray, rate: int, target: int) -> np.ndarray:
    """Polyphase resampling to ``target`` Hz (exact for integer rate ratios)."""
    if rate == target:
        return samples
    if rate <= 0:
        raise ValueError(f"invalid sample rate {rate}")
    from scipy.signal import resample_poly

    divisor = math.gcd(int(rate), int(target))
    resampled = resample_poly(samples, target // divisor, int(rate) // divisor)
    return resampled.astype(np.float32)
