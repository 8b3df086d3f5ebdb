"""Steps: metrics per model, the results table in the paper's layout, the submission."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from ahrec.corpus.manifest import read_manifest
from ahrec.models.evaluation import evaluate, read_metrics, write_metrics
from ahrec.models.predictions import read_predictions

LOG = logging.getLogger(__name__)

TABLE_COLUMNS = ["id", "system", "modality", "models", "val_mf1", "test_mf1", "average_mf1"]


def evaluate_file(predictions: str | Path, manifest: str | Path, out: str | Path) -> dict[str, Any]:
    """The final metrics step of one model (reads the test labels, and nothing trains here)."""
    metrics = evaluate(read_predictions(predictions), read_manifest(manifest))
    write_metrics(metrics, out)
    LOG.info("val MF1 %s, test MF1 %s", metrics["val_mf1"], metrics["test_mf1"])
    return metrics


def _percent(value: float | None) -> float | None:
    return None if value is None else round(100.0 * value, 2)


def results_table(rows: Sequence[Mapping[str, Any]], out: str | Path) -> pd.DataFrame:
    """One row per system: ``rows`` give id, system, modality, models and a metrics path."""
    records = []
    for row in rows:
        metrics = read_metrics(row["metrics"])
        records.append(
            {
                "id": row["id"],
                "system": row["system"],
                "modality": row["modality"],
                "models": row["models"],
                "val_mf1": _percent(metrics.get("val_mf1")),
                "test_mf1": _percent(metrics.get("test_mf1")),
                "average_mf1": _percent(metrics.get("average_mf1")),
            }
        )
    table = pd.DataFrame(records, columns=TABLE_COLUMNS)
    _write_csv(table, out, header=True)
    LOG.info("results table:\n%s", table.to_string(index=False))
    return table


def _write_csv(frame: pd.DataFrame, out: str | Path, header: bool) -> None:
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    temporary = out.with_name(f".tmp-{out.name}")
    frame.to_csv(temporary, index=False, header=header)
    os.replace(temporary, out)


SUBMISSION_COLUMNS = ["video_path", "label", "prob_no_ah", "prob_ah"]


def submission(
    predictions: str | Path, manifest: str | Path, split: str, out: str | Path, header: bool = True
) -> pd.DataFrame:
    """One row per video of the list, in the list's order, with its own video_path.

    Every listed video gets exactly one row; a video the models could not see
    at all would carry the training prior (its predictions row says so).
    """
    listed = read_manifest(manifest)
    listed = listed[listed["split"] == split].sort_values("list_order")
    if listed.empty:
        raise ValueError(f"the manifest has no {split!r} videos to submit")
    frame = read_predictions(predictions).set_index("video_id")
    missing = sorted(set(listed["video_id"]) - set(frame.index))
    if missing:
        raise ValueError(f"{len(missing)} {split} videos have no prediction, e.g. {missing[0]}")
    rows = frame.loc[listed["video_id"]]
    table = pd.DataFrame(
        {
            "video_path": listed["video_path"].to_numpy(),
            "label": rows["prediction"].astype(int).to_numpy(),
            "prob_no_ah": rows["proba_0"].round(6).to_numpy(),
            "prob_ah": rows["proba_1"].round(6).to_numpy(),
        },
        columns=SUBMISSION_COLUMNS,
    )
    _write_csv(table, out, header=header)
    unavailable = int((~rows["available"].astype(bool)).sum())
    LOG.info(
        "%d %s videos submitted (%d predicted A/H); %d without any modality got the prior",
        len(table),
        split,
        int(table["label"].sum()),
        unavailable,
    )
    return table
