"""Cue ceilings: the best a model can do on the demo corpus from its planted cues.

The demo corpus plants one cue per modality, each agreeing with the label with
probability ``cue_reliability``. So how well *any* model can do from a set of
modalities is known in advance: the Bayes-optimal decision from exactly those
cues. Comparing a trained model's score with this ceiling tells whether it
learnt the signal (close to the ceiling), missed it (near chance), or used
something it should not have (above the ceiling beyond noise: a leak).

Only numpy and pandas here (scikit-learn for the F1 itself), so a report stage
can use it without the media or deep-learning stacks.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from ahrec.demo.settings import DEGENERATE_KINDS, MODALITIES, SPLITS

# Log-odds this close to zero are ties: sums of logs that cancel exactly on
# paper (log 4 = 2 log 2) do not cancel exactly in floating point.
TIE_TOLERANCE = 1e-9

_REQUIRED = ("video_path", "split", "participant", "label", *(f"{m}_cue" for m in MODALITIES))


def read_demo_cues(path: str | os.PathLike[str]) -> pd.DataFrame:
    """The ``demo_cues.csv`` of a demo corpus, typed and checked.

    Columns: ``video_path``, ``split``, ``participant``, ``degenerate`` (str;
    ``""`` for a normal video), ``label`` and ``<modality>_cue`` (int64, 0/1),
    ``duration_s`` (float64) and ``<modality>_cue_present`` (int64, 0/1:
    whether the video lets one observe that cue). Files written before the
    degenerate videos existed lack the last columns; they are filled in as
    they were then (no degenerate video, every cue observable), so old and
    new corpora read the same way. Raises ValueError naming the file and the
    column when a value is not what the generator writes.
    """
    path = os.fspath(path)
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_filter=False)
    missing = [c for c in _REQUIRED if c not in frame.columns]
    if missing:
        raise ValueError(f"{path}: not a demo cue table, missing column(s) {', '.join(missing)}")
    if "degenerate" not in frame.columns:
        frame["degenerate"] = ""
    binary = ["label", *(f"{m}_cue" for m in MODALITIES)]
    for modality in MODALITIES:
        column = f"{modality}_cue_present"
        if column not in frame.columns:
            frame[column] = "1"
        binary.append(column)
    for column in binary:
        bad = ~frame[column].isin(["0", "1"])
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise ValueError(
                f"{path}: line {row + 2}, column {column}: expected 0 or 1, "
                f"got {frame[column].iloc[row]!r}"
            )
        frame[column] = frame[column].astype(np.int64)
    for column, allowed in (("split", SPLITS), ("degenerate", ("", *DEGENERATE_KINDS))):
        bad = ~frame[column].isin(allowed)
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise ValueError(
                f"{path}: line {row + 2}, column {column}: expected one of "
                f"{', '.join(map(repr, allowed))}, got {frame[column].iloc[row]!r}"
            )
    if "duration_s" in frame.columns:
        frame["duration_s"] = pd.to_numeric(frame["duration_s"], errors="raise").astype(np.float64)
    return frame


def label_prior(cues: pd.DataFrame, split: str = "train") -> float:
    """P(label = 1) on ``split`` (training, by default): the prior a model learns."""
    labels = cues.loc[cues["split"] == split, "label"]
    if labels.empty:
        raise ValueError(f"no video in split {split!r}; cannot estimate the label prior")
    return float(labels.mean())


def _modalities(modalities: Sequence[str]) -> tuple[str, ...]:
    if isinstance(modalities, str):
        modalities = [modalities]  # one name, not its letters
    chosen = tuple(modalities)
    unknown = [m for m in chosen if m not in MODALITIES]
    if unknown:
        raise ValueError(f"unknown modality {unknown[0]!r}; choose among {', '.join(MODALITIES)}")
    if len(set(chosen)) != len(chosen):
        raise ValueError(f"modalities repeated: {list(chosen)} (each cue counts once)")
    return chosen


def _reliabilities(
    reliability: float | Mapping[str, float], modalities: tuple[str, ...]
) -> dict[str, float]:
    if isinstance(reliability, Mapping):
        missing = [m for m in modalities if m not in reliability]
        if missing:
            raise ValueError(f"reliability: no value for modality {missing[0]!r}")
        values = {m: reliability[m] for m in modalities}
    else:
        values = dict.fromkeys(modalities, reliability)
    for modality, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int | float | np.floating):
            raise ValueError(f"reliability of {modality}: expected a number, got {value!r}")
        if not 0.5 <= float(value) <= 1.0:
            raise ValueError(
                f"reliability of {modality}: must be between 0.5 (no signal) and 1 "
                f"(perfect), got {value}"
            )
    return {m: float(v) for m, v in values.items()}


def ceiling_predictions(
    cues: pd.DataFrame,
    modalities: Sequence[str],
    reliability: float | Mapping[str, float],
    prior: float,
) -> np.ndarray:
    """The Bayes-optimal label (0/1) of each video from the planted cues of ``modalities``.

    Model (how the generator plants the cues): the cue ``c_m`` of modality m
    equals the label y with probability ``r_m`` (``reliability``, one number or
    one per modality), independently across modalities. By Bayes' rule the
    posterior log-odds of y = 1 given the observed cues are

        L = log(P(y=1 | c) / P(y=0 | c))
          = log(prior / (1 - prior)) + sum_m log(P(c_m | y=1) / P(c_m | y=0))
          = log(prior / (1 - prior)) + sum_m s_m * log(r_m / (1 - r_m)),

    with s_m = +1 when c_m = 1 and -1 when c_m = 0, since P(c_m | y) is r_m
    when c_m = y and 1 - r_m otherwise. A cue the video does not let one see
    (``<m>_cue_present`` = 0: the face of a video without a face, say) has the
    same probability under both labels (degenerate videos are drawn within
    each label alike), so its term is 0: no evidence. Predicting 1 exactly
    when L > 0 picks the more probable label, which no rule using only these
    cues beats in expected accuracy. ``prior`` is P(y = 1) among the training
    videos (see ``label_prior``), as a model learns it.

    Exact ties (L = 0, up to ``TIE_TOLERANCE``) go to the prior's more likely
    class, and to class 0 when the prior is exactly 0.5. A perfect cue
    (r_m = 1) has infinite weight: the perfect cues decide by their net vote,
    and only when they cancel (which the model cannot produce, but a
    hand-made table can) do the others decide.

    Two honest caveats: the generator's draws are stratified (an exact share
    of each split and label disagrees), so cues are independent only
    approximately; and this is the accuracy-optimal rule, so a model can reach
    a slightly higher macro F1 on a given split by chance or by a different
    threshold, never systematically by much.
    """
    chosen = _modalities(modalities)
    rates = _reliabilities(reliability, chosen)
    if isinstance(prior, bool) or not 0.0 < float(prior) < 1.0:
        raise ValueError(f"prior: P(label = 1) must be strictly between 0 and 1, got {prior!r}")
    prior = float(prior)
    n = len(cues)
    finite = np.full(n, math.log(prior / (1.0 - prior)))
    certain = np.zeros(n, np.int64)
    for modality in chosen:
        column = f"{modality}_cue"
        if column not in cues.columns:
            raise ValueError(f"cue table has no column {column!r}")
        cue = cues[column].to_numpy(np.int64)
        if not np.isin(cue, (0, 1)).all():
            raise ValueError(f"column {column!r}: cues must be 0 or 1")
        present_column = f"{modality}_cue_present"
        present = (
            cues[present_column].to_numpy(np.int64) != 0
            if present_column in cues.columns
            else np.ones(n, bool)
        )
        vote = np.where(present, 2 * cue - 1, 0)
        rate = rates[modality]
        if rate == 1.0:
            certain += vote
        else:
            finite += vote * math.log(rate / (1.0 - rate))
    tie = np.abs(finite) <= TIE_TOLERANCE
    by_evidence = np.where(tie, prior > 0.5, finite > 0)
    return np.where(certain != 0, certain > 0, by_evidence).astype(np.int64)


def ceiling_mf1(
    cues: pd.DataFrame,
    modalities: Sequence[str],
    reliability: float | Mapping[str, float],
    prior: float,
    split: str,
) -> float:
    """Macro F1, in percent (as the report tables show it), of the ceiling on ``split``.

    The predictions of ``ceiling_predictions`` against the labels of the
    videos of ``split``, scored as the workflow scores models
    (``ahrec.metrics.macro_f1``: sklearn's macro F1 to the bit), times 100.
    """
    from ahrec.metrics import macro_f1

    if split not in set(cues["split"]):
        raise ValueError(f"no video in split {split!r}")
    rows = cues[cues["split"] == split]
    predicted = ceiling_predictions(rows, modalities, reliability, prior)
    labels = rows["label"].to_numpy(np.int64)
    return 100.0 * macro_f1(labels, predicted)
