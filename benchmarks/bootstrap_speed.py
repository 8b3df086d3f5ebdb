"""Time the participant bootstrap of macro F1: 2000 resamples, 400 videos, 200 participants.

A benchmark, not a test: the figures depend on the machine. The point is the
order of magnitude (milliseconds), which lets the results table bootstrap every
system on every split without a second thought.

    .venv/bin/python benchmarks/bootstrap_speed.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))

from ahrec.evaluation.bootstrap import (  # noqa: E402
    bootstrap_mf1,
    paired_difference,
    participant_resamples,
)

N_RESAMPLES, N_VIDEOS, N_PARTICIPANTS, REPEATS = 2000, 400, 200, 20


def best_of(function, repeats: int = REPEATS) -> float:
    """Fastest of ``repeats`` calls, in milliseconds (the least disturbed by other load)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return 1000 * min(times)


def main() -> None:
    rng = np.random.default_rng(0)
    participants = [f"P{i % N_PARTICIPANTS:03d}" for i in range(N_VIDEOS)]
    labels = rng.integers(0, 2, N_VIDEOS)
    a = np.where(rng.random(N_VIDEOS) < 0.7, labels, 1 - labels)
    b = np.where(rng.random(N_VIDEOS) < 0.6, labels, 1 - labels)

    resamples = participant_resamples(participants, N_RESAMPLES, seed=0)
    estimate_a = bootstrap_mf1(labels, a, participants, resamples)
    estimate_b = bootstrap_mf1(labels, b, participants, resamples)

    print(f"{N_RESAMPLES} resamples, {N_VIDEOS} videos, {N_PARTICIPANTS} participants")
    draw = best_of(lambda: participant_resamples(participants, N_RESAMPLES, seed=0))
    print(f"  draw resamples:       {draw:7.2f} ms")
    score = best_of(lambda: bootstrap_mf1(labels, a, participants, resamples))
    print(f"  bootstrap one system: {score:7.2f} ms")
    compare = best_of(lambda: paired_difference(estimate_a, estimate_b))
    print(f"  paired difference:    {compare:7.2f} ms")
    print(f"  total (draw + score): {draw + score:7.2f} ms")


if __name__ == "__main__":
    main()
