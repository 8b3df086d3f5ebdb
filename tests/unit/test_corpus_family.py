"""The corpus family's configurations and its system x corpus table (benchmarks/fusion_family.py)."""

import pandas as pd
import pytest

from ahrec.config import load_settings
from ahrec.devtools.family import (
    CANDIDATES,
    DEFAULT_RUNS,
    Member,
    family_table,
    member_config,
    summary,
    write_explain_config,
    write_member,
)


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
    assert settings.runs["proto_moddrop"].params.modality_dropout == 0.3
    assert settings.runs["fusion_proto"].params.modality_dropout == 0.0  # the paper's
    assert [r for r in CANDIDATES if r != "proto_moddrop"] == DEFAULT_RUNS
    with pytest.raises(ValueError, match="multiple of 4"):
        member_config(Member(1, 0.8), participants=30, runs=["late_logreg"])
    assert settings.config["fusion"]["submission"] == "late_logreg"  # the reference of every row
    with pytest.raises(ValueError, match="not among the candidates"):
        member_config(Member(1, 0.8), participants=40, runs=["fusion_proto"])


def test_the_explain_config_submits_the_paper_run_and_changes_nothing_else(tmp_path):
    import yaml

    folder = write_member(tmp_path, Member(101, 0.75), participants=40, runs=list(CANDIDATES))
    path = write_explain_config(folder, "fusion_proto")
    member = yaml.safe_load((folder / "config.yaml").read_text())
    explain = yaml.safe_load(path.read_text())
    assert explain["fusion"].pop("submission") == "fusion_proto"
    assert member["fusion"].pop("submission") == "late_logreg"
    assert explain == member
    assert load_settings(yaml.safe_load(path.read_text())).config["fusion"]["submission"] == (
        "fusion_proto"
    )
    stamp = path.stat().st_mtime_ns
    write_explain_config(folder, "fusion_proto")  # unchanged: not rewritten, nothing reruns
    assert path.stat().st_mtime_ns == stamp
    with pytest.raises(ValueError, match="not among"):
        write_explain_config(folder, "nope")


def test_the_explain_command_reads_the_explain_config_and_keeps_its_target(tmp_path):
    """Snakemake's own parser: a second ``--configfile`` before the target swallowed it."""
    from snakemake.cli import get_argument_parser

    from ahrec.devtools.runs import snakemake_command

    config = tmp_path / "explain.yaml"
    command = snakemake_command(tmp_path, "results/explanations.csv", configfile=config)
    parsed = get_argument_parser().parse_args(command[3:])  # after python -m snakemake
    assert parsed.configfile == [config] and parsed.targets == ["results/explanations.csv"]
    default = get_argument_parser().parse_args(snakemake_command(tmp_path, "-n")[3:])
    assert default.configfile == [tmp_path / "config.yaml"] and default.dryrun


def _table(submitted: float, late: float, vs_late: float) -> pd.DataFrame:
    """A member's table: text, a fusion compared with the late fusion (the reference), the late."""
    late_label = CANDIDATES["late_logreg"]["label"]

    def fused(system: str, kind: str, mf1: float) -> dict:
        return {
            "system": system,
            "kind": kind,
            "test_mf1": mf1,
            "ceiling_test": 85.0,
            "vs_best_unimodal": mf1 - 74.0,
            "vs_best_unimodal_low": mf1 - 80.0,
            "vs_best_unimodal_high": mf1 - 68.0,
            "vs_best_unimodal_p": 0.01 if mf1 > 80 else 0.4,
        }

    ensemble = fused("Fusion, ensemble", "ensemble", submitted)
    ensemble.update(
        vs_reference=vs_late,
        vs_reference_low=vs_late - 3,
        vs_reference_high=vs_late + 3,
        vs_reference_p=0.01 if abs(vs_late) > 3 else 0.5,
    )
    return pd.DataFrame(
        [
            {"system": "Text", "kind": "unimodal", "test_mf1": 74.0, "ceiling_test": 80.0},
            ensemble,
            fused(late_label, "fusion", late),
        ]
    )


def test_the_family_table_compares_every_run_with_the_late_fusion():
    family = family_table(
        {Member(1, 0.75): _table(76.0, 83.0, -7.0), Member(2, 0.75): _table(84.0, 82.0, 2.0)},
        {Member(1, 0.75): 84.0},
    )
    submitted = family.loc[family["system"] == "Fusion, ensemble"]
    assert submitted["vs_late"].tolist() == [-7.0, 2.0]
    assert submitted["vs_late_high"].tolist() == [-4.0, 5.0]
    assert family.loc[family["kind"] == "unimodal", "vs_late"].isna().all()
    table = summary(family).set_index("system")
    fusion = table.loc["Fusion, ensemble"]
    assert fusion["mean_gap"] == pytest.approx(5.0)  # (9 + 1) / 2
    assert fusion["worst_gap"] == pytest.approx(9.0)
    assert fusion["mean_under_bound"] == pytest.approx(8.0)  # measured on the first only
    assert fusion["sig_above_best"] == 1  # only at 84 (low 4 > 0)
    assert fusion["sig_below_late"] == 1 and fusion["mean_vs_late"] == pytest.approx(-2.5)
    assert table.loc[CANDIDATES["late_logreg"]["label"], "sig_above_best"] == 2
