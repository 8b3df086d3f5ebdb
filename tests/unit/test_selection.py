"""The selection protocol itself: which videos fit, select, are held out, refit on and counted."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

from ahrec.evaluation.settings import EvaluationSettings
from ahrec.training.labels import participant_folds
from ahrec.training.selection import (
    HeldOut,
    heldout_step,
    refit_epochs,
    run_selection,
    selection_plan,
    selection_predictions,
)

SPLIT = EvaluationSettings(folds=3)
CV = EvaluationSettings(selection="cv", folds=3)


def labels_frame() -> pd.DataFrame:
    """8 training participants (3 videos, one positive), 3 validation (2 each), test unlabelled."""
    rows = []
    for split, participants, videos in (("train", 8, 3), ("val", 3, 2), ("test", 2, 2)):
        for p in range(participants):
            for q in range(videos):
                label = (
                    pd.NA
                    if split == "test"
                    else (p + q) % 2
                    if split == "val"
                    else int((p + q) % 3 == 0)
                )
                rows.append((f"{split}-{p}-{q}", split, f"{split}{p}", label))
    frame = pd.DataFrame(rows, columns=["video_id", "split", "participant", "label"])
    frame["label"] = frame["label"].astype("Int8")
    return frame


def participant(video_id: str) -> str:
    return video_id.rsplit("-", 1)[0]


def test_split_fits_on_train_selects_on_val_and_counts_the_prior_on_train():
    plan = selection_plan(labels_frame(), SPLIT)
    assert not plan.cv and plan.folds == ()  # no out-of-fold outputs asked for
    assert plan.train == sorted(f"train-{p}-{q}" for p in range(8) for q in range(3))
    assert plan.val == sorted(f"val-{p}-{q}" for p in range(3) for q in range(2))
    assert plan.pool == plan.train and plan.final() == (plan.train, plan.val)
    assert plan.scored() == [(plan.train, plan.val)]
    # 8 of the 24 training videos are positive; the prior is Laplace-smoothed frequencies
    np.testing.assert_array_equal(plan.prior(), np.array([17, 9], np.float32) / 26)


def test_out_of_fold_folds_cover_the_training_split_by_participant_and_select_on_val():
    plan = selection_plan(labels_frame(), SPLIT, out_of_fold=True)
    assert len(plan.folds) == 3
    heldout = [v for fold in plan.folds for v in fold.heldout_ids]
    assert sorted(heldout) == plan.train  # each training video held out once, no val video
    for fold in plan.folds:
        assert not {participant(v) for v in fold.heldout_ids} & {
            participant(v) for v in fold.fit_ids
        }
        assert sorted(fold.fit_ids + fold.heldout_ids) == plan.train
        assert plan.select_of(fold) == plan.val
    assert selection_plan(labels_frame(), EvaluationSettings(folds=0), out_of_fold=True).folds == ()


def test_cv_holds_out_participant_folds_of_train_and_val_and_refits_on_both():
    labels = labels_frame()
    plan = selection_plan(labels, CV)
    pool = sorted(plan.train + plan.val)
    assert plan.cv and plan.pool == pool and plan.final() == (pool, [])
    assert list(plan.folds) == participant_folds(labels, 3, CV.fold_seed, ("train", "val"))
    assert sorted(v for fold in plan.folds for v in fold.heldout_ids) == pool
    assert all(plan.select_of(fold) == fold.heldout_ids for fold in plan.folds)
    assert plan.scored() == [(fold.fit_ids, fold.heldout_ids) for fold in plan.folds]
    # 8 + 3 positives among the 30 train + val videos
    np.testing.assert_array_equal(plan.prior(), np.array([20, 12], np.float32) / 32)


def test_usable_videos_reduce_the_folds_without_redrawing_them():
    """Every model of a run shares the folds: a model that cannot take some videos (the
    fusion's, without any modality) gets the same folds with those videos left out."""
    labels = labels_frame()
    unusable = {"train-0-0", "train-5-2", "val-1-1"}
    usable = set(labels["video_id"]) - unusable
    full, reduced = selection_plan(labels, CV), selection_plan(labels, CV, usable=usable)
    for a, b in zip(full.folds, reduced.folds, strict=True):
        assert b.number == a.number
        assert b.fit_ids == [v for v in a.fit_ids if v not in unusable]
        assert b.heldout_ids == [v for v in a.heldout_ids if v not in unusable]
    assert set(reduced.pool) == set(full.pool) - unusable
    # the prior counts the videos the model can take: 10 positives, 17 negatives
    np.testing.assert_array_equal(reduced.prior(), np.array([18, 11], np.float32) / 29)


def test_cv_without_two_participants_is_refused():
    labels = labels_frame()
    labels["participant"] = "everyone"
    with pytest.raises(ValueError, match="at least two participants"):
        selection_plan(labels, CV)
    # split selection still trains, its training embeddings in-sample (no folds)
    assert selection_plan(labels, SPLIT, out_of_fold=True).folds == ()


@dataclass
class Centroid:
    """A nearest-class-mean model on one feature; remembers what it fitted on."""

    seen: frozenset[str]
    means: np.ndarray
    epochs: int


def feature(video_id: str) -> float:
    return float(sum(map(ord, video_id)) % 7)


def test_run_selection_fits_in_the_protocols_order_and_collects_out_of_fold_outputs():
    labels = labels_frame()
    for evaluation in (SPLIT, CV):
        plan = selection_plan(labels, evaluation, out_of_fold=True)
        calls = []

        def fit(fit_ids, select_ids, settings, plan=plan, calls=calls):
            calls.append((list(fit_ids), list(select_ids), settings))
            y = np.array([plan.label_of[v] for v in fit_ids])
            x = np.array([feature(v) for v in fit_ids])
            means = np.array([x[y == c].mean() for c in (0, 1)])
            best = 2 + len(fit_ids) % 5  # a stand-in for the epoch early stopping keeps
            return Centroid(frozenset(fit_ids), means, settings or best), {"best_epoch": best}

        def predict(model, ids):
            assert not model.seen & set(ids), "a fold model predicted a video it fitted on"
            x = np.array([feature(v) for v in ids])[:, None]
            distance = np.abs(x - model.means[None, :])
            return (1.0 - distance / distance.sum(axis=1, keepdims=True)).astype(np.float32)

        selected = run_selection(
            plan,
            fit,
            heldout_step(fit, predict),
            lambda s: int(np.median([e["best_epoch"] for e in s])),
        )
        fold_calls = [(list(f.fit_ids), plan.select_of(f), None) for f in plan.folds]
        if evaluation.cv:
            epochs = sorted(2 + len(f.fit_ids) % 5 for f in plan.folds)[1]
            assert calls == [*fold_calls, (plan.pool, [], epochs)]  # folds, then the refit
            assert selected.refit == epochs and selected.model.epochs == epochs
        else:
            assert calls == [(plan.train, plan.val, None), *fold_calls]  # the model, then folds
            assert selected.refit is None
        assert [f.fold for f in selected.folds] == [0, 1, 2]
        assert sorted(v for f in selected.folds for v in f.ids) == sorted(
            plan.pool if evaluation.cv else plan.train
        )


def test_refit_epochs_is_the_median_of_the_folds_best_epochs():
    @dataclass(frozen=True)
    class Settings:
        epochs: int = 100
        lr: float = 0.1

    summaries = [{"best_epoch": 4}, {"best_epoch": 9}, {"best_epoch": 6}, {"best_epoch": 0}]
    assert refit_epochs(Settings(), summaries) == Settings(epochs=6)  # 0: never scored, left out
    assert refit_epochs(Settings(), [{"best_epoch": 3}, {"best_epoch": 4}]).epochs == 4
    assert refit_epochs(Settings(), []) == Settings()  # no fold: the configured epochs


def test_predictions_take_out_of_fold_rows_then_the_models_then_the_prior():
    ids = ["a", "b", "c", "d", "e"]
    model = {v: np.array([0.9, 0.1], np.float32) for v in ("a", "b", "c", "d")}
    folds = [
        HeldOut(0, ["a"], np.array([[0.2, 0.8]], np.float32), {"best_epoch": 1}),
        HeldOut(1, ["b"], skipped="one class"),  # not fitted: b keeps the model's
        HeldOut(2, ["c"], np.array([[0.4, 0.6]], np.float32), {"best_epoch": 1}),
    ]
    prior = np.array([0.25, 0.75], np.float32)
    frame = selection_predictions(
        ids, ["train"] * 4 + ["test"], [True] * 4 + [False], model, folds, prior
    ).set_index("video_id")
    assert frame["source"].tolist() == ["oof", "model", "oof", "model", "prior"]
    assert frame["fold"].tolist() == [0, -1, 2, -1, -1]
    assert frame["proba_1"].tolist() == [
        np.float32(0.8),
        np.float32(0.1),
        np.float32(0.6),
        np.float32(0.1),
        np.float32(0.75),
    ]
    assert frame["available"].tolist() == [True] * 4 + [False]
    assert frame["prediction"].tolist() == [1, 0, 1, 0, 1]


def test_a_folds_record_says_why_it_was_skipped_or_what_it_selected():
    fitted = HeldOut(1, ["a", "b"], None, {"best_epoch": 4, "best_val_mf1": 0.5, "history": [1]})
    assert fitted.record() == {"fold": 1, "heldout": 2, "best_epoch": 4, "best_val_mf1": 0.5}
    assert fitted.record(("best_epoch",)) == {"fold": 1, "best_epoch": 4}
    assert HeldOut(2, ["c"], skipped="one class").record() == {"fold": 2, "skipped": "one class"}
