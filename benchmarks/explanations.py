"""Explanations and calibration against the demo's known answer, on a finished run.

Run the workflow on a demo corpus (the benchmark preset's is the one
docs/measurements.md quotes), then point this at its results folder:

    .venv/bin/snakemake --configfile presets/benchmark.yaml --cores 2 results/explanations.csv results/table.csv
    .venv/bin/python benchmarks/explanations.py results

It prints: among the test videos where exactly one modality's planted cue
agrees with the submitted run's label, how often that modality has the
largest contribution towards the label and how often masking it moves the
probability towards the other class (participant-bootstrap intervals);
what the unimodal models read on those videos (the share where the agreeing
modality's model was the only one to call the label, and there how often it
is the top one; what naming at random one of the models that called the
label would score; how often each model's call equals its own cue); the
mirror check on the videos where exactly one cue dissents; the
largest contribution of a modality a video lacks (0 by construction); the
submitted run's ECE and Brier score on test before and after its
calibration map (paired intervals); and the explain job's wall time.

Given several results folders (corpora of one recipe, such as the fusion
family's), it prints each and then the same figures pooled over all of
them, each corpus's participants drawn as separate people:

    .venv/bin/python benchmarks/explanations.py /work/family240/*/results
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "lib"))

import pandas as pd  # noqa: E402

from ahrec.devtools.explain_check import (  # noqa: E402
    check_explanations,
    model_readings,
    pooled_inputs,
    report,
)


def one_folder(results: Path) -> None:
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path, nargs="*", default=[Path("results")])
    args = parser.parse_args(argv)
    for results in args.results:
        if len(args.results) > 1:
            print(f"# {results}")
        one_folder(results)
    if len(args.results) > 1:
        print(f"# pooled over {len(args.results)} corpora")
        frame, cues, readings = pooled_inputs(args.results)
        print(report(check_explanations(frame, cues, readings=readings)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
