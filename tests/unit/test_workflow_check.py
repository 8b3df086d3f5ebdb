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
