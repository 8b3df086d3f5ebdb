"""Participant bootstrap of macro F1: the metric, the resamples, intervals and comparisons."""

import numpy as np
import pytest
from scipy import stats
from sklearn.metrics import confusion_matrix, f1_score

from ahrec.evaluation.bootstrap import (
    Estimate,
    bootstrap_mf1,
    confusion_by_participant,
    fold_interval,
    mf1_from_confusion,
    paired_difference,
    participant_resamples,
    seed_spread,
)


def sklearn_mf1(y, yhat) -> float:
    return float(f1_score(y, yhat, average="macro", labels=[0, 1], zero_division=0))


def confusion_row(y, yhat) -> np.ndarray:
    return confusion_matrix(y, yhat, labels=[0, 1]).ravel()


def width(interval) -> float:
    return interval.high - interval.low


def simulated_split(
    rng: np.random.Generator, n_participants: int, videos: tuple[int, int], spread: float
):
    """Labels with participant-level tendencies and a per-participant accuracy.

    ``spread`` sets how much participants differ in how easy they are: 0 makes
    every video an independent coin with the same accuracy, large values make a
    participant's videos right or wrong together.
    """
    labels, participants, correct_p = [], [], []
    for j in range(n_participants):
        k = int(rng.integers(videos[0], videos[1] + 1))
        tendency = rng.beta(2, 2)
        easy = 1 / (1 + np.exp(-(1.0 + spread * rng.normal())))
        labels.extend(rng.random(k) < tendency)
        participants.extend([f"P{j:03d}"] * k)
        correct_p.extend([easy] * k)
    return np.array(labels, dtype=int), participants, np.array(correct_p)


def predict(rng, labels, correct_p) -> np.ndarray:
    right = rng.random(labels.size) < correct_p
    return np.where(right, labels, 1 - labels)


# --- the metric ----------------------------------------------------------------


@pytest.mark.slow
def test_mf1_matches_sklearn_on_random_and_degenerate_data():
    rng = np.random.default_rng(0)
    cases = []
    for n in (1, 2, 3, 5, 20, 137):
        for _ in range(30):
            cases.append((rng.integers(0, 2, n), rng.integers(0, 2, n)))
    cases += [
        ([0, 0, 0], [0, 0, 0]),  # one class only, all right
        ([1, 1, 1], [1, 1, 1]),
        ([0, 0, 0], [1, 1, 1]),  # one class only, all wrong
        ([1, 1], [0, 0]),
        ([0, 1, 0, 1], [1, 1, 1, 1]),  # all predictions one class
        ([0, 1, 1, 1], [0, 0, 0, 0]),
        ([0], [1]),
        ([1], [1]),
    ]
    rows = []
    for y, yhat in cases:
        row = confusion_row(y, yhat)
        rows.append(row)
        assert float(mf1_from_confusion(row)) == sklearn_mf1(y, yhat), (y, yhat)
    # Vectorised over leading axes, same values.
    stacked = np.array(rows[:60]).reshape(3, 20, 4)
    expected = [sklearn_mf1(*case) for case in cases[:60]]
    assert mf1_from_confusion(stacked).shape == (3, 20)
    assert mf1_from_confusion(stacked).ravel().tolist() == expected


def test_mf1_of_nothing_is_nan_and_bad_shapes_are_refused():
    assert np.isnan(mf1_from_confusion(np.zeros(4)))
    values = mf1_from_confusion(np.array([[0, 0, 0, 0], [1, 0, 0, 1]]))
    assert np.isnan(values[0]) and values[1] == 1.0
    with pytest.raises(ValueError, match="last axis of 4"):
        mf1_from_confusion(np.zeros((2, 3)))


# --- resamples -----------------------------------------------------------------


