"""How good a system's probabilities are, beyond its labels: AUROC, AP, Brier score, ECE.

MF1 scores the argmax; a clinician reading "0.7" needs the probability
itself to be right (calibration: Brier score, expected calibration error)
and a ranking that separates the classes at any threshold (AUROC, average
precision). Each gets the same participant-bootstrap interval as MF1, from
the same shared resamples (``Scorer.resamples``), so two systems' values,
or one system's before and after calibration, compare pairwise
(``paired_difference``).

Vectorised like the MF1 bootstrap: a resample weighs each video by how
often its participant was drawn, so every metric is computed for all
resamples at once from a (B, N) weight matrix.

* AUROC: the weighted probability that an A/H video scores above a non-A/H
  one (ties count half), sklearn's ``roc_auc_score`` when weights are 1.
* AP: sklearn's ``average_precision_score``: precision at each distinct
  score, weighted by the recall it adds.
* Brier: mean squared difference between P(A/H) and the label.
* ECE: ``bins`` equal-width bins of P(A/H); per bin the gap between the mean
  predicted probability and the share of A/H videos, weighted by the bin's
  share of videos. Binary calibration of the A/H probability (not the
  top-label variant), so a 0.3 that should be 0.1 counts as it would for a
  clinician reading the A/H probability.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ahrec.evaluation.bootstrap import Estimate, Resamples, _check_level, _percentile_interval

METRICS = ("auroc", "ap", "brier", "ece")
DEFAULT_BINS = 10


def _groups(scores: np.ndarray) -> tuple[np.ndarray, int]:
    """Index of each video's distinct score in ascending order, and the number of them."""
    unique, inverse = np.unique(scores, return_inverse=True)
    return inverse, len(unique)


def weighted_metrics(
    labels: np.ndarray, proba: np.ndarray, weights: np.ndarray, bins: int = DEFAULT_BINS
) -> dict[str, np.ndarray]:
    """Each metric for each row of ``weights`` ((B, N) or (N,)): arrays of shape (B,) or ().

    NaN where a metric is undefined for a row: AUROC and AP need both classes
    with weight, every metric needs some weight.
    """
    y = np.asarray(labels, dtype=np.float64)
    p = np.asarray(proba, dtype=np.float64)
    w = np.asarray(weights, dtype=np.float64)
    single = w.ndim == 1
    w = np.atleast_2d(w)
    total = w.sum(axis=1)
    positive = w @ y
    negative = total - positive
    with np.errstate(invalid="ignore", divide="ignore"):
        brier = (w @ (p - y) ** 2) / total
        edges = np.clip((p * bins).astype(int), 0, bins - 1)
        onehot = np.zeros((len(p), bins))
        onehot[np.arange(len(p)), edges] = 1.0
        gap = np.abs(w @ (onehot * p[:, None]) - w @ (onehot * y[:, None])).sum(axis=1)
        ece = gap / total
        group, n_groups = _groups(p)
        members = np.zeros((len(p), n_groups))
        members[np.arange(len(p)), group] = 1.0
        pos_g = w @ (members * y[:, None])  # (B, G): A/H weight per distinct score, ascending
        neg_g = w @ (members * (1 - y)[:, None])
        below = np.cumsum(neg_g, axis=1) - neg_g
        auroc = (pos_g * (below + 0.5 * neg_g)).sum(axis=1) / (positive * negative)
        # AP: thresholds from the highest score down
        tp = np.cumsum(pos_g[:, ::-1], axis=1)
        fp = np.cumsum(neg_g[:, ::-1], axis=1)
        precision = np.where(tp + fp > 0, tp / np.where(tp + fp > 0, tp + fp, 1), 0.0)
        ap = (precision * pos_g[:, ::-1]).sum(axis=1) / positive
    undefined = (positive <= 0) | (negative <= 0)
    auroc = np.where(undefined, np.nan, auroc)
    ap = np.where(positive <= 0, np.nan, ap)
    out = {"auroc": auroc, "ap": ap, "brier": brier, "ece": ece}
    return {k: (v[0] if single else v) for k, v in out.items()}


