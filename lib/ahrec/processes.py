"""What a killed job leaves behind: child processes that die with it, temporaries a rerun finds.

A scheduler, a user or the kernel's OOM killer may end a job at any moment,
SIGKILL included, which runs no ``finally`` and no signal handler. Two things
would outlive it:

* **Child processes** (ffmpeg extracting a long recording): started by
  ``run_child``/``start_child``, each asks the kernel (Linux ``prctl``
  ``PR_SET_PDEATHSIG``) for SIGKILL when the job's process dies, however it
  dies. They stay in the job's session and process group, so a signal to the
  group (Ctrl-C, Snakemake stopping its jobs) reaches them too.
* **Temporary files** (a half-written wav or frames file): written beside
  their destination under a name that says whose they are
  (``temporary_beside``: ``.tmp-<name>.<random><suffix>``), so the next job
  that writes the same destination recognises and deletes them
  (``remove_leftovers``) before it starts.
"""

from __future__ import annotations

import ctypes
import functools
import logging
import os
import re
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

LOG = logging.getLogger(__name__)

TEMPORARY_PREFIX = ".tmp-"
# mkstemp's random part: 8 characters of [a-z0-9_]
_RANDOM = r"[a-z0-9_]{8}"
# The destination's name is kept up to this many characters in its temporaries' names,
# so that they stay within a file system's 255-byte names.
_NAME_KEPT = 120
_PR_SET_PDEATHSIG = 1


@functools.cache
def _prctl() -> Any:
    """libc's ``prctl``, looked up once in the parent: the child between fork and exec
    must not load libraries."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


def _die_with(parent: int, prctl: Any) -> None:
    """In the child, before exec: SIGKILL when ``parent`` dies (kept across exec)."""
    prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before the request: no signal would come
        os.kill(os.getpid(), signal.SIGKILL)


def dies_with_this_process() -> Callable[[], None] | None:
    """A ``preexec_fn`` that ties a child's life to this process (None where Linux's prctl
    is missing).

    The kernel sends the signal when the *thread* that started the child ends: start
    children from a thread that waits for them (``subprocess.run`` does).
    """
    prctl = _prctl()
    if prctl is None:
        return None
    return functools.partial(_die_with, os.getpid(), prctl)


def run_child(command: list[str], **kwargs: Any) -> subprocess.CompletedProcess:
    """``subprocess.run`` whose child is killed when this process dies, even by SIGKILL."""
    return subprocess.run(command, preexec_fn=dies_with_this_process(), **kwargs)  # noqa: PLW1509


def start_child(command: list[str], **kwargs: Any) -> subprocess.Popen:
    """``subprocess.Popen`` whose child is killed when this process dies, even by SIGKILL."""
    return subprocess.Popen(command, preexec_fn=dies_with_this_process(), **kwargs)  # noqa: PLW1509


def temporary_beside(out: str | Path, suffix: str | None = None) -> Path:
    """A new empty file beside ``out`` that ``remove_leftovers(out)`` recognises as its
    temporary: ``.tmp-<out's name>.<random><suffix>`` (suffix: ``out``'s by default)."""
    out = Path(out)
    suffix = out.suffix if suffix is None else suffix
    handle, name = tempfile.mkstemp(
        dir=out.parent, prefix=f"{TEMPORARY_PREFIX}{out.name[:_NAME_KEPT]}.", suffix=suffix
    )
    os.close(handle)
    return Path(name)


_TEMPORARY = re.compile(rf"{re.escape(TEMPORARY_PREFIX)}(?P<name>.+)\.{_RANDOM}(\.[^.]*)?\Z")


def remove_leftovers(outs: Iterable[str | Path]) -> list[Path]:
    """Delete the temporaries of ``outs`` (``temporary_beside``) that a killed job left.

    Only one job writes a given output at a time (Snakemake's outputs, one shard's
    per-video files), so a temporary of one of its outputs found when that job starts
    is a dead job's. Each folder is listed once, however many outputs it holds.
    """
    wanted: dict[Path, set[str]] = {}
    for out in map(Path, outs):
        wanted.setdefault(out.parent, set()).add(out.name[:_NAME_KEPT])
    removed = []
    for folder, names in wanted.items():
        try:
            entries = [e.name for e in os.scandir(folder) if e.name.startswith(TEMPORARY_PREFIX)]
        except OSError:
            continue
        for entry in entries:
            match = _TEMPORARY.match(entry)
            if match is None or match.group("name") not in names:
                continue
            try:
                (folder / entry).unlink()
            except FileNotFoundError:
                continue
            removed.append(folder / entry)
    if removed:
        LOG.info("removed %d temporary file(s) a killed job left", len(removed))
    return removed
