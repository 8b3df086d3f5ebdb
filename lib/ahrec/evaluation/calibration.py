"""A probability that means what it says: the calibration map of a system, fitted on training data.

A fusion ensemble trained with class weights and label smoothing, then
averaged over seeds, gives probabilities that rank videos well but need
not be frequencies: of the videos it calls 0.7, far more or far fewer than
70% may show A/H. The calibration map corrects that with the system's own
held-out predictions: the validation split (``evaluation.selection:
split``) or the CV folds' out-of-fold predictions of train + val (``cv``),
the rows model selection reads (``selection_rows``), never a test row.

Maps (``calibration.method``), each on the log-odds ``z`` of P(A/H):

* ``temperature`` (default): ``sigmoid(z / T)``, one parameter. It keeps
  every decision at 0.5, so the labels, and every MF1 of the table, stay
  those of the model.
* ``platt``: ``sigmoid(a z + b)``, also corrects a shifted boundary.
* ``isotonic``: a monotone step map (with at least
  ``calibration.isotonic_min`` videos to fit, else Platt, recorded).
* ``none``: the identity.

Labels follow the challenge's rule (the model's argmax) unless
``calibration.threshold: validation`` picks the threshold on the calibrated
probability that maximises MF1 on the same held-out rows.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ahrec.evaluation.probability import probability_metrics
from ahrec.evaluation.selection import selection_rows
from ahrec.evaluation.settings import METHODS, CalibrationSettings, EvaluationSettings
from ahrec.metrics import macro_f1

LOG = logging.getLogger(__name__)

EPS = 1e-6
MAX_KNOTS = 100_000


def logodds(proba: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(proba, dtype=np.float64), EPS, 1 - EPS)
    return np.log(p) - np.log1p(-p)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))


@dataclass(frozen=True)
class CalibrationMap:
    """P(A/H) -> calibrated P(A/H), and how labels are decided."""

    method: str = "none"
    a: float = 1.0  # slope on the log-odds (temperature: 1 / T)
    b: float = 0.0
    x: tuple[float, ...] = ()  # isotonic: knots on the raw P(A/H), ascending
    y: tuple[float, ...] = ()
    threshold: float | None = None  # None: the model's own argmax
    fitted: dict[str, Any] = field(default_factory=dict, compare=False)

    def apply(self, proba: np.ndarray | pd.Series) -> np.ndarray:
        p = np.asarray(proba, dtype=np.float64)
        if self.method == "none":
            return p.copy()
        if self.method == "isotonic":
            return np.interp(p, np.asarray(self.x), np.asarray(self.y))
        return _sigmoid(self.a * logodds(p) + self.b)

    def pair(self, proba: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Calibrated (P(no A/H), P(A/H)) of (N, 2) class probabilities. The identity gives
        the model's own pair back, bit for bit (its P(no A/H) is not recomputed as 1 - p)."""
        proba = np.asarray(proba)
        if self.method == "none":
            return proba[:, 0], proba[:, 1]
        calibrated = self.apply(proba[:, 1])
        return 1.0 - calibrated, calibrated

    def labels(self, raw_prediction: np.ndarray, calibrated: np.ndarray) -> np.ndarray:
        """The model's argmax, or calibrated P(A/H) >= the threshold chosen on validation."""
        if self.threshold is None:
            return np.asarray(raw_prediction, dtype=int)
        return (np.asarray(calibrated) >= self.threshold).astype(int)

    def to_dict(self) -> dict[str, Any]:
        record = asdict(self)
        record["x"], record["y"] = list(self.x), list(self.y)
        return record

    @classmethod
    def from_dict(cls, record: Any, where: str = "calibration") -> CalibrationMap:
        """Validated: a map may come from an export made elsewhere (ValueError naming the key)."""
        if not isinstance(record, dict):
            raise ValueError(f"{where}: expected a mapping")
        method = record.get("method")
        if method not in METHODS:
            raise ValueError(
                f"{where}: method: expected one of {', '.join(METHODS)}, got {method!r}"
            )

        def finite(key: str, default: float) -> float:
            value = record.get(key, default)
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not math.isfinite(value)
            ):
                raise ValueError(
                    f"{where}: {key}: expected a finite number, got {str(value)[:40]!r}"
                )
            return float(value)

        a, b = finite("a", 1.0), finite("b", 0.0)
        if method in ("temperature", "platt") and not 0 < a < 1e4:
            raise ValueError(f"{where}: a: expected a positive slope below 1e4, got {a}")
        x, y = record.get("x", []), record.get("y", [])
        if not (isinstance(x, list) and isinstance(y, list) and len(x) == len(y) <= MAX_KNOTS):
            raise ValueError(f"{where}: x, y: expected two lists of equal length")
        try:
            xs = np.asarray(x, dtype=np.float64)
            ys = np.asarray(y, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"{where}: x, y: expected numbers") from None
        if method == "isotonic" and (
            len(xs) < 1
            or not (np.isfinite(xs).all() and np.isfinite(ys).all())
            or (np.diff(xs) < 0).any()
            or (np.diff(ys) < 0).any()
            or ys.min() < 0
            or ys.max() > 1
        ):
            raise ValueError(f"{where}: x, y: expected ascending knots with values in [0, 1]")
        threshold = record.get("threshold")
        if threshold is not None:
            threshold = finite("threshold", 0.5)
            if not 0 <= threshold <= 1:
                raise ValueError(f"{where}: threshold: expected a probability, got {threshold}")
        fitted = record.get("fitted", {})
        return cls(
            method=method,
            a=a,
            b=b,
            x=tuple(float(v) for v in xs),
            y=tuple(float(v) for v in ys),
            threshold=threshold,
            fitted=fitted if isinstance(fitted, dict) else {},
        )


