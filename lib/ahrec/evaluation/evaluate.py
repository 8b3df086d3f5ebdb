"""The final metrics step: the only place, with the results table, that reads test labels.

Validation and labelled-test macro F1 are reported separately, each with its
participant-bootstrap interval, with the paper's "average" column (their
mean) beside them; model selection never saw the test numbers.
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path
from typing import Any

import pandas as pd

from ahrec.corpus.manifest import read_manifest
from ahrec.evaluation.scores import SPLITS, Scorer, labelled, split_summary, with_truth
from ahrec.evaluation.settings import EvaluationSettings
from ahrec.training.predictions import read_predictions

LOG = logging.getLogger(__name__)


def evaluate(
    predictions: pd.DataFrame, manifest: pd.DataFrame, settings: EvaluationSettings | None = None
) -> dict[str, Any]:
    """Metrics per split with their participant-bootstrap intervals, and the CV folds' MF1s.

    Labels come from the manifest (test labels included): this runs after
    training, and nothing it writes flows back into a model.
    """
    settings = settings or EvaluationSettings()
    scorer = Scorer(manifest, settings)
    frame = with_truth(predictions, manifest).reset_index(drop=True)
    result: dict[str, Any] = {}
    for split in SPLITS:
        result[split] = split_summary(scorer.estimate(frame, split), labelled(frame, split))
    result["cv"] = scorer.cv(frame)
    val, test = result["val"]["mf1"], result["test"]["mf1"]
    result["val_mf1"] = val
    result["test_mf1"] = test
    result["average_mf1"] = (val + test) / 2 if val is not None and test is not None else None
    result["cv_mf1"] = result["cv"]["mf1"] if result["cv"] else None
    result["bootstrap"] = {
        "resamples": settings.bootstrap,
        "seed": settings.bootstrap_seed,
        "level": settings.level,
        "by": "participant",
    }
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


def evaluate_file(
    predictions: str | Path,
    manifest: str | Path,
    out: str | Path,
    settings: EvaluationSettings | None = None,
) -> dict[str, Any]:
    """The final metrics step of one model (reads the test labels, and nothing trains here)."""
    metrics = evaluate(read_predictions(predictions), read_manifest(manifest), settings)

    def described(split: str) -> str:
        m = metrics[split]
        if m["mf1"] is None:
            return f"{split}: no labels"
        return f"{split} MF1 {m['mf1']:.4f} [{m['low']:.4f}, {m['high']:.4f}] ({m['n']} videos, {m['participants']} participants)"

    write_metrics(metrics, out)
    LOG.info(
        "%s; %s%s",
        described("val"),
        described("test"),
        f"; CV MF1 {metrics['cv_mf1']:.4f}" if metrics["cv"] else "",
    )
    return metrics
