"""Probability metrics with their intervals, calibration maps fitted on held-out training data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

from ahrec.config import load_config, load_settings
from ahrec.corpus.manifest import write_manifest
from ahrec.devtools.manifests import manifest_frame
from ahrec.devtools.runs import REPO
from ahrec.errors import ConfigError
from ahrec.evaluation.bootstrap import paired_difference, participant_resamples
from ahrec.evaluation.calibration import (
    CalibrationMap,
    best_threshold,
    fit_calibration,
    fit_system_calibration,
    read_calibration,
    write_calibration,
)
from ahrec.evaluation.probability import (
    bootstrap_probability,
    probability_metrics,
    reliability_bins,
    weighted_metrics,
)
from ahrec.evaluation.settings import CalibrationSettings, EvaluationSettings
from ahrec.evaluation.submission import submission
from ahrec.training.predictions import predictions_frame, write_predictions


def _overconfident(n: int, seed: int, slope: float = 3.0, shift: float = 0.0):
    """Labels and P(A/H) whose log-odds are ``slope`` times the true ones (plus ``shift``)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    true = (2 * y - 1) * 1.0 + rng.normal(0, 1.5, n)
    return y, 1 / (1 + np.exp(-(slope * true + shift)))


def test_the_metrics_are_sklearns_with_ties_and_weights_as_repeated_videos():
    rng = np.random.default_rng(0)
    for _ in range(100):
        n = int(rng.integers(4, 50))
        y = rng.integers(0, 2, n)
        y[:2] = [0, 1]
        p = np.round(rng.random(n), 1)  # many ties
        m = probability_metrics(y, p)
        assert m["auroc"] == pytest.approx(roc_auc_score(y, p), abs=1e-12)
        assert m["ap"] == pytest.approx(average_precision_score(y, p), abs=1e-12)
        assert m["brier"] == pytest.approx(brier_score_loss(y, p), abs=1e-12)
        w = rng.integers(1, 4, n)
        weighted = weighted_metrics(y, p, w.astype(float))
        assert weighted["auroc"] == pytest.approx(roc_auc_score(np.repeat(y, w), np.repeat(p, w)))
        assert weighted["ap"] == pytest.approx(
            average_precision_score(np.repeat(y, w), np.repeat(p, w))
        )


def test_the_ece_is_the_count_weighted_gap_per_bin():
    y = np.array([1, 0, 0, 1, 1, 1])
    p = np.array([0.05, 0.15, 0.12, 0.95, 0.91, 0.99])
    # bin 0: mean p 0.05, share 1 (gap 0.95, 1 video); bin 1: mean 0.135, share 0 (2 videos);
    # bin 9: mean 0.95, share 1 (3 videos)
    expected = (0.95 * 1 + 0.135 * 2 + 0.05 * 3) / 6
    assert probability_metrics(y, p)["ece"] == pytest.approx(expected)
    bins = reliability_bins(y, p)
    assert [b["n"] for b in bins] == [1, 2, 3] and bins[1]["share_ah"] == 0.0
    assert probability_metrics([1, 1], [0.2, 0.7])["auroc"] is None  # one class: undefined


def test_the_intervals_share_the_mf1_resamples_and_compare_pairwise():
    y, p = _overconfident(120, 1)
    participants = np.repeat([f"p{i}" for i in range(40)], 3)
    resamples = participant_resamples(participants, 500, 0)
    estimates = bootstrap_probability(y, p, participants, resamples)
    for name, estimate in estimates.items():
        assert estimate.low <= estimate.value <= estimate.high, name
        assert estimate.samples.shape == (500,)
    same = paired_difference(estimates["ece"], estimates["ece"])
    assert same.value == 0 and same.p_value == 1.0
    with pytest.raises(ValueError, match="not in the resampled set"):
        bootstrap_probability(y[:3], p[:3], ["x", "y", "z"], resamples)
    with pytest.raises(ValueError, match=r"in \[0, 1\]"):
        bootstrap_probability(y[:3], [0.1, 1.5, 0.2], participants[:3], resamples)


