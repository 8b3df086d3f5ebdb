"""Training labels without test labels, participant folds, the fold alignment map."""

import numpy as np
import pandas as pd
import pytest

from ahrec.training.labels import participant_folds, prior_proba, ridge_map, training_labels


@pytest.fixture()
def manifest():
    rows = []
    for split, participants in (("train", 7), ("val", 2), ("test", 2), ("hidden", 1)):
        for p in range(participants):
            for q in range(1 + p % 3):
                rows.append(
                    {
                        "video_id": f"{split}-p{p}-q{q}",
                        "split": split,
                        "participant": f"{split}{p}",
                        "label": None if split == "hidden" else (p + q) % 2,
                    }
                )
    frame = pd.DataFrame(rows)
    frame["label"] = frame["label"].astype("Int8")
    return frame


def test_training_labels_drop_test_and_hidden_labels_only(manifest):
    labels = training_labels(manifest)
    assert labels["label"][labels["split"].isin(["test", "hidden"])].isna().all()
    kept = labels[labels["split"].isin(["train", "val"])].set_index("video_id")["label"]
    original = manifest.set_index("video_id")["label"]
    assert (kept == original.loc[kept.index]).all()
    shuffled = manifest.copy()
    test = shuffled["split"] == "test"
    shuffled.loc[test, "label"] = 1 - shuffled.loc[test, "label"]
    pd.testing.assert_frame_equal(training_labels(shuffled), labels)


def test_folds_are_participant_disjoint_balanced_and_cover_train(manifest):
    labels = training_labels(manifest)
    folds = participant_folds(labels, 3, seed=1)
    assert len(folds) == 3
    train = labels[labels["split"] == "train"]
    participant = train.set_index("video_id")["participant"]
    heldout = [v for f in folds for v in f.heldout_ids]
    assert sorted(heldout) == sorted(train["video_id"])  # every training video once
    for fold in folds:
        assert set(fold.fit_ids) | set(fold.heldout_ids) == set(train["video_id"])
        assert not set(participant[fold.fit_ids]) & set(participant[fold.heldout_ids])
    sizes = [len(f.heldout_ids) for f in folds]
    assert max(sizes) - min(sizes) <= 2
    assert participant_folds(labels, 3, seed=1) == folds  # deterministic
    assert len(participant_folds(labels, 50, seed=1)) == 7  # at most one fold per participant
    one = labels[labels["participant"].isin(["train0", "val0"])]
    assert participant_folds(one, 5) == []


def test_ridge_map_recovers_an_affine_map():
    rng = np.random.default_rng(0)
    source = rng.normal(size=(200, 6))
    weight, bias = rng.normal(size=(6, 4)), rng.normal(size=4)
    mapped = ridge_map(source, source @ weight + bias, alpha=1e-6)
    np.testing.assert_allclose(mapped(source), source @ weight + bias, atol=1e-4)
    assert mapped(source).dtype == np.float32
    few = ridge_map(
        source[:3], (source @ weight)[:3], alpha=1.0
    )  # fewer rows than dims: still solvable
    assert np.isfinite(few(source)).all()
    with pytest.raises(ValueError):
        ridge_map(source[:3], source[:4])


def test_prior_is_smoothed_class_frequency():
    np.testing.assert_allclose(prior_proba([1, 1, 1, 0]), [2 / 6, 4 / 6], rtol=1e-6)
    np.testing.assert_allclose(prior_proba([]), [0.5, 0.5])