def test_resamples_depend_only_on_the_participant_set_size_and_seed():
    ids = [f"P{i}" for i in range(12)]
    videos = [p for p in ids for _ in range(3)]  # duplicates, one per video
    shuffled = list(np.random.default_rng(5).permutation(videos))
    a = participant_resamples(ids, 500, seed=7)
    b = participant_resamples(shuffled, 500, seed=7)
    assert a.participants == b.participants == tuple(sorted(ids))
    np.testing.assert_array_equal(a.counts, b.counts)
    assert a.counts.dtype == np.int32 and a.counts.shape == (500, 12)
    assert (a.counts.sum(axis=1) == 12).all()  # P draws with replacement
    assert a.n == 500 and a.seed == 7
    assert not np.array_equal(a.counts, participant_resamples(ids, 500, seed=8).counts)
    # The first resamples do not change with the number of resamples asked for.
    np.testing.assert_array_equal(participant_resamples(ids, 100, seed=7).counts, a.counts[:100])
    # The draw is the documented one.
    drawn = np.random.default_rng(7).integers(0, 12, size=(500, 12))
    for b_ in (0, 1, 499):
        np.testing.assert_array_equal(a.counts[b_], np.bincount(drawn[b_], minlength=12))


def test_resamples_refuse_a_bad_size_or_a_bare_string():
    with pytest.raises(ValueError, match="positive integer"):
        participant_resamples(["a"], 0, seed=0)
    with pytest.raises(TypeError):
        participant_resamples("abc", 10, seed=0)
    empty = participant_resamples([], 5, seed=0)
    assert empty.participants == () and empty.counts.shape == (5, 0)


def test_a_resample_equals_the_drawn_participants_videos_scored_directly():
    rng = np.random.default_rng(1)
    labels, participants, correct_p = simulated_split(rng, 25, (1, 5), spread=1.0)
    predictions = predict(rng, labels, correct_p)
    resamples = participant_resamples(participants, 50, seed=3)
    confusion = confusion_by_participant(labels, predictions, participants, resamples.participants)
    estimate = bootstrap_mf1(labels, predictions, participants, resamples)
    owner = np.array(participants)
    for b in (0, 17, 49):
        drawn = [
            p
            for p, times in zip(resamples.participants, resamples.counts[b], strict=True)
            for _ in range(times)
        ]
        mask_per_draw = [owner == p for p in drawn]
        y = np.concatenate([labels[m] for m in mask_per_draw])
        yhat = np.concatenate([predictions[m] for m in mask_per_draw])
        np.testing.assert_array_equal(resamples.counts[b] @ confusion, confusion_row(y, yhat))
        assert estimate.samples[b] == sklearn_mf1(y, yhat)


# --- per-participant confusion ---------------------------------------------------


def test_confusion_by_participant_counts_in_order_with_zeros_for_absent():
    labels = [0, 0, 1, 1, 1, 0]
    predictions = [0, 1, 0, 1, 1, 0]
    participants = ["b", "a", "b", "b", "a", "a"]
    confusion = confusion_by_participant(labels, predictions, participants, ["a", "c", "b"])
    np.testing.assert_array_equal(confusion, [[1, 1, 0, 1], [0, 0, 0, 0], [1, 0, 1, 1]])


def test_confusion_by_participant_names_unknown_participants_and_bad_inputs():
    with pytest.raises(ValueError, match="stranger"):
        confusion_by_participant([0, 1], [0, 1], ["a", "stranger"], ["a"])
    with pytest.raises(ValueError, match="length"):
        confusion_by_participant([0, 1], [0], ["a", "a"], ["a"])
    with pytest.raises(ValueError, match="0 or 1"):
        confusion_by_participant([0, 2], [0, 1], ["a", "a"], ["a"])
    with pytest.raises(ValueError, match="more than once"):
        confusion_by_participant([0], [0], ["a"], ["a", "a"])


# --- estimates -------------------------------------------------------------------


def test_perfect_classifier_has_a_degenerate_interval_at_one():
    rng = np.random.default_rng(2)
    labels, participants, _ = simulated_split(rng, 30, (1, 4), spread=1.0)
    resamples = participant_resamples(participants, 300, seed=0)
    estimate = bootstrap_mf1(labels, labels, participants, resamples)
    assert estimate.value == estimate.low == estimate.high == 1.0
    assert estimate.n_videos == labels.size and estimate.n_participants == 30
    assert estimate.samples.shape == (300,)


