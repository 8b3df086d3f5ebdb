"""The numbers behind the report's figures, computed without drawing anything.

Every figure in the Snakemake report is a picture of one of these tables, so
the numbers are tested here (confusion counts, curves, per-seed scores,
availability counts) and the drawing code in ``ahrec.reporting.plots`` only
lays them out. Ground truth always comes from the manifest, where a label is
null when unknown (hidden-test corpora, unlabelled test lists): a split
without labels yields ``None`` rather than an error, and the figures say "no
labels" for it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ahrec.evaluation.evaluate import evaluate

LABELLED_SPLITS = ("val", "test")
SPLIT_ORDER = ("train", "val", "test", "hidden")
KINDS = ("unimodal", "fusion", "ablation", "ensemble")


def with_labels(predictions: pd.DataFrame, manifest: pd.DataFrame) -> pd.DataFrame:
    """Predictions joined with the manifest's labels (nullable ``label`` column).

    The split comes from the manifest too: a prediction table is written by a
    model, the manifest is the corpus' own word on where a video belongs.
    """
    truth = manifest.set_index("video_id")[["split", "label"]]
    frame = predictions.drop(columns=["split"], errors="ignore").join(truth, on="video_id")
    frame["label"] = frame["label"].astype("Int8")
    return frame


def labelled_rows(frame: pd.DataFrame, split: str) -> pd.DataFrame:
    """The rows of ``split`` whose label is known."""
    rows = frame[(frame["split"] == split) & frame["label"].notna()]
    return rows


def confusion_counts(frame: pd.DataFrame, split: str) -> np.ndarray | None:
    """2x2 counts (rows: true class 0/1, columns: predicted 0/1); None without labels."""
    rows = labelled_rows(frame, split)
    if rows.empty:
        return None
    truth = rows["label"].astype(int).to_numpy()
    predicted = rows["prediction"].astype(int).to_numpy()
    counts = np.zeros((2, 2), dtype=int)
    np.add.at(counts, (truth, predicted), 1)
    return counts


@dataclass(frozen=True)
class Curves:
    """ROC and precision-recall curves of one labelled split, scored by P(A/H)."""

    split: str
    n: int
    positives: int
    fpr: np.ndarray
    tpr: np.ndarray
    roc_auc: float
    recall: np.ndarray
    precision: np.ndarray
    average_precision: float


def curves(frame: pd.DataFrame, split: str) -> Curves | str:
    """The split's ROC and PR curves, or why there are none ("no labels", "one class only").

    Both curves need both classes among the labelled videos: a tiny or
    unlabelled split gets a reason string, which the figure prints instead of
    a curve.
    """
    from sklearn.metrics import auc, average_precision_score, precision_recall_curve, roc_curve

    rows = labelled_rows(frame, split)
    if rows.empty:
        return "no labels"
    truth = rows["label"].astype(int).to_numpy()
    if len(set(truth.tolist())) < 2:
        return "one class only"
    score = rows["proba_1"].astype(float).to_numpy()
    fpr, tpr, _ = roc_curve(truth, score)
    precision, recall, _ = precision_recall_curve(truth, score)
    return Curves(
        split=split,
        n=int(truth.size),
        positives=int(truth.sum()),
        fpr=fpr,
        tpr=tpr,
        roc_auc=float(auc(fpr, tpr)),
        recall=recall,
        precision=precision,
        average_precision=float(average_precision_score(truth, score)),
    )


def seed_scores(
    runs: Sequence[Mapping[str, object]],
    predictions: Mapping[tuple[str, str], pd.DataFrame],
    manifest: pd.DataFrame,
) -> pd.DataFrame:
    """One row per run, member (each seed, then the ensemble) and labelled split: MF1 in %.

    ``predictions`` maps (run, member) to a prediction table, member being
    ``seed<k>`` or ``ensemble``. The metric is the metrics step's own
    (``ahrec.evaluation.evaluate.evaluate``), so a seed's number here equals
    what its metrics.json would say. A split without labels has no rows.
    """
    rows = []
    for run in runs:
        name = str(run["run"])
        for member, frame in ((m, f) for (r, m), f in predictions.items() if r == name):
            metrics = evaluate(frame, manifest)
            for split in LABELLED_SPLITS:
                mf1 = metrics[split]["mf1"]
                if mf1 is None:
                    continue
                rows.append(
                    {
                        "run": name,
                        "label": str(run.get("label", name)),
                        "member": member,
                        "split": split,
                        "mf1": round(100.0 * mf1, 2),
                    }
                )
    return pd.DataFrame(rows, columns=["run", "label", "member", "split", "mf1"])


def short_reason(reason: object) -> str:
    """A reason's kind, for grouping: the text before the first colon.

    ``unreadable: moov atom not found`` and ``unreadable: no video stream``
    are one bar segment ("unreadable"); the full text stays in
    results/availability.csv.
    """
    if not isinstance(reason, str) or not reason.strip():
        return ""
    return reason.split(":", 1)[0].strip()


def availability_counts(frame: pd.DataFrame) -> pd.DataFrame:
    """Videos per split, modality, encoder and status, from results/availability.csv.

    ``status`` is ``available`` for a video the encoder fully saw; otherwise
    the short reason. ``available`` stays true for a stand-in (a face
    embedding of whole frames when no face was found), false for a lost
    modality.
    """
    columns = ["split", "modality", "encoder", "available", "status", "videos"]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    status = frame["reason"].map(short_reason)
    available = frame["available"].astype(str).str.lower().isin(["true", "1"])
    status = status.where(status != "", np.where(available, "available", "unknown"))
    counts = (
        frame.assign(available=available, status=status)
        .groupby(["split", "modality", "encoder", "available", "status"], sort=False)
        .size()
        .rename("videos")
        .reset_index()
    )
    order = {split: i for i, split in enumerate(SPLIT_ORDER)}
    counts["_split"] = counts["split"].map(lambda s: order.get(s, len(order)))
    counts = counts.sort_values(["_split", "modality", "encoder", "status"], kind="stable")
    return counts.drop(columns="_split").reset_index(drop=True)[columns]