def probability_metrics(
    labels: Sequence[int] | np.ndarray,
    proba: Sequence[float] | np.ndarray,
    bins: int = DEFAULT_BINS,
) -> dict[str, float | None]:
    """The four metrics of one labelled set (None where undefined)."""
    y = np.asarray(labels, dtype=np.float64)
    if y.size == 0:
        return dict.fromkeys(METRICS)
    values = weighted_metrics(y, np.asarray(proba, dtype=np.float64), np.ones(y.size), bins)
    return {k: (None if np.isnan(v) else float(v)) for k, v in values.items()}


def bootstrap_probability(
    labels: Sequence[int] | np.ndarray,
    proba: Sequence[float] | np.ndarray,
    participants: Sequence[str] | np.ndarray,
    resamples: Resamples,
    level: float = 0.95,
    bins: int = DEFAULT_BINS,
) -> dict[str, Estimate]:
    """Each metric with its participant-bootstrap percentile interval (paired across systems).

    ``proba`` is P(A/H) per video. Every video's participant must be among
    the resamples' (the split's), as for ``bootstrap_mf1``.
    """
    _check_level(level)
    y = np.asarray(labels, dtype=np.float64)
    p = np.asarray(proba, dtype=np.float64)
    who = [str(v) for v in participants]
    if not len(y) == len(p) == len(who):
        raise ValueError(
            f"labels, probabilities and participants differ in length: {len(y)}, {len(p)}, {len(who)}"
        )
    if not np.isin(y, (0, 1)).all():
        raise ValueError("labels must be 0 or 1")
    if len(p) and (not np.isfinite(p).all() or p.min() < 0 or p.max() > 1):
        raise ValueError("probabilities must be finite numbers in [0, 1]")
    index = {participant: j for j, participant in enumerate(resamples.participants)}
    unknown = sorted({v for v in who if v not in index})
    if unknown:
        raise ValueError(
            f"videos of participants not in the resampled set: {', '.join(unknown[:5])}"
        )
    if not len(y):
        empty = np.empty(0)
        return {k: Estimate(None, None, None, 0, 0, empty) for k in METRICS}
    columns = np.fromiter((index[v] for v in who), dtype=np.int64, count=len(who))
    weights = resamples.counts[:, columns].astype(np.float64)  # (B, N)
    observed = weighted_metrics(y, p, np.ones(len(y)), bins)
    sampled = weighted_metrics(y, p, weights, bins)
    estimates = {}
    for name in METRICS:
        samples = np.asarray(sampled[name], dtype=np.float64)
        samples.setflags(write=False)
        low, high = _percentile_interval(samples, level)
        value = float(observed[name])
        estimates[name] = Estimate(
            value=None if np.isnan(value) else value,
            low=low,
            high=high,
            n_videos=len(y),
            n_participants=len(set(who)),
            samples=samples,
        )
    return estimates


def reliability_bins(
    labels: Sequence[int] | np.ndarray,
    proba: Sequence[float] | np.ndarray,
    bins: int = DEFAULT_BINS,
) -> list[dict[str, float | int]]:
    """Per non-empty bin: its range, the number of videos, mean P(A/H) and share of A/H.

    What a reliability diagram draws; the ECE is the count-weighted mean gap.
    """
    y = np.asarray(labels, dtype=np.float64)
    p = np.asarray(proba, dtype=np.float64)
    edges = np.clip((p * bins).astype(int), 0, bins - 1)
    out = []
    for b in range(bins):
        inside = edges == b
        if inside.any():
            out.append(
                {
                    "low": b / bins,
                    "high": (b + 1) / bins,
                    "n": int(inside.sum()),
                    "mean_proba": float(p[inside].mean()),
                    "share_ah": float(y[inside].mean()),
                }
            )
    return out
