"""One finished run of the default configuration on the tiny corpus, shared by the
e2e and SLURM tests, and the order the tiers run in.

Tests that change the run (edit config, add a video, flip labels, run Snakemake in
it at all) work on a copy (``copy_run``), so the shared run stays as Snakemake left
it. Under pytest-xdist (CI runs the slow tier on two workers) the workers share it
too: the first one to need it builds it while the other waits on a lock, then both
read it.
"""

from __future__ import annotations

import fcntl
import os
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.e2e.workflow import snakemake, write_config

# Slow modules that start in parallel under xdist, in this order: the paper preset's
# run (minutes, on a corpus of its own) on one worker while the other builds the
# shared default run for the first module that needs it; the longest of the rest next.
# Every other slow module follows in collection order (e2e and SLURM before unit tests,
# whose short modules fill the end), so the two workers finish together.
SLOW_MODULES_FIRST = (
    "tests/e2e/test_paper_preset.py",
    "tests/e2e/test_hostile.py",
    "tests/e2e/test_benchmarks.py",
    "tests/slurm/test_slurm.py",
    "tests/e2e/test_partial_reruns.py",
    "tests/e2e/test_cross_validation.py",
    "tests/e2e/test_predict.py",
    "tests/e2e/test_resume.py",
)


@contextmanager
def _exclusive(lock: Path):
    """Hold an exclusive lock on ``lock`` (a file; every xdist worker opens the same one)."""
    with lock.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@pytest.fixture(scope="session")
def default_run(tmp_path_factory) -> Path:
    """The default run, built once per test session (once for all xdist workers)."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # the session's folder, above each worker's own
    workdir = root / "default-run"
    done = root / "default-run.finished"
    with _exclusive(root / "default-run.lock"):
        if not done.exists():
            workdir.mkdir(exist_ok=True)  # a worker whose build failed left it: resumed
            write_config(workdir, {})
            snakemake(workdir)
            done.touch()
    return workdir


@pytest.fixture(scope="module")
def one_torch_thread():
    """Tiny models gain nothing from threads; one thread stays fast when the CPU is shared."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def pytest_collection_modifyitems(config, items):
    """The fast tier (tests not marked ``slow``) first, then the slow tier.

    A failing unit test then shows within the first minute or two of a full run,
    not after the workflow runs. In the slow tier the modules of
    ``SLOW_MODULES_FIRST`` lead, then the e2e and SLURM modules, then the unit ones;
    tests keep their order within a module (module fixtures are built once).
    """
    first = {path: rank for rank, path in enumerate(SLOW_MODULES_FIRST)}

    def rank(item: pytest.Item) -> tuple[int, int]:
        if item.get_closest_marker("slow") is None:
            return (0, 0)
        module = item.nodeid.split("::")[0]
        if module in first:
            return (1, first[module])
        return (2, int(module.startswith(("tests/unit/", "tests/real/"))))

    items.sort(key=rank)  # stable: collection order within equal ranks
