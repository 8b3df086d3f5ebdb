"""What every rule's script does around its real work: logs, threads, progress.

Each Snakemake job gets its own log file (``log:``); everything a job says —
logging, warnings, library chatter, progress bars — goes there, so that a
failed job on a cluster node can be diagnosed from one file.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")
LOG = logging.getLogger("ahrec")


def limit_threads(threads: int) -> None:
    """Keep numeric libraries within the job's ``threads:`` (oversubscription on clusters)."""
    threads = max(1, int(threads))
    for variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[variable] = str(threads)
    # Only libraries already imported are told; importing them here would make
    # every job pay for torch.
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)
    if "cv2" in sys.modules:
        sys.modules["cv2"].setNumThreads(threads)


# How a job's log reports the most GPU memory its tensors held (benchmarks/paper_gpu.py reads it).
PEAK_GPU_MEMORY = "peak GPU memory (torch.cuda.max_memory_allocated):"


def peak_gpu_mib() -> float | None:
    """The job's peak allocated CUDA memory in MiB, or None when it never used CUDA.

    Read only when torch is already imported and CUDA initialised, so a job
    that never touched a GPU pays nothing for the question.
    """
    torch = sys.modules.get("torch")
    if torch is None or not torch.cuda.is_initialized():
        return None
    return (
        max(torch.cuda.max_memory_allocated(device) for device in range(torch.cuda.device_count()))
        / 2**20
    )


@contextlib.contextmanager
def rule_logging(log_path: str | Path | None, threads: int = 1) -> Iterator[logging.Logger]:
    """Send all of a job's output to its log file; log the traceback if it fails."""
    limit_threads(threads)
    if log_path is None:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
        yield LOG
        return
    Path(log_path).parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "w", encoding="utf-8", buffering=1) as stream:
        handler = logging.StreamHandler(stream)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        root = logging.getLogger()
        previous_level = root.level
        root.addHandler(handler)
        root.setLevel(logging.INFO)
        started = time.perf_counter()
        try:
            with contextlib.redirect_stderr(stream), contextlib.redirect_stdout(stream):
                yield LOG
        except BaseException:
            LOG.exception("job failed after %.1f s", time.perf_counter() - started)
            raise
        else:
            LOG.info("done in %.1f s", time.perf_counter() - started)
            peak = peak_gpu_mib()
            if peak is not None:
                LOG.info("%s %.0f MiB", PEAK_GPU_MEMORY, peak)
        finally:
            root.removeHandler(handler)
            root.setLevel(previous_level)


def progress(items: Iterable[T], total: int | None = None, desc: str = "") -> Iterable[T]:
    """A progress bar on stderr (the job's log), throttled when not a terminal."""
    from tqdm import tqdm

    interactive = sys.stderr.isatty()
    return tqdm(
        items,
        total=total,
        desc=desc,
        file=sys.stderr,
        mininterval=0.5 if interactive else 10.0,
        ascii=not interactive,
        dynamic_ncols=interactive,
    )


def paths(value: Any) -> list[str]:
    """A Snakemake input entry as a list of paths (a single named file is a plain string)."""
    return [value] if isinstance(value, str | os.PathLike) else [str(v) for v in value]
