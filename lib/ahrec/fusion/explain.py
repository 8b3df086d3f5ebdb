"""Why the ensemble called a video what it did: each modality's contribution, by masking it.

The fusion already handles a missing modality (its token is masked, a late
fusion adds 0 for it), so the question "what did the face add?" has an
exact answer in the model's own terms: the calibrated P(A/H) with every
modality the video has, minus the calibrated P(A/H) with the face masked.
A positive contribution pushed the video towards A/H, a negative one
away from it. A modality the video lacks contributes exactly 0 (masking it
changes nothing), and a video left with no modality at all falls back to
the training prior, as prediction does.

Cost: one extra forward pass per modality the video has, per seed model
(the fusion is a few small layers over M tokens: milliseconds per video).

For prototype runs the explanation also gives, per class, the cosine
similarity of the video's fused vector to the class's nearest prototype
(mean over seeds): the paper's interpretable head, shown.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ahrec.fusion.data import FusionData

if TYPE_CHECKING:
    from ahrec.evaluation.calibration import CalibrationMap

LOG = logging.getLogger(__name__)
NO_MODALITY = ""


@dataclass(frozen=True)
class Explanation:
    """Per video (rows of ``FusionData``): raw and calibrated P(A/H), label, contributions."""

    video_ids: list[str]
    modalities: list[str]
    proba: np.ndarray  # (N, 2) float32: the ensemble's uncalibrated class probabilities
    calibrated: np.ndarray  # (N,) calibrated P(A/H)
    calibrated_no_ah: np.ndarray  # (N,) 1 - calibrated (the model's own P(no A/H) without a map)
    labels: np.ndarray  # (N,) int: the calibration's label policy
    contributions: np.ndarray  # (N, M): calibrated P(A/H) minus the same with modality m masked
    available: np.ndarray  # (N, M) bool
    prototype_similarity: np.ndarray | None  # (N, 2): nearest prototype of class 0 / 1

    def top_modalities(self) -> list[str]:
        """Per video, the modality that pushed hardest towards its label ("" when none did)."""
        toward = self.contributions * np.where(self.labels == 1, 1.0, -1.0)[:, None]
        tops = []
        for i in range(len(self.video_ids)):
            j = int(np.argmax(toward[i])) if toward.shape[1] else -1
            tops.append(self.modalities[j] if j >= 0 and toward[i, j] > 0 else NO_MODALITY)
        return tops

    def frame(self) -> pd.DataFrame:
        """One row per video: the columns of ``explanations.csv`` (without its path column)."""
        data = {
            "video_id": self.video_ids,
            "label": self.labels.astype(int),
            "prob_no_ah": self.calibrated_no_ah.astype(np.float32),
            "prob_ah": self.calibrated.astype(np.float32),
            "prob_ah_uncalibrated": self.proba[:, 1].astype(np.float32),
            "top_modality": self.top_modalities(),
        }
        for j, modality in enumerate(self.modalities):
            data[f"contribution_{modality}"] = self.contributions[:, j].astype(np.float32)
        data["missing_modalities"] = [
            ";".join(m for m, present in zip(self.modalities, row, strict=True) if not present)
            for row in self.available
        ]
        similarity = self.prototype_similarity
        data["prototype_similarity_no_ah"] = (
            similarity[:, 0].astype(np.float32) if similarity is not None else np.nan
        )
        data["prototype_similarity_ah"] = (
            similarity[:, 1].astype(np.float32) if similarity is not None else np.nan
        )
        return pd.DataFrame(data)


def _masked(items: list[dict], column: int) -> list[dict]:
    out = []
    for item in items:
        mask = np.array(item["mask"], dtype=bool)
        mask[column] = False
        out.append({**item, "mask": mask})
    return out


def _seed_probabilities(
    model: object, data: FusionData, rows: Sequence[int], prior: np.ndarray, device: object
) -> tuple[np.ndarray, np.ndarray]:
    """One seed: (N, 2) probabilities with every modality, and (M, N, 2) with each one masked."""
    from ahrec.fusion.model import predict_fusion

    n, m = len(data.video_ids), len(data.modalities)
    full = np.tile(prior, (n, 1)).astype(np.float32)
    masked = np.tile(prior, (m, n, 1)).astype(np.float32)
    fusable = [i for i in rows if data.mask[i].any()]
    if fusable:
        full[fusable] = predict_fusion(model, data.items(fusable), device)
    for j in range(m):
        masked[j] = full
        # only videos that have modality j change; one that has nothing else gets the prior
        changed = [i for i in fusable if data.mask[i, j] and data.mask[i].sum() > 1]
        alone = [i for i in fusable if data.mask[i, j] and data.mask[i].sum() == 1]
        if changed:
            masked[j, changed] = predict_fusion(model, _masked(data.items(changed), j), device)
        masked[j, alone] = prior
    return full, masked


def _prototype_similarity(
    model: object, data: FusionData, rows: Sequence[int], device: object
) -> np.ndarray | None:
    """(N, 2) cosine similarity of each video's fused vector to its nearest prototype per class."""
    import torch
    import torch.nn.functional as F

    from ahrec.fusion.model import _INPUT_PREFIX, collate_fusion

    head = getattr(model, "prototype_head", None)
    if head is None:
        return None
    out = np.full((len(data.video_ids), 2), np.nan, dtype=np.float32)
    fusable = [i for i in rows if data.mask[i].any()]
    if not fusable:
        return out
    batch = collate_fusion(data.items(fusable), model.input_dims)
    inputs = {m: batch[_INPUT_PREFIX + m].to(device) for m in model.modalities}
    with torch.no_grad():
        fused = model(inputs, batch["mask"].to(device))["fused"]
        z = F.normalize(fused, dim=-1)
        p = F.normalize(head.prototypes, dim=-1)
        similarity = torch.einsum("bd,ckd->bck", z, p).amax(dim=-1)
    out[fusable] = similarity.cpu().numpy()
    return out


