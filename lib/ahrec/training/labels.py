"""The data the models learn from, and the only labels they may see.

``training_labels`` strips the labels of the test and hidden-test lists
before anything trains: every training and model-selection step reads that
table, never the manifest, so test labels cannot leak into a model even by
accident; only the final metrics step reads them. Shuffling the test labels
therefore leaves every prediction unchanged (a test proves it).

Out-of-fold embeddings: the fusion must not train on embeddings of videos the
unimodal model was trained on (stacking without out-of-fold predictions makes
its inputs over-confident). Train videos are split into folds grouped by
participant; each fold's videos are embedded by a model trained without them.
Hidden layers of models trained separately live in different coordinate
systems, so each fold model's embeddings are mapped into the full model's
space with a ridge regression fitted on videos both models embed (the fold's
own training videos and the validation videos; never test videos, never
labels).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ahrec.corpus.records import TRAINING_SPLITS
from ahrec.io import write_parquet

LOG = logging.getLogger(__name__)

LABEL_COLUMNS = ["video_id", "split", "participant", "label"]


def training_labels(manifest: pd.DataFrame) -> pd.DataFrame:
    """Manifest rows reduced to what training may see: test and hidden labels removed."""
    frame = manifest[LABEL_COLUMNS].copy()
    hidden = frame["split"].isin(["test", "hidden"])
    frame["label"] = frame["label"].astype("Int8")
    frame.loc[hidden, "label"] = pd.NA
    return frame.sort_values("video_id").reset_index(drop=True)


def training_rows(manifest: pd.DataFrame) -> pd.DataFrame:
    """The training labels of the videos models train and select on (train, val) only.

    The workflow's training jobs read this table: the test and hidden-test
    videos are not in it at all, so adding or removing one leaves it (and
    every model trained from it) unchanged; they are only predicted.
    """
    labels = training_labels(manifest)
    return labels.loc[labels["split"].isin(TRAINING_SPLITS)].reset_index(drop=True)


def training_fingerprint(manifest: pd.DataFrame) -> str:
    """A hash of ``training_rows``: the training-labels job reruns when, and only when, it changes."""
    encoded = training_rows(manifest).to_csv(index=False).encode("utf-8")
    return hashlib.sha256(encoded).hexdigest()


def write_training_labels(manifest_path: str | Path, out: str | Path) -> pd.DataFrame:
    """The training rows of a manifest file, written where every training job reads them."""
    from ahrec.corpus.manifest import read_manifest

    labels = training_rows(read_manifest(manifest_path))
    write_parquet(labels, out)
    LOG.info("%d training videos (train, val) with their labels", len(labels))
    return labels


def read_labels(path: str | Path) -> pd.DataFrame:
    frame = pd.read_parquet(path)
    frame["label"] = frame["label"].astype("Int8")
    return frame


@dataclass(frozen=True)
class Fold:
    """One out-of-fold split of the training videos."""

    number: int
    fit_ids: list[str]  # the fold model trains on these
    heldout_ids: list[str]  # and embeds these for the fusion


def participant_folds(
    labels: pd.DataFrame, k: int, seed: int = 0, splits: Sequence[str] = ("train",)
) -> list[Fold]:
    """``k`` folds of the labelled videos of ``splits``, grouped by participant.

    Participants are shuffled with ``seed`` and each goes to the fold with the
    fewest videos so far, so folds are balanced in size. Fewer than two
    participants give no folds. The assignment depends on the labelled
    videos, ``k`` and ``seed`` only: every model of a run, and every seed of
    the fusion, sees the same folds (cross-validated ensembles and stacking
    need that).
    """
    train = labels[labels["split"].isin(list(splits)) & labels["label"].notna()]
    participants = sorted(train["participant"].unique())
    k = min(k, len(participants))
    if k < 2:
        return []
    rng = np.random.default_rng(seed)
    order = [participants[i] for i in rng.permutation(len(participants))]
    counts = train.groupby("participant").size().to_dict()
    sizes = [0] * k
    members: list[list[str]] = [[] for _ in range(k)]
    for participant in order:
        target = int(np.argmin(sizes))
        members[target].append(participant)
        sizes[target] += counts[participant]
    folds = []
    for number, group in enumerate(members):
        heldout = train["participant"].isin(group)
        folds.append(
            Fold(
                number=number,
                fit_ids=sorted(train.loc[~heldout, "video_id"]),
                heldout_ids=sorted(train.loc[heldout, "video_id"]),
            )
        )
    return folds


@dataclass(frozen=True)
class LinearMap:
    """An affine map fitted by ridge regression: ``x @ weight + bias``."""

    weight: np.ndarray
    bias: np.ndarray

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return (np.asarray(x, np.float64) @ self.weight + self.bias).astype(np.float32)


def ridge_map(source: np.ndarray, target: np.ndarray, alpha: float = 1.0) -> LinearMap:
    """The affine map from ``source`` to ``target`` rows minimising squared error + alpha|W|^2.

    Solved in closed form on centred data (the bias is not penalised); with
    fewer rows than dimensions the ridge term keeps it well posed.
    """
    source = np.asarray(source, np.float64)
    target = np.asarray(target, np.float64)
    if source.shape[0] != target.shape[0] or source.shape[0] == 0:
        raise ValueError("ridge_map needs the same, non-zero number of source and target rows")
    source_mean, target_mean = source.mean(axis=0), target.mean(axis=0)
    xs, ys = source - source_mean, target - target_mean
    gram = xs.T @ xs + alpha * np.eye(xs.shape[1])
    weight = np.linalg.solve(gram, xs.T @ ys)
    return LinearMap(weight=weight, bias=target_mean - source_mean @ weight)


def prior_proba(labels: Sequence[int]) -> np.ndarray:
    """The class frequencies of the training labels: the prediction when no input exists."""
    counts = np.bincount(np.asarray(labels, dtype=int), minlength=2).astype(np.float64) + 1.0
    return (counts / counts.sum()).astype(np.float32)