def test_temperature_scaling_recovers_the_overconfidence_and_keeps_every_label():
    y, p = _overconfident(600, 2, slope=3.0)
    fitted = fit_calibration(y, p, CalibrationSettings())
    assert fitted.method == "temperature" and fitted.a == pytest.approx(1 / 3, abs=0.08)
    calibrated = fitted.apply(p)
    assert ((calibrated > 0.5) == (p > 0.5)).all()
    assert np.array_equal(fitted.labels((p > 0.5).astype(int), calibrated), (p > 0.5).astype(int))
    held_y, held_p = _overconfident(2000, 3, slope=3.0)  # the same model on other videos
    before = probability_metrics(held_y, held_p)
    after = probability_metrics(held_y, fitted.apply(held_p))
    assert after["ece"] < before["ece"] / 2 and after["brier"] < before["brier"]


def test_platt_corrects_a_shifted_boundary_and_isotonic_needs_enough_videos():
    y, p = _overconfident(600, 4, slope=1.0, shift=1.5)
    platt = fit_calibration(y, p, CalibrationSettings(method="platt"))
    assert platt.b == pytest.approx(-1.5, abs=0.4)
    assert platt.fitted["after"]["ece"] < platt.fitted["before"]["ece"]
    few = fit_calibration(y[:50], p[:50], CalibrationSettings(method="isotonic"))
    assert few.method == "platt" and "isotonic needs 200" in few.fitted["reason"]
    iso = fit_calibration(y, p, CalibrationSettings(method="isotonic"))
    assert iso.method == "isotonic" and np.all(np.diff(iso.apply(np.linspace(0, 1, 50))) >= 0)
    one_class = fit_calibration(np.ones(10), np.full(10, 0.7), CalibrationSettings())
    assert one_class.method == "none" and np.allclose(one_class.apply([0.7]), [0.7])


def test_the_validation_threshold_is_the_best_mf1_nearest_one_half():
    y = np.array([0, 0, 0, 1, 1, 1])
    p = np.array([0.1, 0.2, 0.62, 0.65, 0.8, 0.9])
    assert best_threshold(y, p) == pytest.approx((0.62 + 0.65) / 2)
    fitted = fit_calibration(y, p, CalibrationSettings(method="none", threshold="validation"))
    assert fitted.labels(np.zeros(6, int), p).tolist() == y.tolist()


def test_a_map_round_trips_and_a_hostile_one_is_refused(tmp_path):
    y, p = _overconfident(300, 5)
    fitted = fit_calibration(y, p, CalibrationSettings(method="isotonic", isotonic_min=10))
    write_calibration(fitted, tmp_path / "calibration.json", run="fusion")
    again = read_calibration(tmp_path / "calibration.json")
    assert again == fitted and np.array_equal(again.apply(p), fitted.apply(p))
    for bad, message in (
        ({"method": "magic"}, "method"),
        ({"method": "platt", "a": -1.0}, "positive slope"),
        ({"method": "platt", "a": float("nan")}, "finite"),
        ({"method": "isotonic", "x": [0.5, 0.1], "y": [0.1, 0.2]}, "ascending"),
        ({"method": "isotonic", "x": [0.1], "y": [2.0]}, "ascending"),
        ({"method": "none", "threshold": 1.5}, "threshold"),
        ({"method": "none", "x": "abc"}, "lists"),
    ):
        with pytest.raises(ValueError, match=message):
            CalibrationMap.from_dict(bad)


