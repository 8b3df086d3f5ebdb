"""Uncertainty on macro F1: participant bootstrap, paired differences, folds and seeds.

Macro F1 (MF1) is the challenge metric: sklearn's
``f1_score(y, yhat, average="macro", labels=[0, 1], zero_division=0)``. A
single MF1 on a few hundred videos is noisy, and the results table should say
how noisy, honestly:

* **Resample participants, not videos.** Several videos come from one
  participant; a participant's videos share a face, a voice, a way of speaking
  and usually a label tendency, so a system tends to be right or wrong on them
  together. Resampling videos would treat them as independent and give
  intervals that are too narrow. The cluster (participant) bootstrap draws
  whole participants with replacement and keeps all their videos.
* **Paired comparisons.** Every system scored on a split uses the same
  resamples (they depend only on the split's participant set, the number of
  resamples and the seed), so the difference between two systems is computed
  resample by resample. The luck of the draw (easy or hard participants) is
  shared and cancels, which makes the difference far more precise than two
  separate intervals suggest.
* **Vectorised.** MF1 depends on the videos only through the 2x2 confusion
  matrix, and a resample's confusion is the participants' confusions weighted
  by how often each was drawn: ``counts @ confusion`` gives all resamples at
  once, (B, P) @ (P, 4) -> (B, 4), then MF1 row by row. 2000 resamples over
  400 videos take milliseconds (``benchmarks/bootstrap_speed.py``).

Cross-validation folds and training seeds get simpler summaries
(``fold_interval``, ``seed_spread``): they describe a different uncertainty
(which data and which initialisation the model was trained on), not the
sampling of test participants.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from ahrec.metrics import mf1_from_confusion

#: Column order of a confusion row: (truth, prediction) pairs.
CELLS: tuple[tuple[int, int], ...] = ((0, 0), (0, 1), (1, 0), (1, 1))


@dataclass(frozen=True)
class Resamples:
    """Participant bootstrap resamples of one split, shared by every system scored on it.

    ``counts[b, j]`` is how often participant ``participants[j]`` is drawn in
    resample ``b``; each row sums to the number of participants P. Counts
    rather than index lists because the MF1 of a resample is then a matrix
    product with the per-participant confusions.
    """

    participants: tuple[str, ...]  # sorted unique participant ids of the split
    counts: np.ndarray  # (B, P) int32: how often each participant is drawn in each resample
    seed: int

    @property
    def n(self) -> int:
        """Number of resamples B."""
        return int(self.counts.shape[0])


def participant_resamples(participants: Iterable[str], n: int, seed: int) -> Resamples:
    """``n`` resamples of the split's participants, each drawing P of them with replacement.

    The input is reduced to its sorted set of ids first, so the resamples depend
    only on which participants the split has (not on the order or the number of
    their videos), on ``n`` and on ``seed``: any system scored on that split,
    at any time, gets the same resamples, which is what makes paired
    comparisons (``paired_difference``) possible.

    The draw is ``np.random.default_rng(seed).integers(0, P, size=(n, P))``:
    row ``b`` lists the indices (into the sorted ids) of the participants drawn
    in resample ``b``; they are stored as counts per participant.
    """
    if isinstance(participants, str):
        raise TypeError("participants must be an iterable of ids, not a single string")
    if isinstance(n, bool) or int(n) != n or n < 1:
        raise ValueError(f"the number of resamples must be a positive integer, got {n!r}")
    n = int(n)
    ids = tuple(sorted(set(participants)))
    p = len(ids)
    counts = np.zeros((n, p), dtype=np.int32)
    if p:
        drawn = np.random.default_rng(seed).integers(0, p, size=(n, p))
        flat = (drawn + np.arange(n)[:, None] * p).ravel()
        counts = np.bincount(flat, minlength=n * p).reshape(n, p).astype(np.int32)
    counts.setflags(write=False)
    return Resamples(participants=ids, counts=counts, seed=int(seed))


def _binary(values: Sequence[int] | np.ndarray, name: str) -> np.ndarray:
    """A 1-D int array of 0/1 values (labels or predictions)."""
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {array.shape}")
    if array.size == 0:
        return array.astype(np.int64)
    if array.dtype == bool:
        array = array.astype(np.int64)
    if not np.isin(array, (0, 1)).all():
        bad = sorted({v.item() for v in array[~np.isin(array, (0, 1))]}, key=repr)
        raise ValueError(f"{name} must be 0 or 1, got {bad[:5]}")
    return array.astype(np.int64)


def confusion_by_participant(
    labels: Sequence[int] | np.ndarray,
    predictions: Sequence[int] | np.ndarray,
    participants: Sequence[str] | np.ndarray,
    order: Sequence[str],
) -> np.ndarray:
    """Per-participant confusion counts, (P, 4), rows in ``order``.

    Columns are ``[n(y=0, yhat=0), n(0, 1), n(1, 0), n(1, 1)]`` (``CELLS``). A
    participant of ``order`` without videos gets a row of zeros (it is still
    drawn in resamples, contributing nothing). A video whose participant is not
    in ``order`` is an error: silently dropping it would score a different set
    of videos than the one the caller passed.
    """
    y = _binary(labels, "labels")
    yhat = _binary(predictions, "predictions")
    who = list(participants)
    if not len(y) == len(yhat) == len(who):
        raise ValueError(
            f"labels, predictions and participants differ in length: {len(y)}, {len(yhat)}, {len(who)}"
        )
    index = {participant: j for j, participant in enumerate(order)}
    if len(index) != len(order):
        raise ValueError("order lists a participant more than once")
    unknown = sorted({str(p) for p in who if p not in index})
    if unknown:
        raise ValueError(
            f"videos of participants not in the resampled set: {', '.join(unknown[:5])}"
            + (f" and {len(unknown) - 5} more" if len(unknown) > 5 else "")
        )
    rows = np.fromiter((index[p] for p in who), dtype=np.int64, count=len(who))
    flat = rows * 4 + 2 * y + yhat
    return np.bincount(flat, minlength=len(index) * 4).reshape(len(index), 4).astype(np.int64)


@dataclass(frozen=True)
class Estimate:
    """MF1 of one system on one split with its participant-bootstrap interval.

    ``samples`` keeps the whole bootstrap distribution so that two estimates
    from the same ``Resamples`` can be compared pairwise.
    """

    value: float | None  # MF1 on the split as observed
    low: float | None  # percentile interval of the bootstrap distribution
    high: float | None
    n_videos: int
    n_participants: int
    samples: np.ndarray  # (B,) bootstrap MF1s (empty when not computable)


def _check_level(level: float) -> None:
    if not 0 < level < 1:
        raise ValueError(f"level must be strictly between 0 and 1, got {level!r}")


def _percentile_interval(samples: np.ndarray, level: float) -> tuple[float | None, float | None]:
    """Percentile interval of the defined (non-NaN) samples; Nones when there are none."""
    defined = samples[~np.isnan(samples)]
    if defined.size == 0:
        return None, None
    alpha = (1 - level) / 2
    low, high = np.quantile(defined, [alpha, 1 - alpha], method="linear")
    return float(low), float(high)


def _empty() -> np.ndarray:
    samples = np.empty(0, dtype=np.float64)
    samples.setflags(write=False)
    return samples


def bootstrap_mf1(
    labels: Sequence[int] | np.ndarray,
    predictions: Sequence[int] | np.ndarray,
    participants: Sequence[str] | np.ndarray,
    resamples: Resamples,
    level: float = 0.95,
) -> Estimate:
    """Observed MF1 and its participant-bootstrap percentile interval.

    Each resample's confusion is ``resamples.counts @ confusion_by_participant``,
    i.e. the videos of the drawn participants, a participant's videos as many
    times as it was drawn. Every video's participant must be in
    ``resamples.participants`` (the split's).

    Why the percentile interval: MF1 is bounded and its bootstrap distribution
    is skewed near the bounds; the percentile interval follows that shape
    (and stays within [0, 1]) without assuming normality, and it is
    invariant to monotone transformations of the metric. Bias-corrected (BCa)
    intervals would need a jackknife over participants whose acceleration
    estimate is itself noisy with a few dozen participants, for little gain.

    ``n_participants`` counts the participants that have videos here. A
    resample that draws only participants without videos has no MF1 (NaN in
    ``samples``) and is left out of the interval; with all the split's videos
    scored this cannot happen. An empty split gives
    ``Estimate(None, None, None, 0, 0, empty)``.
    """
    _check_level(level)
    confusion = confusion_by_participant(labels, predictions, participants, resamples.participants)
    n_videos = int(confusion.sum())
    if n_videos == 0:
        return Estimate(None, None, None, 0, 0, _empty())
    # Float matmul: exact for counts (far below 2**53) and runs on BLAS.
    resampled = resamples.counts.astype(np.float64) @ confusion.astype(np.float64)
    samples = mf1_from_confusion(resampled)
    samples.setflags(write=False)
    low, high = _percentile_interval(samples, level)
    return Estimate(
        value=float(mf1_from_confusion(confusion.sum(axis=0))),
        low=low,
        high=high,
        n_videos=n_videos,
        n_participants=int((confusion.sum(axis=1) > 0).sum()),
        samples=samples,
    )


@dataclass(frozen=True)
class Difference:
    """MF1(a) - MF1(b) with its paired bootstrap interval and p-value."""

    value: float | None  # MF1(a) - MF1(b) observed
    low: float | None
    high: float | None
    p_value: float | None  # two-sided bootstrap p-value
    significant: bool  # interval excludes 0


def paired_difference(a: Estimate, b: Estimate, level: float = 0.95) -> Difference:
    """Paired participant-bootstrap comparison of two systems scored on the same split.

    ``a`` and ``b`` must come from the same ``Resamples`` (checked only through
    the number of samples): the difference distribution is then
    ``d = a.samples - b.samples``, resample by resample, so the participants
    that are easy or hard for both systems cancel out.

    The interval is the percentile interval of ``d`` at ``level``;
    ``significant`` means it excludes 0. The two-sided p-value is the
    percentile-bootstrap test, the one that this interval inverts: twice the
    smaller share of the difference distribution on either side of 0,

        p = min(1, 2 * min((1 + #(d <= 0)) / (B + 1), (1 + #(d >= 0)) / (B + 1)))

    The +1 terms count the observed data as one more resample, so p is never 0
    with finitely many resamples (its floor is about 2 / (B + 1)). Samples where
    either MF1 is undefined (NaN) are left out and B counts the others.
    Identical systems give d = 0 everywhere, hence p = 1.

    All fields are None (and ``significant`` False) when either estimate is empty.
    """
    _check_level(level)
    if a.value is None or b.value is None or a.samples.size == 0 or b.samples.size == 0:
        return Difference(None, None, None, None, False)
    if a.samples.shape != b.samples.shape:
        raise ValueError(
            f"paired estimates must come from the same resamples, got {a.samples.size} and {b.samples.size} samples"
        )
    d = a.samples - b.samples
    d = d[~np.isnan(d)]
    value = a.value - b.value
    if d.size == 0:
        return Difference(value, None, None, None, False)
    low, high = _percentile_interval(d, level)
    total = d.size + 1
    below = (1 + int((d <= 0).sum())) / total
    above = (1 + int((d >= 0).sum())) / total
    p_value = min(1.0, 2 * min(below, above))
    assert low is not None and high is not None
    return Difference(value, low, high, p_value, bool(low > 0 or high < 0))


def _finite(values: Sequence[float], name: str) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64).ravel()
    if not np.isfinite(array).all():
        raise ValueError(f"{name} must be finite numbers, got {array.tolist()}")
    return array


def fold_interval(
    values: Sequence[float], level: float = 0.95
) -> tuple[float | None, float | None, float | None]:
    """Mean MF1 over k cross-validation folds and a Student-t interval: (mean, low, high).

    ``mean +- t_{k-1} * sd / sqrt(k)`` with the sample standard deviation.
    This interval is only indicative and typically too narrow: it treats the k
    fold scores as independent, but the folds' training sets overlap (each pair
    shares a fraction (k - 2) / (k - 1) of its training data), so the scores are
    positively correlated and their spread understates the variance of the
    mean. Bengio & Grandvalet (2004, "No unbiased estimator of the variance of
    K-fold cross-validation", JMLR 5) show that no unbiased estimator of that
    variance exists from a single k-fold run. Use it to see the fold-to-fold
    spread, not to claim significance. It is also not clipped to [0, 1].

    ``(mean, None, None)`` for one fold, ``(None, None, None)`` for none.
    """
    from scipy import stats  # only here: importing scipy.stats costs a second

    _check_level(level)
    array = _finite(values, "fold scores")
    k = array.size
    if k == 0:
        return None, None, None
    mean = float(array.mean())
    if k == 1:
        return mean, None, None
    half = float(stats.t.ppf(1 - (1 - level) / 2, df=k - 1)) * float(array.std(ddof=1)) / np.sqrt(k)
    return mean, mean - half, mean + half


def seed_spread(values: Sequence[float]) -> tuple[float | None, float | None]:
    """Mean and sample standard deviation (ddof=1) of MF1s from runs differing only in seed.

    Describes how much training randomness alone moves the score, which a
    single-seed comparison between systems should be read against. The
    standard deviation is None for a single value, both are None for none.
    """
    array = _finite(values, "seed scores")
    if array.size == 0:
        return None, None
    mean = float(array.mean())
    if array.size == 1:
        return mean, None
    return mean, float(array.std(ddof=1))
