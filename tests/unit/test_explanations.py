"""Per-video explanations: each modality's contribution by masking it, checked by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from ahrec.evaluation.calibration import CalibrationMap
from ahrec.fusion.data import FusionData
from ahrec.fusion.explain import explain_ensemble
from ahrec.fusion.late import LateFusionModel
from ahrec.fusion.model import FusionModel, predict_fusion
from ahrec.fusion.params import FusionParams
from ahrec.reporting.explanations import explanations_html, mean_absolute_contributions

MODALITIES = ["face", "scene", "audio"]
PRIOR = [0.6, 0.4]


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _data(logodds: np.ndarray, mask: np.ndarray) -> FusionData:
    ids = [f"v{i}" for i in range(len(logodds))]
    return FusionData(
        video_ids=ids,
        splits=["test"] * len(ids),
        labels=[-1] * len(ids),
        modalities=list(MODALITIES),
        vectors={m: logodds[:, [j]].astype(np.float32) for j, m in enumerate(MODALITIES)},
        mask=mask,
    )


def _late(weights: list[float], bias: float) -> LateFusionModel:
    model = LateFusionModel(dict.fromkeys(MODALITIES, 1), FusionParams(method="logreg"))
    with torch.no_grad():
        model.weight.copy_(torch.tensor(weights))
        model.bias.copy_(torch.tensor([bias]))
    return model.eval()


LOGODDS = np.array([[2.0, -0.5, 0.3], [-1.0, 0.2, -2.0], [1.5, 0.0, 0.0], [0.0, 0.0, 0.0]])
MASK = np.array(
    [[True, True, True], [True, False, True], [True, False, False], [False, False, False]]
)


def test_a_contribution_is_the_calibrated_change_masking_the_modality_makes():
    w, b = np.array([1.0, 0.5, 2.0]), -0.2
    calibration = CalibrationMap(method="platt", a=0.5, b=0.1)
    explained = explain_ensemble([_late(list(w), b)], _data(LOGODDS, MASK), PRIOR, calibration)

    def calibrated(z: np.ndarray) -> np.ndarray:
        return calibration.apply(_sigmoid(z))

    present = np.where(MASK, LOGODDS, 0.0)
    full = calibrated(present @ w + b)
    np.testing.assert_allclose(explained.calibrated[:3], full[:3], atol=1e-5)
    # video 0: every modality present; masking m removes its term
    for j in range(3):
        without = calibrated(present[0] @ w + b - present[0, j] * w[j])
        assert explained.contributions[0, j] == pytest.approx(full[0] - without, abs=1e-5)
    # video 1 lacks scene: it contributes exactly 0
    assert explained.contributions[1, 1] == 0.0
    # video 2 has the face alone: masking it leaves the prior
    prior_calibrated = calibration.apply(np.array([PRIOR[1]]))[0]
    assert explained.contributions[2, 0] == pytest.approx(full[2] - prior_calibrated, abs=1e-5)
    assert (explained.contributions[2, 1:] == 0).all()
    # video 3 has nothing: the prior, and no contribution at all
    assert explained.proba[3, 1] == pytest.approx(PRIOR[1])
    assert (explained.contributions[3] == 0).all()
    frame = explained.frame()
    assert (
        frame.loc[3, "top_modality"] == ""
        and frame.loc[3, "missing_modalities"] == "face;scene;audio"
    )
    assert frame.loc[1, "missing_modalities"] == "scene"
    # the top modality pushes hardest towards the video's own label
    toward = explained.contributions[0] * (1 if explained.labels[0] else -1)
    assert frame.loc[0, "top_modality"] == MODALITIES[int(np.argmax(toward))]
    assert frame["prototype_similarity_ah"].isna().all()


def test_the_ensemble_is_explained_as_it_predicts_the_mean_of_its_seeds():
    seeds = [_late([1.0, 0.5, 2.0], -0.2), _late([0.2, 1.5, 0.1], 0.3)]
    data = _data(LOGODDS, MASK)
    explained = explain_ensemble(seeds, data, PRIOR, CalibrationMap())
    rows = [0, 1, 2]
    expected = np.mean([predict_fusion(m, data.items(rows)) for m in seeds], axis=0)
    np.testing.assert_allclose(explained.proba[rows], expected, atol=1e-6)
    # identity map: the uncalibrated and the calibrated probability are the same number
    np.testing.assert_allclose(explained.calibrated, explained.proba[:, 1], atol=1e-7)
    # masking the face of video 0 in each seed, then averaging
    masked = [
        predict_fusion(m, [{**data.items([0])[0], "mask": np.array([False, True, True])}])[0, 1]
        for m in seeds
    ]
    assert explained.contributions[0, 0] == pytest.approx(
        explained.proba[0, 1] - np.mean(masked), abs=1e-6
    )


def test_a_prototype_run_reports_each_class_nearest_prototype():
    torch.manual_seed(0)
    params = FusionParams(d=16, heads=2, layers=1, k=3)
    model = FusionModel({"face": 4, "scene": 4, "audio": 4}, params, prototypes=True).eval()
    rng = np.random.default_rng(0)
    data = FusionData(
        video_ids=["a", "b", "c"],
        splits=["test"] * 3,
        labels=[-1] * 3,
        modalities=list(MODALITIES),
        vectors={m: rng.normal(size=(3, 4)).astype(np.float32) for m in MODALITIES},
        mask=np.array([[True, True, True], [True, False, True], [False, False, False]]),
    )
    explained = explain_ensemble([model], data, PRIOR, CalibrationMap())
    similarity = explained.prototype_similarity
    assert similarity.shape == (3, 2)
    assert np.all(np.abs(similarity[:2]) <= 1.0 + 1e-6) and np.isnan(similarity[2]).all()
    frame = explained.frame()
    assert frame["prototype_similarity_ah"].notna().sum() == 2
    assert explained.contributions[1, 1] == 0.0


def test_the_per_video_page_sorts_and_summarises_the_contributions():
    seeds = [_late([1.0, 0.5, 2.0], -0.2)]
    frame = explain_ensemble(seeds, _data(LOGODDS, MASK), PRIOR, CalibrationMap()).frame()
    frame.insert(0, "video_path", [f"test/{v}.mp4" for v in frame["video_id"]])
    means = mean_absolute_contributions(frame)
    assert means["scene"] == pytest.approx(frame["contribution_scene"].abs().mean())
    page = explanations_html(frame, "Explanations", truth=[1, 0, pd.NA, 0])
    assert page.count("<tr>") == 3 + 1 + len(frame) + 1  # summary, header, videos
    assert "test/v0.mp4" in page and "addEventListener" in page and "n/a" in page
    # strongest evidence first: video 0 or 1 (both have a modality at |contribution| max)
    first = page.index("test/v0.mp4"), page.index("test/v3.mp4")
    assert first[0] < first[1]


def test_the_known_answer_check_finds_the_single_agreeing_cue_and_scores_it(tmp_path):
    from ahrec.devtools.explain_check import bootstrap_share, check_explanations, report

    cue_columns = {
        # video: label, cues (face, scene, audio, text), cue present
        "a.mp4": (1, (1, 0, 0, 0)),  # face alone agrees with the label 1: face is top
        "b.mp4": (0, (1, 0, 1, 1)),  # scene alone agrees with 0, but audio is top
        "c.mp4": (1, (1, 1, 0, 0)),  # two agree: not counted
        "d.mp4": (0, (0, 1, 1, 1)),  # face alone agrees: face is top
        "e.mp4": (1, (1, 1, 1, 0)),  # text alone dissents: it pushes hardest away from 1
    }
    cues = pd.DataFrame(
        [
            {
                "video_path": path,
                "split": "test",
                "participant": f"P{i}",
                "label": label,
                **{
                    f"{m}_cue": c
                    for m, c in zip(("face", "scene", "audio", "text"), cue, strict=True)
                },
                **{f"{m}_cue_present": 1 for m in ("face", "scene", "audio", "text")},
                "duration_s": 3.0,
                "degenerate": "",
            }
            for i, (path, (label, cue)) in enumerate(cue_columns.items())
        ]
    )
    cues.to_csv(tmp_path / "demo_cues.csv", index=False)
    explanations = pd.DataFrame(
        {
            "video_path": list(cue_columns),
            "video_id": ["a", "b", "c", "d", "e"],
            "label": [1, 0, 1, 0, 1],  # the run predicts the truth here
            "prob_ah": [0.8, 0.3, 0.7, 0.2, 0.6],
            "top_modality": ["face", "audio", "face", "face", "face"],
            "contribution_face": [0.3, 0.0, 0.2, -0.25, 0.2],
            "contribution_scene": [0.0, -0.05, 0.1, 0.0, 0.1],
            "contribution_audio": [0.0, -0.2, 0.0, 0.1, 0.05],
            "contribution_text": [0.0, 0.0, 0.0, 0.0, -0.2],
            "missing_modalities": ["", "", "", "text", ""],
        }
    )
    explanations.to_csv(tmp_path / "explanations.csv", index=False)
    result = check_explanations(tmp_path / "explanations.csv", tmp_path / "demo_cues.csv")
    assert result["single_agreeing"] == 3 and result["per_modality"] == {"face": 2, "scene": 1}
    assert (result["top"].hits, result["top"].n) == (2, 3)
    # masking the agreeing modality moves P(A/H) away from the label in a, b and d
    assert (result["moves"].hits, result["moves"].n) == (3, 3)
    assert result["largest_missing_contribution"] == 0.0 and result["chance"] == 0.25
    assert result["single_dissenting"] == 1 and result["lowest"].hits == 1
    assert result["dissent_moves"].hits == 1
    # what the models read: in b the audio model called 0 (it misread its cue), so the
    # explanation naming audio is faithful to the models
    readings = pd.DataFrame(
        {
            "face": [1, 1, 1, 0, 1],
            "scene": [0, 0, 1, 1, 1],
            "audio": [0, 0, 0, 1, 1],
            "text": [0, 1, 0, 1, 0],
        },
        index=["a", "b", "c", "d", "e"],
    )
    with_models = check_explanations(
        tmp_path / "explanations.csv", tmp_path / "demo_cues.csv", readings=readings
    )
    assert with_models["missed_top_reads_label"] == (1, 1)  # b: audio called 0
    assert (with_models["top_reads_label"].hits, with_models["top_reads_label"].n) == (3, 3)
    # the agreeing modality's own model called the label in a (face), b (scene), d (face)
    agreeing = with_models["agreeing_reads_label"]
    assert (agreeing.hits, agreeing.n) == (3, 3)
    assert "agreeing modality's own unimodal model called the label: 100.0%" in report(with_models)
    # exactly one model called the label in a and d (face both times): face is top in both
    assert (with_models["single_model_agreeing"].hits, with_models["single_model_agreeing"].n) == (
        2,
        2,
    )
    # the premise (the agreeing modality's model alone called the label) holds in a and d;
    # in b the audio model called it too, so a random pick among callers scores 1/2 there
    premise = with_models["premise_holds"]
    assert (premise.hits, premise.n) == (2, 2) and with_models["other_callers"] == 1
    assert with_models["caller_bound"] == pytest.approx((1 + 0.5 + 1) / 3)
    assert "only one to call the label on 2 of them" in report(with_models)
    # face cues (1, 1, 1, 0, 1) against the face model's calls (1, 1, 1, 0, 1): all five
    assert with_models["reads_own_cue"]["face"] == 1.0
    # audio cues (0, 1, 0, 1, 1) against calls (0, 0, 0, 1, 1): four of five
    assert with_models["reads_own_cue"]["audio"] == pytest.approx(0.8)
    share = bootstrap_share([True, False, True, True], ["p", "p", "q", "r"], 500)
    assert share.value == 0.75 and share.low <= 0.75 <= share.high and share.participants == 3
    # all pass: the collapsed percentile interval gives way to the exact binomial bound
    every = bootstrap_share([True] * 12, [f"p{i}" for i in range(12)], 500)
    assert every.high == 1.0 and every.low == pytest.approx(0.025 ** (1 / 12))
    none = bootstrap_share([False] * 12, [f"p{i}" for i in range(12)], 500)
    assert none.low == 0.0 and none.high == pytest.approx(1 - 0.025 ** (1 / 12))


def _demo_run(folder, shift: float = 0.0):
    """A finished demo run's files as the known-answer check reads them: four test videos
    of four participants, their cues, explanations, and the four unimodal models' calls."""
    import json

    modalities = ("face", "scene", "audio", "text")
    labels = [1, 0, 1, 0]
    (folder / "demo_corpus").mkdir(parents=True)
    pd.DataFrame(
        [
            {
                "video_path": f"test/v{i}.mp4",
                "split": "test",
                "participant": f"P{i}",
                "label": label,
                # face alone agrees with the run's (correct) label in v0 and v1
                **{f"{m}_cue": int(label if m == "face" else 1 - label) for m in modalities},
                **{f"{m}_cue_present": 1 for m in modalities},
                "duration_s": 3.0,
                "degenerate": "",
            }
            for i, label in enumerate(labels)
        ]
    ).to_csv(folder / "demo_corpus" / "demo_cues.csv", index=False)
    raw = np.array([0.9, 0.2, 0.95, 0.05])
    pd.DataFrame(
        {
            "video_path": [f"test/v{i}.mp4" for i in range(4)],
            "video_id": [f"v{i}" for i in range(4)],
            "label": labels,
            "prob_ah": np.clip(raw + shift, 0, 1),
            "prob_ah_uncalibrated": raw,
            "top_modality": ["face", "face", "audio", "face"],
            "contribution_face": [0.3, -0.3, 0.1, -0.2],
            "contribution_scene": [0.0, 0.0, 0.0, 0.0],
            "contribution_audio": [0.1, 0.0, 0.2, 0.0],
            "contribution_text": [0.0, 0.0, 0.0, 0.0],
            "missing_modalities": ["", "", "", ""],
        }
    ).to_csv(folder / "explanations.csv", index=False)
    rows = [{"id": 5, "system": "fusion", "models": "1,2,3,4", "modality": ""}]
    for j, m in enumerate(modalities, start=1):
        rows.append({"id": j, "system": m, "models": f"{m}_model", "modality": m})
        (folder / "unimodal" / f"{m}_model").mkdir(parents=True)
        calls = labels if m == "face" else [1 - y for y in labels]
        pd.DataFrame({"video_id": [f"v{i}" for i in range(4)], "prediction": calls}).to_parquet(
            folder / "unimodal" / f"{m}_model" / "predictions.parquet"
        )
    pd.DataFrame(rows).to_csv(folder / "table.csv", index=False)
    (folder / "table.json").write_text(json.dumps({"reference": "fusion"}))


