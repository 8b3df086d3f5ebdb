"""Explanations and calibration against the demo's known answer, on a finished run.

Run the workflow on a demo corpus (the benchmark preset's is the one
docs/measurements.md quotes), then point this at its results folder:

    .venv/bin/snakemake --configfile presets/benchmark.yaml --cores 2 results/explanations.csv results/table.csv
    .venv/bin/python benchmarks/explanations.py results

It prints: among the test videos where exactly one modality's planted cue
agrees with the submitted run's label, how often that modality has the
largest contribution towards the label and how often masking it moves the
probability towards the other class (participant-bootstrap intervals), and
the mirror check on the videos where exactly one cue dissents; the
largest contribution of a modality a video lacks (0 by construction); the
submitted run's ECE and Brier score on test before and after its
calibration map (paired intervals); and the explain job's wall time.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "lib"))

import pandas as pd  # noqa: E402

from ahrec.devtools.explain_check import check_explanations, model_readings, report  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path, nargs="?", default=Path("results"))
    args = parser.parse_args(argv)
    results = args.results
    cues = results / "demo_corpus" / "demo_cues.csv"
    if not cues.is_file():
        sys.exit(f"{cues}: not a demo corpus run (no planted cues)")
    result = check_explanations(
        results / "explanations.csv", cues, results / "table.json", model_readings(results)
    )
    print(report(result))
    timing = results / "benchmarks" / "explain.tsv"
    if timing.is_file():
        seconds = float(pd.read_csv(timing, sep="\t")["s"].iloc[0])
        print(f"  explain job: {seconds:.1f} s wall for {result['videos']} videos")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
