"""The final metrics step: the only place that reads test labels.

Validation and labelled-test macro F1 are reported separately, with the
paper's "average" column (their mean) beside them; model selection never saw
the test numbers.
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path
from typing import Any

import pandas as pd

from ahrec.corpus.manifest import read_manifest
from ahrec.evaluation.metrics import summary
from ahrec.training.predictions import proba_matrix, read_predictions

LOG = logging.getLogger(__name__)


def evaluate(predictions: pd.DataFrame, manifest: pd.DataFrame) -> dict[str, Any]:
    """Metrics per split, from the manifest's labels (test labels included)."""
    labels = manifest.set_index("video_id")["label"]
    merged = predictions.join(labels, on="video_id")
    result: dict[str, Any] = {}
    for split in ("train", "val", "test"):
        rows = merged[(merged["split"] == split) & merged["label"].notna()]
        result[split] = summary(rows["label"].astype(int).to_numpy(), proba_matrix(rows))
        result[split]["coverage"] = float(rows["available"].mean()) if len(rows) else None
    val, test = result["val"]["mf1"], result["test"]["mf1"]
    result["val_mf1"] = val
    result["test_mf1"] = test
    result["average_mf1"] = (val + test) / 2 if val is not None and test is not None else None
    return result


def write_metrics(metrics: dict[str, Any], path: str | Path) -> None:
    def clean(value: Any) -> Any:
        if isinstance(value, float) and math.isnan(value):
            return None
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items()}
        if isinstance(value, list):
            return [clean(v) for v in value]
        return value

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(clean(metrics), indent=2, sort_keys=True) + "\n")


def read_metrics(path: str | Path) -> dict[str, Any]:
    return json.loads(Path(path).read_text())


def evaluate_file(predictions: str | Path, manifest: str | Path, out: str | Path) -> dict[str, Any]:
    """The final metrics step of one model (reads the test labels, and nothing trains here)."""
    metrics = evaluate(read_predictions(predictions), read_manifest(manifest))
    write_metrics(metrics, out)
    LOG.info("val MF1 %s, test MF1 %s", metrics["val_mf1"], metrics["test_mf1"])
    return metrics
