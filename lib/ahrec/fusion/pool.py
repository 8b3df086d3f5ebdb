"""Independent fusion fits on worker processes: a search trial's seeds and folds at once.

A trial of the search fits one model per seed (and per CV fold): fits that
share nothing but their inputs. On the CPU each fit is arithmetic (a trial
may draw a 6-layer, 512-wide encoder), so the way to make a trial faster is
to run its fits side by side, one per core. Each worker process fits with
one torch thread and seeds everything before building its model, exactly as
a fit in the job's own process does with one thread: the scores, and so the
whole search, are the same whatever the number of workers (tested).

Threads would not do: dropout draws from torch's process-wide generator, so
two fits in one process would take each other's random numbers.

Workers are spawned (not forked: a process that has run torch, pandas and
Optuna holds thread pools and locks that a fork copies half-way), and while
they start the job's main script is hidden from them: Snakemake runs a rule's
script as ``__main__``, and a spawned worker would otherwise run it again.

The job's ``threads`` cap everything: at most that many workers
(``pool_size``), each with one thread in torch and in the BLAS/OpenMP pools
(set before the worker imports them), so a trial never asks the machine for
more than the scheduler gave it.

Stopping: a worker ignores SIGINT (Ctrl-C reaches the whole process group), and
the job, on any exception (KeyboardInterrupt included), terminates its workers
at once rather than waiting for their fits to finish (``FitPool.__exit__``); a
worker whose job was killed outright ends itself within a second.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

LOG = logging.getLogger(__name__)

# A worker's inputs (parts, input_dims, prototypes), set once per worker by ``_start_worker``.
_INPUTS: dict[str, Any] = {}


def _exit_with(parent: int) -> None:
    """End this worker once its job's process is gone (killed: no chance to stop its workers)."""
    while True:
        time.sleep(1.0)
        if os.getppid() != parent:
            os._exit(1)


def _start_worker(
    job: int, parts: list[tuple[Any, Any]], input_dims: dict[str, int], prototypes: bool
) -> None:
    # Ctrl-C goes to the whole process group: the job decides, and stops every worker.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # The job's pid comes from the job: a worker that starts after its job died sees init.
    threading.Thread(target=_exit_with, args=(job,), daemon=True).start()
    import torch

    torch.set_num_threads(1)
    with contextlib.suppress(RuntimeError):  # "cannot set ... after parallel work has started"
        torch.set_num_interop_threads(1)
    _INPUTS.update(parts=parts, input_dims=input_dims, prototypes=prototypes)


# Read by the BLAS and OpenMP runtimes when they load: a spawned worker inherits them.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def worker_threads() -> dict[str, Any]:
    """This process's thread settings (what a worker runs with; read by the tests)."""
    import torch

    return {
        "torch": torch.get_num_threads(),
        "interop": torch.get_num_interop_threads(),
        **{name: os.environ.get(name) for name in THREAD_VARIABLES},
    }


def pool_size(threads: int, fits: int, device: Any = None) -> int:
    """Worker processes for ``fits`` fits per trial within the job's ``threads``: one per
    fit, at most one per thread, one on a GPU (which runs one fit at a time well)."""
    if getattr(device, "type", "cpu") != "cpu":
        return 1
    return max(1, min(int(threads), int(fits)))


@dataclasses.dataclass(frozen=True)
class Fit:
    """One fit of a trial: its score, how long it trained, and how long that took.

    A trial waits for its slowest fit, so the fits' seconds say what more
    cores would buy: with one worker per fit, a trial takes its longest fit.
    """

    score: float  # validation MF1 of the kept state (0 when it never scored)
    epochs: int  # epochs trained before early stopping (or the maximum)
    seconds: float  # wall time of the fit in its process


def fit_once(
    parts: Sequence[tuple[Any, Any]],
    input_dims: Mapping[str, int],
    prototypes: bool,
    params: Any,
    seed: int,
    part: int,
    device: Any,
) -> Fit:
    """One fit of a trial on one (fit, stop) pair; its score is what the trial averages."""
    from ahrec.fusion.model import train_fusion

    fit, stop = parts[part]
    start = time.perf_counter()
    _, result = train_fusion(fit, stop, input_dims, params, prototypes, seed, device)
    seconds = time.perf_counter() - start
    return Fit(result.best_val_mf1 or 0.0, len(result.history), seconds)


