"""Every configuration file lints clean and plans a DAG: the rules checked in seconds.

The fast tier's guard for rules/*.smk, the Snakefile and the configuration
files: a rule without a log, a broken input function on the planned path or a
configuration that no longer validates fails here, not half an hour into the
end-to-end runs.
"""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from ahrec.devtools.runs import snakemake_env
from tests.workflow_check import CONFIG_FILES, REPO


def run_check(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tests.workflow_check", *args],
        cwd=REPO,
        env=snakemake_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_every_configuration_file_lints_clean_and_plans():
    result = run_check()
    assert result.returncode == 0, result.stderr[-6000:]
    for config in CONFIG_FILES:
        assert f"{config}: lint clean, dry run plans" in result.stdout, result.stdout
    assert {p.name for p in CONFIG_FILES} >= {"config.yaml", "paper.yaml", "benchmark.yaml"}


@pytest.mark.slow
def test_a_rule_without_its_log_fails_the_check(tmp_path):
    copy = tmp_path / "workflow"
    copy.mkdir()
    for name in (
        "Snakefile",
        "config.yaml",
        "rules",
        "scripts",
        "lib",
        "schemas",
        "report",
        "envs",
    ):
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, copy / name, ignore=shutil.ignore_patterns("__pycache__"))
        elif source.exists():
            shutil.copy2(source, copy / name)
    with (copy / "rules" / "report.smk").open("a") as rules:
        rules.write(
            '\n\nrule unlogged:\n    output:\n        "x.txt"\n    shell:\n        "touch {output}"\n'
        )
    result = run_check("--snakefile", str(copy / "Snakefile"), str(copy / "config.yaml"))
    assert result.returncode == 1
    assert "Lints for rule unlogged" in result.stderr


@pytest.mark.slow
def test_a_predict_batch_stacks_on_a_preset_and_an_unknown_one_is_named(tmp_path):
    """docs/outputs.md as written: `--configfile <preset> mine.yaml` plans the batch; a
    misspelt name stops with the configured ones listed, not a bare "No rule to produce"."""
    (tmp_path / "videos").mkdir()
    mine = tmp_path / "mine.yaml"
    mine.write_text("predict:\n  clinic:\n    videos: videos\n    ensemble: fusion_proto\n")

    def dry_run(target: str) -> subprocess.CompletedProcess:
        command = [
            str(REPO / ".venv" / "bin" / "snakemake"),
            "--snakefile",
            str(REPO / "Snakefile"),
        ]
        # --configfile takes every word up to the next option: the target comes after one
        command += ["--configfile", str(REPO / "presets" / "benchmark.yaml"), str(mine)]
        command += ["--directory", str(tmp_path), "--cores", "1", "--dry-run", target]
        return subprocess.run(
            command, env=snakemake_env(), capture_output=True, text=True, timeout=300
        )

    planned = dry_run("results/predict/clinic/predictions.csv")
    assert planned.returncode == 0, planned.stdout[-3000:] + planned.stderr[-3000:]
    misspelt = dry_run("results/predict/clinc/predictions.csv")
    message = misspelt.stdout + misspelt.stderr
    assert misspelt.returncode != 0
    assert (
        "predict batch 'clinc' is not in this run's configuration (configured: clinic)" in message
    )
    assert "No rule to produce" not in message
