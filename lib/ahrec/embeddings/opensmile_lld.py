"""Audio default: openSMILE low-level descriptors as the temporal sequence.

openSMILE and its eGeMAPS configuration ship inside the ``opensmile``
wheel, so this works offline. Its 10 ms frames of prosodic and spectral
descriptors (loudness, pitch, jitter, shimmer, formants, ...) stand in for
the wav2vec2 hidden states as the sequence the audio temporal model reads;
pauses, pitch and rate — the cues of hesitant speech — are what they
measure directly.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import opensmile

from ahrec.embeddings.base import AudioItem, unavailable_audio
from ahrec.embeddings.kinds import OpenSmileSpec
from ahrec.embeddings.table import EmbeddingRow

_MIN_SECONDS = 0.1  # below one analysis window openSMILE returns no frames


class OpenSmileEncoder:
    def __init__(self, spec: OpenSmileSpec) -> None:
        self.spec = spec
        feature_set = getattr(opensmile.FeatureSet, spec.feature_set)
        self._smile = opensmile.Smile(
            feature_set=feature_set, feature_level=opensmile.FeatureLevel.LowLevelDescriptors
        )
        self.feature_names = list(self._smile.feature_names)
        self.seq_dim = len(self.feature_names)
        self.dim = self.seq_dim

    def sequence(self, samples: np.ndarray, sample_rate: int) -> np.ndarray:
        frame = self._smile.process_signal(samples.astype(np.float32), sample_rate)
        values = frame.to_numpy(dtype=np.float32)
        return np.nan_to_num(values, nan=0.0, posinf=0.0, neginf=0.0)

    def encode(self, items: Sequence[AudioItem]) -> list[EmbeddingRow]:
        rows = []
        for item in items:
            missing = unavailable_audio(item, min_samples=int(_MIN_SECONDS * item.sample_rate))
            if missing is not None:
                rows.append(missing)
                continue
            steps = self.sequence(item.samples, item.sample_rate)
            if len(steps) == 0:
                rows.append(EmbeddingRow.missing(item.video_id, "audio too short"))
                continue
            rows.append(EmbeddingRow(item.video_id, steps.mean(axis=0), sequence=steps))
        return rows
