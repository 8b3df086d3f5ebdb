"""Steps: apply an exported ensemble to new videos.

The new videos have been through the same media, transcript and embedding
rules as the training corpus (with the exported configuration). Each
unimodal model of the ensemble then maps its input to the embedding the
fusion reads (``embed_with_unimodal``), and every fusion seed predicts; the
ensemble averages the seeds' class probabilities (``predict_new_videos``).
A video that lacks a modality is masked for it, one that lacks every
modality gets the training prior: every video listed gets one row.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ahrec.corpus.manifest import read_manifest
from ahrec.embeddings.table import EmbeddingRow, read_embeddings, write_embeddings
from ahrec.fusion.data import FusionData, fusion_data
from ahrec.fusion.model import load_fusion_model
from ahrec.io import write_csv
from ahrec.model_records import read_fusion_record
from ahrec.predict.export import ExportedEnsemble, ExportedModel, read_export
from ahrec.unimodal.inputs import load_inputs

LOG = logging.getLogger(__name__)

PREDICTION_COLUMNS = [
    "video_path",
    "video_id",
    "prob_no_ah",
    "prob_ah",
    "label",
    "available_modalities",
    "missing",
    "prob_ah_uncalibrated",
]


def embed_with_unimodal(
    export_folder: str | Path,
    model_name: str,
    sources: Sequence[str | Path],
    manifest_path: str | Path,
    out: str | Path,
    device: str = "auto",
) -> pd.DataFrame:
    """The fusion's input for one modality: the exported unimodal model's embeddings.

    Returns (and logs) the model's own class probabilities per video, which
    say what that modality alone would predict.
    """
    from ahrec.device import select_device
    from ahrec.unimodal.base import load_unimodal, logit, predict_each

    ensemble = read_export(export_folder)
    spec = _model(ensemble, model_name)
    torch_device = select_device(device)
    video_ids = sorted(read_manifest(manifest_path)["video_id"])
    inputs, reasons, _ = load_inputs(spec.input, sources)
    model = load_unimodal(ensemble.unimodal_folder(model_name), torch_device)
    present = [v for v in video_ids if v in inputs]
    proba, embeddings = predict_each(
        model, [{"video_id": v, "label": -1, **inputs[v]} for v in present]
    )
    position = {v: i for i, v in enumerate(present)}
    # as the corpus's tables: from the float32 probability a predictions table stores
    logodds = logit(np.asarray(proba, dtype=np.float32)[:, 1]) if present else []
    rows = [
        EmbeddingRow(v, embeddings[position[v]], logodds=float(logodds[position[v]]))
        if v in position
        else EmbeddingRow.missing(v, reasons.get(v, "no input"))
        for v in video_ids
    ]
    meta = {"modality": spec.modality, "model": model_name, "kind": spec.kind, "oof_folds": 0}
    write_embeddings(out, rows, int(model.embedding_dim), meta)
    LOG.info(
        "%s (%s): %d/%d videos have input", model_name, spec.modality, len(present), len(video_ids)
    )
    return pd.DataFrame(
        {"video_id": present, "prob_ah": proba[:, 1] if len(present) else np.zeros(0)}
    )


def predict_new_videos(
    export_folder: str | Path,
    embedding_tables: Sequence[str | Path],
    manifest_path: str | Path,
    out: str | Path,
    device: str = "auto",
    face_detection: str | Path | None = None,
    explanations: str | Path | None = None,
) -> pd.DataFrame:
    """Per video (in list order): calibrated A/H probability, label, and which modalities it had.

    The probabilities go through the export's calibration map (the raw
    ensemble value stays in ``prob_ah_uncalibrated``) and the labels follow
    its label policy, as the corpus's submission does. ``explanations``
    (a path) also gets each modality's contribution per video
    (``ahrec.fusion.explain``). ``face_detection`` (the detection table of
    the new videos) lets the ``missing`` column say when a face embedding
    came from whole frames.
    """
    from ahrec.device import select_device
    from ahrec.fusion.explain import explain_ensemble, log_summary

    ensemble = read_export(export_folder)
    torch_device = select_device(device)
    manifest = read_manifest(manifest_path).sort_values("list_order", kind="stable")
    labels = manifest[["video_id", "split"]].assign(label=pd.NA)
    # every seed of a run reads the same inputs (embeddings, log-odds or both)
    reads = read_fusion_record(ensemble.seed_folder(ensemble.seeds[0])).params.reads
    data = fusion_data(embedding_tables, labels, reads)
    fusable = data.mask.any(axis=1)
    models = []
    for seed in ensemble.seeds:
        model = load_fusion_model(ensemble.seed_folder(seed), torch_device)
        _check_inputs(model, data, ensemble, seed)
        models.append(model)
    explained = explain_ensemble(models, data, ensemble.prior, ensemble.calibration, torch_device)
    per_video = explained.frame().set_index("video_id")
    missing = _missing_reasons(embedding_tables)
    if face_detection is not None:
        detection = pd.read_parquet(face_detection)
        for video_id in detection.loc[
            (detection["n_frames"] > 0) & (detection["n_detected"] == 0), "video_id"
        ]:
            missing.setdefault(video_id, []).append("face: no face found, whole frames used")
    modality_of = {i: m for i, m in enumerate(data.modalities)}
    row_of = {v: i for i, v in enumerate(data.video_ids)}
    records = []
    for entry in manifest.itertuples(index=False):
        video = per_video.loc[entry.video_id]
        mask = data.mask[row_of[entry.video_id]]
        records.append(
            {
                "video_path": entry.video_path,
                "video_id": entry.video_id,
                "prob_no_ah": float(video["prob_no_ah"]),
                "prob_ah": float(video["prob_ah"]),
                "label": int(video["label"]),
                "available_modalities": ";".join(
                    modality_of[j] for j in range(len(mask)) if mask[j]
                ),
                "missing": "; ".join(missing.get(entry.video_id, [])),
                "prob_ah_uncalibrated": float(video["prob_ah_uncalibrated"]),
            }
        )
    frame = pd.DataFrame(records, columns=PREDICTION_COLUMNS)
    # the models' own precision (float32, as in results/fusion/): the shortest
    # decimals that read back as the same number, not float64's 17 digits
    for column in ("prob_no_ah", "prob_ah", "prob_ah_uncalibrated"):
        frame[column] = frame[column].astype(np.float32)
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    write_csv(frame, out)
    if explanations is not None:
        listed = per_video.loc[manifest["video_id"]].reset_index()
        listed.insert(0, "video_path", manifest["video_path"].to_numpy())
        write_csv(listed, explanations)
        log_summary(listed, explained.modalities, ensemble.run)
    LOG.info(
        "%s (%d seeds, %s map): %d videos, %d predicted A/H, %d without any modality (prior)",
        ensemble.run,
        len(ensemble.seeds),
        ensemble.calibration.method,
        len(frame),
        int(frame["label"].sum()),
        int((~fusable).sum()),
    )
    return frame


def _model(ensemble: ExportedEnsemble, name: str) -> ExportedModel:
    for model in ensemble.models:
        if model.name == name:
            return model
    known = ", ".join(m.name for m in ensemble.models)
    raise ValueError(f"{ensemble.folder}: no model {name!r} in this ensemble (it has {known})")


def _check_inputs(model: Any, data: FusionData, ensemble: ExportedEnsemble, seed: int) -> None:
    """The tables must come in the order the fusion was trained with (token and mask order)."""
    if list(model.input_dims.items()) != list(data.input_dims.items()):
        raise ValueError(
            f"{ensemble.seed_folder(seed)}: the fusion expects inputs {model.input_dims} "
            f"in this order, the unimodal models gave {data.input_dims}"
        )


def _missing_reasons(embedding_tables: Sequence[str | Path]) -> dict[str, list[str]]:
    reasons: dict[str, list[str]] = {}
    for path in embedding_tables:
        table = read_embeddings(path)
        modality = table.meta.get("modality", Path(path).parent.name)
        for i, video_id in enumerate(table.video_ids):
            if not table.available[i]:
                reasons.setdefault(video_id, []).append(
                    f"{modality}: {table.reasons[i] or 'unavailable'}"
                )
    return reasons