def _nll(z: np.ndarray, y: np.ndarray, a: float, b: float) -> float:
    s = a * z + b
    return float(np.mean(np.logaddexp(0.0, s) - y * s))


def _fit_temperature(z: np.ndarray, y: np.ndarray) -> float:
    """The slope 1 / T on the log-odds with the least held-out log loss."""
    from scipy.optimize import minimize_scalar

    result = minimize_scalar(
        lambda u: _nll(z, y, math.exp(u), 0.0), bounds=(-6, 6), method="bounded"
    )
    return math.exp(float(result.x))


def _fit_platt(z: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    from scipy.optimize import minimize

    def objective(ab: np.ndarray) -> tuple[float, np.ndarray]:
        s = ab[0] * z + ab[1]
        residual = _sigmoid(s) - y
        return _nll(z, y, ab[0], ab[1]), np.array([np.mean(residual * z), np.mean(residual)])

    result = minimize(
        objective,
        np.array([1.0, 0.0]),
        jac=True,
        method="L-BFGS-B",
        bounds=[(1e-3, 1e3), (-50, 50)],
    )
    return float(result.x[0]), float(result.x[1])


def _fit_isotonic(p: np.ndarray, y: np.ndarray) -> tuple[tuple[float, ...], tuple[float, ...]]:
    from sklearn.isotonic import IsotonicRegression

    regression = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(p, y)
    return tuple(map(float, regression.X_thresholds_)), tuple(map(float, regression.y_thresholds_))


def best_threshold(labels: np.ndarray, calibrated: np.ndarray) -> float:
    """The threshold on calibrated P(A/H) with the best MF1 (ties: the one nearest 0.5)."""
    values = np.unique(np.asarray(calibrated, dtype=np.float64))
    candidates = np.unique(np.concatenate([[0.5], (values[1:] + values[:-1]) / 2]))
    scores = [macro_f1(labels, (calibrated >= t).astype(int)) for t in candidates]
    best = max(scores)
    return float(
        min(
            (t for t, s in zip(candidates, scores, strict=True) if s == best),
            key=lambda t: abs(t - 0.5),
        )
    )


def fit_calibration(
    labels: np.ndarray, proba: np.ndarray, settings: CalibrationSettings
) -> CalibrationMap:
    """The map ``settings.method`` names, fitted on held-out (label, P(A/H)) pairs."""
    y = np.asarray(labels, dtype=np.float64)
    p = np.asarray(proba, dtype=np.float64)
    method, reason = settings.method, None
    if method != "none" and (len(y) < 2 or y.min() == y.max()):
        method, reason = "none", "needs held-out videos of both classes: identity"
    elif method != "none" and len(y) < settings.min_videos:
        method = "none"
        reason = f"needs {settings.min_videos} held-out videos, {len(y)} here: identity"
    if method == "isotonic" and len(y) < settings.isotonic_min:
        method = "platt"
        reason = f"isotonic needs {settings.isotonic_min} held-out videos, {len(y)} here: Platt"
    z = logodds(p)
    values: dict[str, Any] = {"method": method}
    if method == "temperature":
        values["a"] = _fit_temperature(z, y)
    elif method == "platt":
        values["a"], values["b"] = _fit_platt(z, y)
    elif method == "isotonic":
        values["x"], values["y"] = _fit_isotonic(p, y)
    fitted = CalibrationMap(**values)
    calibrated = fitted.apply(p)
    threshold = None
    if settings.threshold == "validation" and len(y) and y.min() != y.max():
        threshold = best_threshold(y.astype(int), calibrated)
    before = probability_metrics(y, p, settings.bins) if len(y) else {}
    after = probability_metrics(y, calibrated, settings.bins) if len(y) else {}
    record = {
        "requested": settings.method,
        "reason": reason,
        "videos": int(len(y)),
        "before": {k: before.get(k) for k in ("brier", "ece")},
        "after": {k: after.get(k) for k in ("brier", "ece")},
    }
    return CalibrationMap(**{**values, "threshold": threshold, "fitted": record})


def fit_system_calibration(
    predictions: pd.DataFrame,
    labels: pd.DataFrame,
    evaluation: EvaluationSettings,
    settings: CalibrationSettings,
) -> CalibrationMap:
    """A system's map from its predictions of the rows selection reads (no test row)."""
    rows = selection_rows(predictions, labels, evaluation)
    rows = rows[rows["split"].isin(["train", "val"])]
    fitted = fit_calibration(
        rows["label"].astype(int).to_numpy(), rows["proba_1"].to_numpy(np.float64), settings
    )
    source = "cv out-of-fold (train + val)" if evaluation.cv else "validation"
    return CalibrationMap(**{**asdict(fitted), "fitted": {**fitted.fitted, "rows": source}})


def write_calibration(fitted: CalibrationMap, path: str | Path, **extra: Any) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps({**extra, **fitted.to_dict()}, indent=2) + "\n")


