"""Cue ceilings: Bayes-optimal predictions from the planted cues, and their macro F1.

Hand-made cue tables check the decision rule case by case (unanimous cues,
ties, hidden cues, unequal reliabilities, perfect cues); a generated tiny
corpus checks that the rule reads the generator's own table: with perfectly
reliable cues, every observable cue gives the label, so the ceiling is 100.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import f1_score

from ahrec.demo import DemoSettings, generate_demo_corpus, plan_corpus
from ahrec.demo.ceilings import (
    ceiling_mf1,
    ceiling_predictions,
    label_prior,
    read_demo_cues,
)
from ahrec.demo.generator import CUES_HEADER, MODALITIES
from tests.demo_tools import TOOLS

ALL = ("text", "audio", "face", "scene")


def table(*rows: tuple, hidden: dict[int, set[str]] | None = None) -> pd.DataFrame:
    """Cue rows ``(label, text, audio, face, scene)`` as read_demo_cues types them."""
    hidden = hidden or {}
    records = []
    for index, (label, *cues) in enumerate(rows):
        record = {"video_path": f"v{index}.mp4", "split": "test", "label": label}
        for modality, cue in zip(MODALITIES, cues, strict=True):
            record[f"{modality}_cue"] = cue
            record[f"{modality}_cue_present"] = int(modality not in hidden.get(index, set()))
        records.append(record)
    return pd.DataFrame.from_records(records)


# --- the decision rule --------------------------------------------------------


@pytest.mark.parametrize("prior", [0.2, 0.5, 0.8])
def test_unanimous_cues_decide_whatever_the_prior(prior: float) -> None:
    cues = table((1, 1, 1, 1, 1), (0, 0, 0, 0, 0))
    assert ceiling_predictions(cues, ALL, 0.75, prior).tolist() == [1, 0]


@pytest.mark.parametrize(("prior", "expected"), [(0.6, 1), (0.4, 0), (0.5, 0)])
def test_two_two_ties_go_to_the_priors_class_and_to_zero_at_one_half(
    prior: float, expected: int
) -> None:
    cues = table((1, 1, 1, 0, 0), (0, 0, 1, 1, 0), (1, 0, 0, 1, 1))
    # Equal reliabilities: the cues cancel, the prior's log-odds decide (and a
    # prior of exactly 0.5 is a true tie, broken towards class 0).
    assert ceiling_predictions(cues, ALL, 0.8, prior).tolist() == [expected] * 3


def test_single_modality_follows_its_cue_unless_the_prior_outweighs_it() -> None:
    cues = table((1, 1, 0, 0, 0), (0, 0, 1, 1, 1))
    assert ceiling_predictions(cues, ["text"], 0.75, 0.5).tolist() == [1, 0]
    # log(0.8/0.2) = 1.39 > log(0.6/0.4) = 0.41: a strong prior beats a weak cue.
    assert ceiling_predictions(cues, ["text"], 0.6, 0.8).tolist() == [1, 1]
    assert ceiling_predictions(cues, ["text"], 0.6, 0.2).tolist() == [0, 0]
    # ... and a strong cue beats the same prior.
    assert ceiling_predictions(cues, ["text"], 0.9, 0.2).tolist() == [1, 0]


def test_cues_that_cannot_be_observed_carry_no_evidence() -> None:
    rows = [(1, 1, 1, 0, 0), (1, 1, 1, 0, 0), (0, 0, 0, 0, 0)]
    hidden = {0: {"face"}, 1: {"face", "scene"}, 2: set(MODALITIES)}
    cues = table(*rows, hidden=hidden)
    # Row 0: three observed cues, two say 1; row 1: the two observed cues say
    # 1; row 2: nothing observed, the prior decides.
    assert ceiling_predictions(cues, ALL, 0.7, 0.4).tolist() == [1, 1, 0]
    assert ceiling_predictions(cues, ALL, 0.7, 0.6).tolist() == [1, 1, 1]
    # Without the presence columns (an old cue table), every cue counts.
    old = cues.drop(columns=[f"{m}_cue_present" for m in MODALITIES])
    assert ceiling_predictions(old, ALL, 0.7, 0.4).tolist() == [0, 0, 0]


def test_unequal_reliabilities_weigh_the_cues() -> None:
    cues = table((1, 1, 0, 0, 1))
    weights = {"text": 0.9, "audio": 0.6, "face": 0.6, "scene": 0.5}
    # log 9 = 2.20 against 2 log 1.5 = 0.81: one reliable cue beats two weak
    # ones; a cue of reliability 0.5 carries nothing.
    assert ceiling_predictions(cues, ALL, weights, 0.5).tolist() == [1]
    assert ceiling_predictions(cues, ["text", "audio", "face"], 0.7, 0.5).tolist() == [0]
    # Exact ties of unequal weights, log 4 = 2 log 2: reliability 0.8 against two of 2/3.
    tie = table((1, 1, 0, 0, 0))
    thirds = {"text": 0.8, "audio": 2 / 3, "face": 2 / 3, "scene": 0.5}
    assert ceiling_predictions(tie, ALL, thirds, 0.5).tolist() == [0]
    assert ceiling_predictions(tie, ALL, thirds, 0.55).tolist() == [1]


def test_perfect_cues_overrule_the_rest_and_cancel_when_they_disagree() -> None:
    cues = table((1, 1, 0, 0, 0), (0, 1, 0, 1, 1))
    weights = {"text": 1.0, "audio": 0.9, "face": 0.9, "scene": 0.9}
    assert ceiling_predictions(cues, ALL, weights, 0.5).tolist() == [1, 1]
    both = {"text": 1.0, "audio": 1.0, "face": 0.9, "scene": 0.9}
    # Row 1: the perfect text (1) and audio (0) cancel; face and scene (1) decide.
    assert ceiling_predictions(cues, ALL, both, 0.5).tolist() == [0, 1]


def test_no_modality_predicts_the_priors_class() -> None:
    cues = table((1, 1, 1, 1, 1), (0, 0, 0, 0, 0))
    assert ceiling_predictions(cues, [], 0.75, 0.7).tolist() == [1, 1]
    assert ceiling_predictions(cues, [], 0.75, 0.5).tolist() == [0, 0]


def test_log_odds_match_the_posterior_computed_by_enumeration() -> None:
    rng = np.random.default_rng(0)
    weights = {"text": 0.85, "audio": 0.65, "face": 0.7, "scene": 0.55}
    rows = [(0, *map(int, rng.integers(0, 2, 4))) for _ in range(64)]
    cues = table(*rows)
    for prior in (0.3, 0.5, 0.62):
        expected = []
        for _, *bits in rows:
            likelihood = {
                y: math.prod(
                    weights[m] if bit == y else 1 - weights[m]
                    for m, bit in zip(MODALITIES, bits, strict=True)
                )
                for y in (0, 1)
            }
            posterior_1 = prior * likelihood[1]
            posterior_0 = (1 - prior) * likelihood[0]
            expected.append(int(posterior_1 > posterior_0))
        assert ceiling_predictions(cues, ALL, weights, prior).tolist() == expected


@pytest.mark.parametrize(
    ("modalities", "reliability", "prior", "message"),
    [
        (["smell"], 0.7, 0.5, "unknown modality"),
        (["text", "text"], 0.7, 0.5, "repeated"),
        (["text"], 0.4, 0.5, "between 0.5"),
        (["text"], {"audio": 0.7}, 0.5, "no value for modality 'text'"),
        (["text"], 0.7, 0.0, "strictly between 0 and 1"),
        (["text"], 0.7, 1.0, "strictly between 0 and 1"),
    ],
)
def test_bad_arguments_are_named(modalities, reliability, prior, message) -> None:
    with pytest.raises(ValueError, match=message):
        ceiling_predictions(table((1, 1, 1, 1, 1)), modalities, reliability, prior)


def test_mf1_is_sklearns_macro_f1_in_percent_on_one_split() -> None:
    cues = table(
        (1, 1, 0, 0, 0), (1, 0, 0, 0, 0), (0, 0, 1, 1, 1), (0, 1, 1, 1, 1), (1, 1, 0, 0, 0)
    )
    cues.loc[4, "split"] = "val"
    predicted = ceiling_predictions(cues[cues["split"] == "test"], ["text"], 0.8, 0.5)
    assert predicted.tolist() == [1, 0, 0, 1]
    expected = 100 * f1_score([1, 1, 0, 0], predicted, average="macro", labels=[0, 1])
    assert ceiling_mf1(cues, ["text"], 0.8, 0.5, "test") == pytest.approx(expected)
    assert ceiling_mf1(cues, ["text"], 0.8, 0.5, "test") == pytest.approx(50.0)
    assert ceiling_mf1(cues, ["text"], 0.8, 0.5, "val") == pytest.approx(50.0)  # one class
    with pytest.raises(ValueError, match="no video in split 'train'"):
        ceiling_mf1(cues, ["text"], 0.8, 0.5, "train")


# --- reading cue tables -------------------------------------------------------


def write_rows(path: Path, header: tuple[str, ...], rows: list[list[str]]) -> Path:
    path.write_text("\n".join(",".join(r) for r in [list(header), *rows]) + "\n", encoding="utf-8")
    return path


def test_read_demo_cues_types_the_columns(tmp_path: Path) -> None:
    row = ["Videos/P001/Visite_1/NA (2).mp4", "train", "P001", "1", "1", "0", "1", "0", "3.240"]
    path = write_rows(tmp_path / "cues.csv", CUES_HEADER, [row + ["silent", "1", "0", "1", "1"]])
    frame = read_demo_cues(path)
    assert list(frame.columns) == list(CUES_HEADER)
    assert frame.loc[0, "video_path"] == row[0]  # "NA" is a name, not a missing value
    assert frame.loc[0, "degenerate"] == "silent"
    for column in ("label", "text_cue", "scene_cue", "audio_cue_present"):
        assert frame[column].dtype == np.int64
    assert frame["duration_s"].dtype == np.float64 and frame.loc[0, "duration_s"] == 3.24
    assert frame.loc[0, "audio_cue_present"] == 0 and frame.loc[0, "face_cue_present"] == 1


def test_read_demo_cues_reads_tables_from_before_degenerate_videos(tmp_path: Path) -> None:
    old_header = CUES_HEADER[:9]
    row = ["Videos/P001/Visite_1/a.mp4", "test", "P001", "0", "0", "1", "0", "0", "4.000"]
    frame = read_demo_cues(write_rows(tmp_path / "old.csv", old_header, [row]))
    assert frame.loc[0, "degenerate"] == ""
    assert all(frame.loc[0, f"{m}_cue_present"] == 1 for m in MODALITIES)


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("label", "2", "column label: expected 0 or 1"),
        ("face_cue_present", "yes", "column face_cue_present: expected 0 or 1"),
        ("split", "dev", "column split: expected one of"),
        ("degenerate", "mute", "column degenerate: expected one of"),
    ],
)
def test_read_demo_cues_names_the_bad_value(
    tmp_path: Path, column: str, value: str, message: str
) -> None:
    good = ["v.mp4", "train", "P1", "1", "1", "1", "1", "1", "3.0", "", "1", "1", "1", "1"]
    values = dict(zip(CUES_HEADER, good, strict=True))
    values[column] = value
    path = write_rows(tmp_path / "bad.csv", CUES_HEADER, [list(values.values())])
    with pytest.raises(ValueError, match=f"bad.csv: line 2, {message}"):
        read_demo_cues(path)
    with pytest.raises(ValueError, match="missing column"):
        read_demo_cues(write_rows(tmp_path / "short.csv", ("video_path", "split"), [["a", "b"]]))


# --- per-modality reliabilities in the plan -------------------------------------


def test_one_number_or_the_same_number_per_modality_plan_the_same_corpus() -> None:
    same = DemoSettings(cue_reliability=dict.fromkeys(MODALITIES, 0.75))
    assert plan_corpus(same) == plan_corpus(DemoSettings())


def test_each_modality_gets_its_own_reliability() -> None:
    reliability = {"text": 1.0, "audio": 0.5, "face": 0.9, "scene": 0.75}
    plan = plan_corpus(DemoSettings(cue_reliability=reliability))
    for modality, rate in reliability.items():
        for split in ("train", "val", "test"):
            members = [p for p in plan if p.split == split]
            agree = sum(getattr(p.job, f"{modality}_cue") == p.job.label for p in members)
            # Stratified within split and label: at most one off per label.
            assert abs(agree - rate * len(members)) <= 2, (modality, split)


# --- a generated corpus ---------------------------------------------------------


@pytest.fixture(scope="module")
def perfect_corpus(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    """A tiny corpus with perfectly reliable cues and some hidden ones."""
    if not TOOLS:
        pytest.skip("ffmpeg and espeak-ng are needed")
    settings = DemoSettings(
        participants=6,
        questions_per_participant=1,
        split_participants={"train": 2, "val": 2, "test": 2},
        seed=3,
        min_seconds=1.0,
        max_seconds=1.5,
        fps=10,
        width=128,
        height=96,
        cue_reliability=1.0,
        test_videos_without_transcript=1,
        degenerate={"no_face": 0.25, "very_short": 0.25, "silent": 0.0, "no_transcript": 0.0},
    )
    root = tmp_path_factory.mktemp("perfect")
    generate_demo_corpus(root, settings, workers=2, progress=False)
    return read_demo_cues(root / "demo_cues.csv")


@pytest.mark.slow
def test_single_modality_ceiling_is_100_with_perfect_cues(perfect_corpus: pd.DataFrame) -> None:
    cues = perfect_corpus
    prior = label_prior(cues)
    assert set(cues["degenerate"]) >= {"no_face", "very_short"}  # some cues are hidden
    for split in ("train", "val", "test"):
        # Text is never hidden (a video without a transcript still says its words).
        assert ceiling_mf1(cues, ["text"], 1.0, prior, split) == 100.0
        assert ceiling_mf1(cues, ALL, 1.0, prior, split) == 100.0
    for modality in MODALITIES:
        # Every cue that can be seen gives the label ...
        seen = cues[cues[f"{modality}_cue_present"] == 1]
        predicted = ceiling_predictions(seen, [modality], 1.0, prior)
        assert np.array_equal(predicted, seen["label"].to_numpy()), modality
        for split in ("train", "val", "test"):
            if cues.loc[cues["split"] == split, f"{modality}_cue_present"].all():
                assert ceiling_mf1(cues, [modality], 1.0, prior, split) == 100.0
        # ... and where it is hidden, only the prior is left.
        unseen = cues[cues[f"{modality}_cue_present"] == 0]
        predicted = ceiling_predictions(unseen, [modality], 1.0, prior)
        assert (predicted == int(prior > 0.5)).all()


def test_a_video_listed_after_the_demo_was_made_gets_the_priors_guess(tmp_path) -> None:
    """A user's own video added to a demo list has no planted cue: the table still builds."""
    from ahrec.evaluation.settings import EvaluationSettings
    from ahrec.evaluation.table import demo_ceiling

    cues = table((1, 1, 1, 1, 1), (0, 0, 0, 0, 0), (1, 1, 1, 1, 1))
    cues["participant"] = ["p0", "p1", "p2"]
    cues.to_csv(tmp_path / "cues.csv", index=False)
    manifest = pd.DataFrame(
        {
            "video_id": ["a", "b", "c", "d"],
            "video_path": ["v0.mp4", "v1.mp4", "v2.mp4", "added.mp4"],
            "split": ["train", "train", "train", "test"],
            "label": pd.array([1, 0, 1, 0], dtype="Int8"),
        }
    )
    ceiling = demo_ceiling(manifest, tmp_path / "cues.csv", 0.9, EvaluationSettings())
    assert ceiling(["face"]).tolist() == [1, 0, 1, 1]  # the added video: the prior's class (2/3)