def _fit_in_worker(params: Any, seed: int, part: int) -> Fit:
    import torch

    return fit_once(**_INPUTS, params=params, seed=seed, part=part, device=torch.device("cpu"))


@contextlib.contextmanager
def _spawning() -> Iterator[None]:
    """While workers may be spawned (a submit starts one when none is idle): the job's main
    script hidden (spawned workers import ``__main__`` from its file unless it has none),
    and one BLAS/OpenMP thread in the environment they inherit."""
    main = sys.modules.get("__main__")
    saved = main.__dict__.pop("__file__", None) if main is not None else None
    environment = {name: os.environ.get(name) for name in THREAD_VARIABLES}
    os.environ.update(dict.fromkeys(THREAD_VARIABLES, "1"))
    try:
        yield
    finally:
        for name, value in environment.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        if saved is not None and main is not None:
            main.__file__ = saved


def _stop_now(executor: ProcessPoolExecutor, grace_s: float = 3.0) -> None:
    """End the workers without waiting for their fits: SIGTERM, then SIGKILL after ``grace_s``."""
    processes = list((getattr(executor, "_processes", None) or {}).values())
    executor.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        with contextlib.suppress(OSError, ValueError):
            process.terminate()
    deadline = time.monotonic() + grace_s
    for process in processes:
        with contextlib.suppress(OSError, ValueError, AssertionError):
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                process.kill()
                process.join(1.0)


class FitPool:
    """Runs a trial's fits on ``workers`` processes (CPU), or one after another in this process.

    ``parts`` are the (fit, stop) split pairs every trial is scored on (the
    validation split, or the CV folds), collated once and sent once to each
    worker. ``fits`` returns one ``Fit`` per (seed, part), in the order of the
    sequential loop.
    """

    def __init__(
        self,
        parts: Sequence[tuple[Any, Any]],
        input_dims: Mapping[str, int],
        prototypes: bool,
        device: Any,
        workers: int = 1,
    ) -> None:
        self.parts = list(parts)
        self.input_dims = dict(input_dims)
        self.prototypes = prototypes
        self.device = device
        # A GPU runs one fit at a time well; worker processes are for the CPU.
        self.workers = pool_size(workers, workers, device)
        self._executor: ProcessPoolExecutor | None = None

    def __enter__(self) -> FitPool:
        if self.workers > 1:
            LOG.info("fits on %d worker processes (one torch thread each)", self.workers)
            self._executor = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_start_worker,
                initargs=(os.getpid(), self.parts, self.input_dims, self.prototypes),
            )
        return self

    def __exit__(self, kind: type[BaseException] | None, *exc: object) -> None:
        executor, self._executor = self._executor, None
        if executor is None:
            return
        if kind is None:
            executor.shutdown(wait=True, cancel_futures=True)
        else:  # interrupted or failed: nobody wants the running fits any more
            LOG.info("stopping the %d worker processes (%s)", self.workers, kind.__name__)
            _stop_now(executor)

    def worker_threads(self) -> list[dict[str, Any]]:
        """The thread settings of the workers (``worker_threads`` run on them: one answer
        per worker, though one worker may answer twice); this process's when none."""
        if self._executor is None:
            return [worker_threads()]
        with _spawning():
            futures = [self._executor.submit(worker_threads) for _ in range(self.workers)]
        return [future.result() for future in futures]

    def fits(self, params: Any, seeds: Sequence[int]) -> list[Fit]:
        jobs = [(seed, part) for seed in seeds for part in range(len(self.parts))]
        if self._executor is None:
            return [
                fit_once(self.parts, self.input_dims, self.prototypes, params, s, p, self.device)
                for s, p in jobs
            ]
        try:
            with _spawning():
                futures = [self._executor.submit(_fit_in_worker, params, s, p) for s, p in jobs]
            return [future.result() for future in futures]
        except BrokenProcessPool as error:
            raise RuntimeError(
                f"a fit's worker process died ({error}); out of memory? Each of the "
                f"{self.workers} workers holds one model: give the job more memory "
                "(resources: mem_mb) or fewer threads"
            ) from error