def read_calibration(path: str | Path) -> CalibrationMap:
    """A map written by ``write_calibration`` (bounded JSON loader: it may come in an export)."""
    from ahrec.safe_load import MAX_CONFIG_BYTES, load_json

    return CalibrationMap.from_dict(
        load_json(Path(path), MAX_CONFIG_BYTES, follow_links=False), str(path)
    )


def calibrate_run_file(
    predictions: str | Path,
    labels_path: str | Path,
    out: str | Path,
    evaluation: EvaluationSettings,
    settings: CalibrationSettings,
    run: str | None = None,
) -> CalibrationMap:
    """The calibration step of one fusion run: its map from the training labels only."""
    from ahrec.training.labels import read_labels
    from ahrec.training.predictions import read_predictions

    fitted = fit_system_calibration(
        read_predictions(predictions), read_labels(labels_path), evaluation, settings
    )
    write_calibration(fitted, out, run=run)
    LOG.info(
        "%s: %s map on %d %s videos (%s); ECE %s -> %s, Brier %s -> %s; labels: %s",
        run,
        fitted.method,
        fitted.fitted["videos"],
        fitted.fitted["rows"],
        fitted.fitted["reason"] or "as configured",
        _fmt(fitted.fitted["before"]["ece"]),
        _fmt(fitted.fitted["after"]["ece"]),
        _fmt(fitted.fitted["before"]["brier"]),
        _fmt(fitted.fitted["after"]["brier"]),
        "argmax" if fitted.threshold is None else f"P(A/H) >= {fitted.threshold:.4f}",
    )
    return fitted


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"
