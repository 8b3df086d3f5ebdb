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

import pytest

from tests.e2e.workflow import (
    REPO,
    assert_same_results,
    copy_run,
    executed_jobs,
    snakemake,
    write_config,
)

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
    "2",
    "--seconds-between-status-checks",
    "2",
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
    """Every model of the default run trained again through SLURM, on a copy of its media.

    The copy keeps the default run's media and embeddings; the unimodal models,
    the submitted fusion run, their predictions and evaluations, the table and
    the submission are computed again, one sbatch job each, and must equal the
    local run's.
    """
    workdir = copy_run(default_run, tmp_path / "slurm-run")
    for trained in ("unimodal", "fusion", "search"):
        shutil.rmtree(workdir / "results" / trained)
    write_config(workdir, {}, runs=["fusion_proto"])
    result = snakemake(
        workdir,
        "--profile",
        str(REPO / "profiles" / "slurm"),
        *LOCAL_CLUSTER,
        timeout=3600,
        slurm=True,
    )
    output = result.stdout + result.stderr
    submitted = output.count("has been submitted with SLURM jobid")
    jobs = executed_jobs(output)
    assert submitted >= 20, output[-3000:]
    assert jobs.get("unimodal") == 6 and jobs.get("fusion_seed") == 2, jobs
    assert jobs.get("submission") == 1 and "faces" not in jobs, jobs
    assert list((workdir / ".snakemake" / "slurm_logs").rglob("*.log"))  # sbatch's own logs
    assert_same_results(workdir, default_run)