def test_estimate_matches_sklearn_and_brackets_the_value():
    rng = np.random.default_rng(4)
    labels, participants, correct_p = simulated_split(rng, 60, (1, 5), spread=1.0)
    predictions = predict(rng, labels, correct_p)
    resamples = participant_resamples(participants, 1000, seed=0)
    estimate = bootstrap_mf1(labels, predictions, participants, resamples)
    assert estimate.value == sklearn_mf1(labels, predictions)
    assert estimate.low < estimate.value < estimate.high
    low, high = np.quantile(estimate.samples, [0.025, 0.975], method="linear")
    assert (estimate.low, estimate.high) == (low, high)
    narrower = bootstrap_mf1(labels, predictions, participants, resamples, level=0.5)
    assert estimate.low < narrower.low < narrower.high < estimate.high


def test_empty_split_gives_an_empty_estimate_and_difference():
    resamples = participant_resamples(["a", "b"], 100, seed=0)
    empty = bootstrap_mf1([], [], [], resamples)
    assert (empty.value, empty.low, empty.high, empty.n_videos, empty.n_participants) == (
        None,
        None,
        None,
        0,
        0,
    )
    assert empty.samples.size == 0
    full = bootstrap_mf1([0, 1], [0, 1], ["a", "b"], resamples)
    for difference in (paired_difference(empty, full), paired_difference(full, empty)):
        assert (difference.value, difference.low, difference.high, difference.p_value) == (
            None,
            None,
            None,
            None,
        )
        assert difference.significant is False


def test_participants_without_videos_are_drawn_but_contribute_nothing():
    # A subset of the split: some resamples may draw only participants without
    # videos here; they have no MF1 and are left out of the interval.
    resamples = participant_resamples(["a", "b", "c"], 400, seed=0)
    estimate = bootstrap_mf1([1, 0], [1, 1], ["a", "a"], resamples)
    assert estimate.n_participants == 1 and estimate.n_videos == 2
    undefined = resamples.counts[:, 0] == 0
    assert undefined.any()
    assert np.isnan(estimate.samples[undefined]).all()
    assert not np.isnan(estimate.samples[~undefined]).any()
    assert estimate.low == estimate.high == estimate.value == sklearn_mf1([1, 0], [1, 1])


# --- paired differences ------------------------------------------------------------


def test_a_system_against_itself_differs_by_exactly_zero():
    rng = np.random.default_rng(6)
    labels, participants, correct_p = simulated_split(rng, 40, (1, 5), spread=1.0)
    predictions = predict(rng, labels, correct_p)
    resamples = participant_resamples(participants, 1000, seed=0)
    a = bootstrap_mf1(labels, predictions, participants, resamples)
    b = bootstrap_mf1(labels, predictions.copy(), participants, resamples)
    difference = paired_difference(a, b)
    assert difference.value == difference.low == difference.high == 0.0
    assert difference.p_value == 1.0
    assert difference.significant is False


def test_a_clearly_better_system_is_significantly_better():
    rng = np.random.default_rng(8)
    labels, participants, _ = simulated_split(rng, 80, (2, 6), spread=0.5)
    good = predict(rng, labels, np.full(labels.size, 0.9))
    poor = predict(rng, labels, np.full(labels.size, 0.6))
    resamples = participant_resamples(participants, 2000, seed=0)
    a = bootstrap_mf1(labels, good, participants, resamples)
    b = bootstrap_mf1(labels, poor, participants, resamples)
    difference = paired_difference(a, b)
    assert difference.value == pytest.approx(a.value - b.value)
    assert 0 < difference.low < difference.value < difference.high
    assert difference.significant is True
    assert difference.p_value == pytest.approx(2 / 2001)  # no resample at or below 0
    reverse = paired_difference(b, a)
    assert reverse.high < 0 and reverse.significant and reverse.p_value == difference.p_value


