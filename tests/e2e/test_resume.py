"""A run killed partway resumes without recomputing what finished, and ends where an
uninterrupted run does.

The run (the default configuration with the submitted fusion run alone, on the default run's
corpus) is killed with SIGKILL (a crashed node, an out-of-memory kill) while
it computes media and embeddings; `snakemake --unlock` and a rerun with
`--rerun-incomplete` then finish it. Jobs write their outputs atomically, so
the kill cannot leave a half-written table that looks complete.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time

import pytest

from ahrec.devtools.runs import snakemake_env
from tests.e2e.workflow import (
    assert_same_results,
    snakemake,
    snakemake_command,
    write_config,
)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_killed_run_resumes_and_matches_an_uninterrupted_one(default_run, tmp_path):
    workdir = tmp_path / "killed"
    results = workdir / "results"
    shutil.copytree(default_run / "results" / "demo_corpus", results / "demo_corpus")
    write_config(workdir, {}, runs=["fusion_proto"])
    process = subprocess.Popen(
        snakemake_command(workdir),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: kill Snakemake and its jobs together
        env=snakemake_env(),
    )
    deadline = time.monotonic() + 900
    try:
        # killed once a media shard and an embedding shard are done, while others run
        while not (
            list(results.glob("embeddings/*/*/shard-*.parquet"))
            and list(results.glob("media/*/shards/*.json"))
        ):
            assert process.poll() is None, "the run ended before it could be killed"
            assert time.monotonic() < deadline, "no embedding was written in time"
            time.sleep(0.2)
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    finished = {
        path: path.stat().st_mtime_ns
        for pattern in (
            "media/*/*",  # per-video frames and audio, and their keys
            "media/*/shards/*.json",  # the media jobs' shard indexes
            "embeddings/*/*/shard-*.parquet",
            "manifest.parquet",
        )
        for path in results.glob(pattern)
        if path.is_file() and not path.name.startswith(".")  # not a temporary file
    }
    assert len(finished) >= 5
    assert not (results / "submission.csv").exists()
    snakemake(workdir, "--unlock")
    log = snakemake(workdir, "--rerun-incomplete")
    output = log.stdout + log.stderr
    recomputed = [path for path, mtime in finished.items() if path.stat().st_mtime_ns != mtime]
    # a job that was running when the kill came is rerun; finished jobs are not, and a
    # media job cut short keeps the videos it had finished (their files and keys)
    assert len(recomputed) <= 4, recomputed
    assert "Nothing to be done" not in output
    assert_same_results(workdir, default_run)