def _predictions(n_per_split: int = 60, seed: int = 6) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    splits = ["train"] * n_per_split + ["val"] * n_per_split + ["test"] * n_per_split
    y, p = _overconfident(len(splits), seed)
    ids = [f"v{i:03d}" for i in range(len(splits))]
    frame = predictions_frame(
        ids,
        splits,
        np.stack([1 - p, p], axis=1),
        np.ones(len(ids), bool),
        ["model"] * len(ids),
        rng.integers(0, 3, len(ids)),
    )
    labels = pd.DataFrame({"video_id": ids, "split": splits, "label": y})
    return frame, labels


def test_a_systems_map_reads_validation_or_out_of_fold_rows_and_never_a_test_label():
    frame, labels = _predictions()
    settings = CalibrationSettings()
    split = fit_system_calibration(frame, labels, EvaluationSettings(), settings)
    assert split.fitted["videos"] == 60 and split.fitted["rows"] == "validation"
    cv = fit_system_calibration(frame, labels, EvaluationSettings(selection="cv"), settings)
    assert cv.fitted["videos"] == 120 and "out-of-fold" in cv.fitted["rows"]
    shuffled = labels.copy()
    test = shuffled["split"] == "test"
    shuffled.loc[test, "label"] = 1 - shuffled.loc[test, "label"]
    assert fit_system_calibration(frame, shuffled, EvaluationSettings(), settings) == split


def test_the_submission_carries_the_calibrated_probability_and_the_raw_one_beside_it(tmp_path):
    frame, labels = _predictions()
    write_predictions(frame, tmp_path / "predictions.parquet")
    manifest = manifest_frame(
        [
            {
                "video_id": v,
                "video_path": f"{s}/{v}.mp4",
                "list_order": i,
                "split": s,
                "label": int(y),
                "participant": f"p{i // 3}",
            }
            for i, (v, s, y) in enumerate(
                zip(labels["video_id"], labels["split"], labels["label"], strict=True)
            )
        ]
    )
    write_manifest(manifest, tmp_path / "manifest.parquet")
    fitted = fit_system_calibration(frame, labels, EvaluationSettings(), CalibrationSettings())
    write_calibration(fitted, tmp_path / "calibration.json")

    def submit(name: str, calibration: str, header: bool = True) -> pd.DataFrame:
        return submission(
            tmp_path / "predictions.parquet",
            tmp_path / "manifest.parquet",
            "test",
            tmp_path / name,
            header=header,
            calibration=tmp_path / calibration,
        )

    table = submit("submission.csv", "calibration.json")
    raw = frame.set_index("video_id").loc[labels.loc[labels["split"] == "test", "video_id"]]
    assert list(table.columns) == [
        "video_path",
        "label",
        "prob_no_ah",
        "prob_ah",
        "prob_ah_uncalibrated",
    ]
    np.testing.assert_allclose(table["prob_ah_uncalibrated"], raw["proba_1"], atol=1e-6)
    np.testing.assert_allclose(table["prob_ah"], fitted.apply(raw["proba_1"]), atol=1e-6)
    np.testing.assert_allclose(table["prob_ah"] + table["prob_no_ah"], 1.0, atol=2e-6)
    assert table["label"].tolist() == raw["prediction"].tolist()  # temperature keeps labels
    challenge = submit("challenge.csv", "calibration.json", header=False)
    assert len(challenge.columns) == 4
    write_calibration(CalibrationMap(method="none", threshold=0.9), tmp_path / "strict.json")
    strict = submit("strict.csv", "strict.json")
    assert strict["label"].tolist() == (raw["proba_1"] >= 0.9).astype(int).tolist()


def test_the_calibration_section_is_validated_and_its_defaults_filled():
    settings = load_settings(load_config(REPO / "config.yaml"))
    assert settings.calibration == CalibrationSettings()
    assert settings.config["calibration"]["method"] == "temperature"
    config = load_config(REPO / "config.yaml")
    config["calibration"] = {"method": "magic", "bins": 1}
    with pytest.raises(ConfigError) as error:
        load_settings(config)
    assert "calibration.method" in str(error.value) and "calibration.bins" in str(error.value)
