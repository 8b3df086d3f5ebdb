"""One finished run of the default configuration on the tiny corpus, shared by the
e2e and SLURM tests.

Tests that change the run (edit config, add a video, flip labels) work on a
copy (``copy_run``), so the shared run stays as Snakemake left it.
"""

from __future__ import annotations

import pytest

from tests.e2e.workflow import snakemake, write_config


@pytest.fixture(scope="session")
def default_run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("default-run")
    write_config(workdir, {})
    snakemake(workdir)
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
    """The fast tier (tests not marked ``slow``) first, each tier in collection order.

    A failing unit test then shows within the first minute or two of a full run,
    not after the workflow runs.
    """
    items.sort(key=lambda item: item.get_closest_marker("slow") is not None)