def test_p_value_formula_on_known_samples():
    zeros = np.zeros(10)
    d = np.array([-0.1, -0.05, 0.0, 0.02, 0.03, 0.04, 0.05, 0.06, 0.07, 0.08])
    a = Estimate(0.05, None, None, 10, 10, d)
    b = Estimate(0.0, None, None, 10, 10, zeros)
    difference = paired_difference(a, b)
    # #(d <= 0) = 3, #(d >= 0) = 8: p = 2 * (1 + 3) / 11
    assert difference.p_value == pytest.approx(8 / 11)
    assert difference.value == 0.05 and difference.significant is False


def test_estimates_from_different_resample_sizes_are_refused():
    labels, participants = [0, 1, 1], ["a", "b", "c"]
    a = bootstrap_mf1(labels, labels, participants, participant_resamples(participants, 10, 0))
    b = bootstrap_mf1(labels, labels, participants, participant_resamples(participants, 20, 0))
    with pytest.raises(ValueError, match="same resamples"):
        paired_difference(a, b)


def test_pairing_narrows_the_interval_of_a_difference():
    # Two realistic systems: B is A with a modest share of its predictions changed,
    # so both are right or wrong on mostly the same (easy or hard) participants.
    rng = np.random.default_rng(10)
    labels, participants, correct_p = simulated_split(rng, 120, (1, 5), spread=1.5)
    a_predictions = predict(rng, labels, correct_p)
    changed = rng.random(labels.size) < 0.15
    b_predictions = np.where(
        changed, predict(rng, labels, np.full(labels.size, 0.6)), a_predictions
    )
    shared = participant_resamples(participants, 2000, seed=0)
    a = bootstrap_mf1(labels, a_predictions, participants, shared)
    b = bootstrap_mf1(labels, b_predictions, participants, shared)
    paired = paired_difference(a, b)
    # Unpaired: each system's interval from its own independent resamples.
    other = participant_resamples(participants, 2000, seed=1)
    b_alone = bootstrap_mf1(labels, b_predictions, participants, other)
    unpaired = paired_difference(a, b_alone)
    assert unpaired.value == paired.value
    assert width(paired) < 0.6 * width(unpaired)
    # Also narrower than the usual "independent intervals" approximation.
    assert width(paired) < 0.6 * np.hypot(width(a), width(b_alone))


def test_clustered_videos_give_a_wider_interval_than_independent_ones():
    # Participants differ strongly in difficulty, so a participant's videos are
    # right or wrong together: there is less information than the video count says.
    rng = np.random.default_rng(12)
    labels, participants, correct_p = simulated_split(rng, 60, (4, 8), spread=3.0)
    predictions = predict(rng, labels, correct_p)
    grouped = bootstrap_mf1(
        labels, predictions, participants, participant_resamples(participants, 2000, seed=0)
    )
    singletons = [f"V{i}" for i in range(labels.size)]
    independent = bootstrap_mf1(
        labels, predictions, singletons, participant_resamples(singletons, 2000, seed=0)
    )
    assert grouped.value == independent.value
    assert width(grouped) > 1.4 * width(independent)


# --- folds and seeds -------------------------------------------------------------


def test_fold_interval_is_a_student_t_interval():
    values = [0.61, 0.58, 0.66, 0.63, 0.55]
    mean, low, high = fold_interval(values)
    half = stats.t.ppf(0.975, 4) * np.std(values, ddof=1) / np.sqrt(5)
    assert mean == pytest.approx(np.mean(values))
    assert (low, high) == pytest.approx((mean - half, mean + half))
    _, low90, high90 = fold_interval(values, level=0.9)
    assert low < low90 < high90 < high
    assert fold_interval([0.7]) == (0.7, None, None)
    assert fold_interval([]) == (None, None, None)
    with pytest.raises(ValueError, match="finite"):
        fold_interval([0.5, float("nan")])


def test_seed_spread_is_mean_and_sample_sd():
    assert seed_spread([0.5, 0.7]) == pytest.approx((0.6, np.std([0.5, 0.7], ddof=1)))
    assert seed_spread([0.5]) == (0.5, None)
    assert seed_spread([]) == (None, None)
