"""The tiny workflow on a real single-node SLURM cluster, through profiles/slurm.

Not a mock: tests/slurm/cluster.sh starts munged, slurmctld and slurmd on
localhost (Debian's slurm-wlm), Snakemake submits every job with sbatch via
snakemake-executor-plugin-slurm, and the results must equal those of the
local run of the same configuration. The daemons are stopped by PID.

Needs root and the slurm-wlm and munge packages (`bash tests/slurm/cluster.sh
install`); skipped without them, except in CI (CI=true), where it must run.
"""

from __future__ import annotations

import os
import shutil
import subprocess

import pandas as pd
import pytest

from tests.e2e.workflow import REPO, executed_jobs, snakemake, write_config

pytestmark = [pytest.mark.slurm, pytest.mark.slow]
CLUSTER = REPO / "tests" / "slurm" / "cluster.sh"
AVAILABLE = shutil.which("sbatch") is not None and os.geteuid() == 0
if not AVAILABLE and os.environ.get("CI") != "true":
    pytest.skip(
        "SLURM is not installed here (bash tests/slurm/cluster.sh install)", allow_module_level=True
    )

# What a real site puts on its command line; this cluster has no accounting
# database, so the plugin polls squeue and asks for no account.
LOCAL_CLUSTER = (
    "--slurm-no-account",
    "--slurm-status-command",
    "squeue",
    "--slurm-init-seconds-before-status-checks",
    "5",
    "--seconds-between-status-checks",
    "5",
    "--jobs",
    "4",
    "--slurm-keep-successful-logs",
)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    state = tmp_path_factory.mktemp("slurm-state")
    env = {**os.environ, "AHREC_SLURM_STATE": str(state)}
    subprocess.run(["bash", str(CLUSTER), "start"], check=True, env=env, timeout=180)
    try:
        yield state
    finally:
        subprocess.run(["bash", str(CLUSTER), "stop"], check=False, env=env, timeout=120)
        assert not list(state.glob("*.pid"))


def test_workflow_on_slurm_equals_the_local_run(cluster, default_run, tmp_path):
    workdir = tmp_path / "slurm-run"
    workdir.mkdir()
    write_config(workdir, {})
    result = snakemake(
        workdir, "--profile", str(REPO / "profiles" / "slurm"), *LOCAL_CLUSTER, timeout=3600
    )
    output = result.stdout + result.stderr
    submitted = output.count("has been submitted with SLURM jobid")
    jobs = executed_jobs(output)
    assert submitted >= 20, output[-3000:]
    assert jobs.get("unimodal") == 6 and jobs.get("submission") == 1
    assert list((workdir / ".snakemake" / "slurm_logs").rglob("*.log"))  # sbatch's own logs
    local, remote = default_run / "results", workdir / "results"
    for name in ("table.csv", "submission.csv"):
        pd.testing.assert_frame_equal(
            pd.read_csv(remote / name), pd.read_csv(local / name), obj=name
        )
    for path in sorted(local.glob("unimodal/*/predictions.parquet")) + sorted(
        local.glob("fusion/*/ensemble/predictions.parquet")
    ):
        relative = path.relative_to(local)
        pd.testing.assert_frame_equal(
            pd.read_parquet(remote / relative), pd.read_parquet(path), obj=str(relative)
        )
