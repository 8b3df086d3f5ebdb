"""Measure a full run and the partial reruns after config edits (README, "Measurements").

Runs the workflow in a scratch working directory (default: the demo corpus
with the repository's config.yaml), then, one after another on that same
directory: an untouched rerun, a fusion hyperparameter edit, a face setting
edit, and one added video. Prints each step's wall time and the jobs it ran
per rule. A benchmark, not a test: the figures depend on the machine.

    .venv/bin/python benchmarks/partial_reruns.py --workdir /tmp/reruns --cores 2
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "lib"))

from ahrec.corpus.bah import parse_split_line, read_text_lines  # noqa: E402
from ahrec.devtools.runs import edit_config, executed_jobs, snakemake_command, snakemake_env  # noqa: E402


def run(workdir: Path, cores: int, *targets: str) -> tuple[float, dict[str, int]]:
    """Snakemake on ``workdir``; wall seconds and executed jobs per rule."""
    command = snakemake_command(workdir, *targets)
    command[command.index("--cores") + 1] = str(cores)
    start = time.monotonic()
    result = subprocess.run(command, capture_output=True, text=True, env=snakemake_env())
    seconds = time.monotonic() - start
    if result.returncode:
        sys.exit(f"snakemake failed:\n{result.stderr[-3000:]}")
    return seconds, executed_jobs(result.stdout + result.stderr)


def add_video(workdir: Path) -> None:
    """A copy of the first test video, listed as a new participant's."""
    corpus = workdir / "results" / "demo_corpus"
    lines = [line for line in read_text_lines(corpus / "test.txt") if line.strip()]
    source, label, transcript = parse_split_line(lines[0])
    new = "Videos/P999/Visite_1/P999_Question_1_2024-05-01_10-00-00_Video.mp4"
    (corpus / new).parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(corpus / source, corpus / new)
    (corpus / "test.txt").write_text("\n".join([*lines, f"{new},{label},{transcript}"]) + "\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, required=True, help="scratch folder (emptied)")
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--config", type=Path, default=None, help="extra config (YAML) to merge")
    parser.add_argument("--target", default="results/submission.csv")
    args = parser.parse_args()
    shutil.rmtree(args.workdir, ignore_errors=True)
    args.workdir.mkdir(parents=True)
    extra = yaml.safe_load(args.config.read_text()) if args.config else {}
    (args.workdir / "config.yaml").write_text(yaml.safe_dump(extra or {}, sort_keys=False))
    fusion_run = "fusion"
    steps = [
        ("full run from empty results/", None),
        ("untouched rerun", None),
        (
            f"fusion edit (fusion.runs.{fusion_run}.params.dropout: 0.25)",
            lambda: edit_config(
                args.workdir, {"fusion": {"runs": {fusion_run: {"params": {"dropout": 0.25}}}}}
            ),
        ),
        (
            "face edit (face.n_frames: 12)",
            lambda: edit_config(args.workdir, {"face": {"n_frames": 12}}),
        ),
        ("one video added to test.txt", lambda: add_video(args.workdir)),
    ]
    print(f"# {args.target}, --cores {args.cores}, working directory {args.workdir}")
    print("| step | wall s | jobs | jobs per rule |")
    print("|---|---|---|---|")
    for name, change in steps:
        if change is not None:
            change()
        seconds, jobs = run(args.workdir, args.cores, args.target)
        per_rule = ", ".join(f"{rule} {count}" for rule, count in sorted(jobs.items()))
        print(
            f"| {name} | {seconds:.0f} | {sum(jobs.values())} | {per_rule or 'none'} |", flush=True
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