def test_corpora_pool_into_one_check_with_their_participants_kept_apart(tmp_path):
    from ahrec.devtools.explain_check import check_explanations, pooled_inputs

    for name in ("a", "b"):
        _demo_run(tmp_path / name)
    one = check_explanations(
        tmp_path / "a" / "explanations.csv", tmp_path / "a" / "demo_corpus" / "demo_cues.csv"
    )
    frame, cues, readings = pooled_inputs([tmp_path / "a", tmp_path / "b"])
    both = check_explanations(frame, cues, readings=readings)
    # every video agrees with its face cue alone; face is top on 3 of 4 per corpus
    assert (one["top"].hits, one["top"].n, one["top"].participants) == (3, 4, 4)
    # the same videos twice, told apart: twice the videos and the participants
    assert (both["top"].hits, both["top"].n, both["top"].participants) == (6, 8, 8)
    assert len(readings) == 8 and readings.index[0].startswith("c0/")
    # only the face model called the label: the explanations name it on 6 of 8
    assert both["single_model_agreeing"].hits == 6


def test_calibration_change_is_read_from_the_explanations_against_the_planted_labels(tmp_path):
    from ahrec.demo.ceilings import read_demo_cues
    from ahrec.devtools.explain_check import calibration_change
    from ahrec.evaluation.probability import probability_metrics

    _demo_run(tmp_path, shift=-0.1)
    frame = pd.read_csv(tmp_path / "explanations.csv")
    cues = read_demo_cues(tmp_path / "demo_corpus" / "demo_cues.csv")
    change = calibration_change(frame, cues, resamples=200)
    truth = [1, 0, 1, 0]
    before = probability_metrics(truth, frame["prob_ah_uncalibrated"])
    after = probability_metrics(truth, frame["prob_ah"])
    assert change["brier"]["before"] == pytest.approx(100 * before["brier"], abs=0.01)
    assert change["brier"]["after"] == pytest.approx(100 * after["brier"], abs=0.01)
    assert change["ece"]["change"] == pytest.approx(100 * (after["ece"] - before["ece"]), abs=0.02)
    low, high = change["brier"]["change_interval"]
    assert low <= change["brier"]["change"] <= high
    assert change["videos"] == {"n": 4, "participants": 4}