def explain_ensemble(
    models: Sequence[object],
    data: FusionData,
    prior: Sequence[float],
    calibration: CalibrationMap,
    device: object = "cpu",
) -> Explanation:
    """Every video of ``data``: the seeds' mean probabilities, calibrated, and per modality the
    change masking it makes (each seed masked, then averaged, as the ensemble predicts)."""
    from ahrec.fusion.model import average_probabilities

    prior_row = np.asarray(prior, dtype=np.float32)
    rows = list(range(len(data.video_ids)))
    fulls, maskeds, similarities = [], [], []
    for model in models:
        full, masked = _seed_probabilities(model, data, rows, prior_row, device)
        fulls.append((data.video_ids, full))
        maskeds.append(masked)
        similarity = _prototype_similarity(model, data, rows, device)
        if similarity is not None:
            similarities.append(similarity)
    _, proba = average_probabilities(fulls)
    masked_mean = np.mean(np.stack(maskeds), axis=0)  # (M, N, 2)
    calibrated_no_ah, calibrated = calibration.pair(proba)
    contributions = np.zeros((len(rows), len(data.modalities)))
    for j in range(len(data.modalities)):
        without = calibration.apply(masked_mean[j, :, 1])
        # exactly 0 where the video lacks the modality: masking it changes nothing
        contributions[:, j] = np.where(data.mask[:, j], calibrated - without, 0.0)
    labels = calibration.labels(proba.argmax(axis=1), calibrated)
    return Explanation(
        video_ids=list(data.video_ids),
        modalities=list(data.modalities),
        proba=proba,
        calibrated=calibrated,
        calibrated_no_ah=calibrated_no_ah,
        labels=labels,
        contributions=contributions,
        available=data.mask.copy(),
        prototype_similarity=np.mean(np.stack(similarities), axis=0) if similarities else None,
    )


def log_summary(frame: pd.DataFrame, modalities: Sequence[str], what: str) -> None:
    """The mean absolute contribution per modality and how often each is the top one."""
    parts = [
        f"{m} {frame[f'contribution_{m}'].abs().mean():.3f} "
        f"(top in {int((frame['top_modality'] == m).sum())})"
        for m in modalities
    ]
    LOG.info(
        "%s: %d videos explained; mean |contribution| per modality: %s",
        what,
        len(frame),
        ", ".join(parts),
    )
