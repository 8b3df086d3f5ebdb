"""Step: the explanations of the submitted run, one row per video of the submitted list.

Which run is submitted is only known when the job runs (``selected_run.json``),
so the rule reads every candidate run's models and this step picks the chosen
one's. The explanation itself (masking each modality, calibrated) lives in
``ahrec.fusion.explain``; predict batches use the same.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ahrec.fusion.explain import explain_ensemble, log_summary

LOG = logging.getLogger(__name__)


def explain_submitted_run(
    runs: Mapping[str, Mapping[str, Any]],
    selected: str | Path,
    manifest_path: str | Path,
    split: str,
    out: str | Path,
    device: str = "auto",
) -> pd.DataFrame:
    """``explanations.csv`` of the submitted run: one row per video of ``split``, in list order.

    ``runs`` maps every candidate run to its inputs (``tables``, seed ``models``,
    the first seed's ``selection`` with the prior, ``calibration``,
    ``predictions``): which run is submitted is only known when this job runs.
    """
    from ahrec.corpus.manifest import read_manifest
    from ahrec.device import select_device
    from ahrec.evaluation.calibration import read_calibration
    from ahrec.evaluation.selection import read_selected_run
    from ahrec.fusion.data import fusion_data
    from ahrec.fusion.model import load_fusion_model
    from ahrec.io import write_csv
    from ahrec.model_records import read_fusion_record
    from ahrec.training.predictions import read_predictions

    run = read_selected_run(selected)
    if run is None:
        raise ValueError("fusion.submission is not set: name the fusion run to explain (or auto)")
    spec = runs[run]
    listed = read_manifest(manifest_path)
    listed = listed[listed["split"] == split].sort_values("list_order", kind="stable")
    if listed.empty:
        raise ValueError(f"the manifest has no {split!r} videos to explain")
    torch_device = select_device(device)
    reads = read_fusion_record(Path(spec["models"][0])).params.reads
    data = fusion_data(spec["tables"], listed[["video_id", "split"]].assign(label=pd.NA), reads)
    prior = json.loads(Path(spec["selection"]).read_text())["prior"]
    models = [load_fusion_model(Path(folder), torch_device) for folder in spec["models"]]
    explanation = explain_ensemble(
        models, data, prior, read_calibration(spec["calibration"]), torch_device
    )
    frame = explanation.frame().set_index("video_id").loc[listed["video_id"]].reset_index()
    frame.insert(0, "video_path", listed["video_path"].to_numpy())
    stored = read_predictions(spec["predictions"]).set_index("video_id").loc[frame["video_id"]]
    drift = float(np.max(np.abs(stored["proba_1"].to_numpy() - frame["prob_ah_uncalibrated"])))
    if drift > 1e-4:
        LOG.warning("the explained probabilities differ from the run's by up to %.2g", drift)
    write_csv(frame, out)
    log_summary(frame, explanation.modalities, f"{run}, {split}")
    return frame
