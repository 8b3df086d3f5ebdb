"""The corpus family's configurations and its system x corpus table (benchmarks/fusion_family.py)."""

import pandas as pd
import pytest

from ahrec.config import load_settings
from ahrec.devtools.family import CANDIDATES, Member, family_table, member_config, summary


def test_a_member_is_the_benchmark_preset_with_its_own_corpus_and_the_candidates():
    config = member_config(Member(101, 0.75), participants=120, runs=list(CANDIDATES))
    corpus = config["corpus"]
    assert (corpus["seed"], corpus["cue_reliability"], corpus["participants"]) == (101, 0.75, 120)
    assert corpus["split_participants"] == {"train": 60, "val": 30, "test": 30}
    assert config["preset"] == "benchmark" and config["face"] == {"n_frames": 30}
    settings = load_settings(config)  # a valid whole configuration
    assert list(settings.runs) == list(CANDIDATES)
    assert settings.runs["proto_logodds"].params.reads == "logodds"
    assert settings.runs["late_logreg"].params.late and settings.runs["fusion_proto"].prototypes
    with pytest.raises(ValueError, match="multiple of 4"):
        member_config(Member(1, 0.8), participants=30, runs=["fusion_proto"])
    with pytest.raises(ValueError, match="not among the candidates"):
        member_config(Member(1, 0.8), participants=40, runs=["late_mean"])


def _table(submitted: float, late: float, vs_late: float) -> pd.DataFrame:
    late_label = CANDIDATES["late_logreg"]["label"]
    rows = [
        {"system": "Text", "kind": "unimodal", "test_mf1": 74.0, "ceiling_test": 80.0},
        {
            "system": "Fusion, ensemble",
            "kind": "ensemble",
            "test_mf1": submitted,
            "ceiling_test": 85.0,
            "vs_best_unimodal": submitted - 74.0,
            "vs_best_unimodal_low": submitted - 80.0,
            "vs_best_unimodal_high": submitted - 68.0,
            "vs_best_unimodal_p": 0.01 if submitted > 80 else 0.4,
        },
        {
            "system": late_label,
            "kind": "fusion",
            "test_mf1": late,
            "ceiling_test": 85.0,
            "vs_best_unimodal": late - 74.0,
            "vs_best_unimodal_low": late - 80.0,
            "vs_best_unimodal_high": late - 68.0,
            "vs_best_unimodal_p": 0.01 if late > 80 else 0.4,
            "vs_reference": vs_late,
            "vs_reference_low": vs_late - 3,
            "vs_reference_high": vs_late + 3,
            "vs_reference_p": 0.5,
        },
    ]
    return pd.DataFrame(rows)


def test_the_family_table_compares_the_submitted_run_with_the_late_fusion():
    family = family_table(
        {Member(1, 0.75): _table(76.0, 83.0, 7.0), Member(2, 0.75): _table(84.0, 82.0, -2.0)}
    )
    submitted = family.loc[family["system"] == "Fusion, ensemble"]
    assert submitted["vs_late"].tolist() == [-7.0, 2.0]  # the late row's difference, turned
    assert submitted["vs_late_low"].tolist() == [-10.0, -1.0]
    assert family.loc[family["kind"] == "unimodal", "vs_late"].isna().all()
    table = summary(family).set_index("system")
    assert table.loc["Fusion, ensemble", "mean_gap"] == pytest.approx(5.0)  # (9 + 1) / 2
    assert table.loc["Fusion, ensemble", "worst_gap"] == pytest.approx(9.0)
    assert table.loc["Fusion, ensemble", "sig_above_best"] == 1  # only at 84 (low 4 > 0)
    assert table.loc[CANDIDATES["late_logreg"]["label"], "sig_above_best"] == 2
