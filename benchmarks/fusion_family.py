"""Fusion across a corpus family: does each candidate fuse on corpora it was not tuned on?

Generates benchmark corpora (the benchmark preset's recipe with other
generator seeds and cue reliabilities, none of them the preset's 2027 / 0.8),
runs the candidate fusions on each (``ahrec.devtools.family.CANDIDATES``: the
paper's Transformer on embeddings, on log-odds or both, without prototypes,
and the late fusions) up to ``results/table.csv``, and prints the system x
corpus table: test MF1 with its interval, the ceiling, the share recovered,
the paired difference with the best unimodal model and with the late logistic
regression (the family's submitted run, so the reference of every row); then a
summary per system. A benchmark,
not a test: the corpora take minutes each (docs/measurements.md, "Fusion
across a corpus family", for the figures and the wall time).

    .venv/bin/python benchmarks/fusion_family.py --workdir /work/family \\
        --seeds 101 202 303 --reliabilities 0.75 0.85 --participants 240

A member that already ran is not run again (Snakemake reruns nothing);
``--explain fusion_proto`` also writes each member's explanations of the
paper's ensemble, which ``benchmarks/explanations.py`` checks against the
planted cues (pooled over the family);
``--table-only`` prints the table of what has run, ``--probes`` adds per
corpus a logistic regression on each unimodal model's embedding against one
on its log-odds (what the fusion reads, and how much of the label it holds).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "lib"))

from ahrec.devtools.family import (  # noqa: E402
    CANDIDATES,
    DEFAULT_RUNS,
    family_table,
    linear_probes,
    markdown,
    members,
    summary,
    unimodal_vote,
    write_explain_config,
    write_member,
)
from ahrec.devtools.runs import executed_jobs, snakemake_command, snakemake_env  # noqa: E402


def run_member(
    folder: Path,
    cores: int,
    log: Path,
    target: str = "results/table.csv",
    config: Path | None = None,
) -> float:
    """Snakemake up to the member's ``target`` with its config (or ``config``); wall
    seconds (its output in ``log``)."""
    command = snakemake_command(folder, target, cores=cores, configfile=config)
    command += ["--rerun-incomplete", "--keep-going"]
    start = time.monotonic()
    with log.open("w") as out:
        result = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, env=snakemake_env())
    seconds = time.monotonic() - start
    if result.returncode:
        sys.exit(f"{folder.name}: snakemake failed; see {log}")
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, required=True, help="one folder per corpus")
    parser.add_argument("--seeds", type=int, nargs="+", default=[101, 202, 303])
    parser.add_argument("--reliabilities", type=float, nargs="+", default=[0.75, 0.85])
    parser.add_argument(
        "--participants", type=int, default=240, help="per corpus (the preset's 240)"
    )
    parser.add_argument(
        "--runs",
        nargs="+",
        default=DEFAULT_RUNS,
        help=f"of {', '.join(CANDIDATES)} (default: all but proto_moddrop)",
    )
    parser.add_argument(
        "--submission",
        default="late_logreg",
        help="the run every other is compared with (default: the late logistic regression)",
    )
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--table-only", action="store_true", help="print what has run")
    parser.add_argument("--csv", type=Path, help="also write the family table here")
    parser.add_argument(
        "--explain",
        metavar="RUN",
        help="also explain this run's test videos in each member (results/explanations.csv, "
        "for benchmarks/explanations.py), e.g. fusion_proto",
    )
    parser.add_argument(
        "--probes",
        action="store_true",
        help="also print, per corpus, a logistic regression on each model's embedding vs its "
        "log-odds (where the signal the fusion reads goes)",
    )
    args = parser.parse_args()
    family = members(args.seeds, args.reliabilities)
    if any(m.seed == 2027 and m.reliability == 0.8 for m in family):
        print("note: seed 2027 at reliability 0.8 is the preset's own corpus", file=sys.stderr)
    tables, bounds = {}, {}
    for member in family:
        folder = write_member(
            args.workdir,
            member,
            participants=args.participants,
            runs=args.runs,
            submission=args.submission,
        )
        if not args.table_only:
            log = folder / "snakemake.log"
            seconds = run_member(folder, args.cores, log)
            jobs = sum(executed_jobs(log.read_text()).values())
            print(f"# {member.name}: {seconds / 60:.1f} min, {jobs} jobs", flush=True)
            if args.explain:
                config = write_explain_config(folder, args.explain)
                seconds = run_member(
                    folder,
                    args.cores,
                    folder / "explain.log",
                    "results/explanations.csv",
                    config,
                )
                print(f"# {member.name}: {args.explain} explained in {seconds:.0f} s", flush=True)
        table = folder / "results" / "table.csv"
        if table.exists():
            tables[member] = pd.read_csv(table)
            if args.probes:
                probes = linear_probes(folder / "results")
                bounds[member] = float(probes["bound_logodds"].iloc[-1])
                vote = unimodal_vote(folder / "results")
                print(f"# {member.name}: linear probes (test MF1, %); vote of the calls {vote}")
                print(probes.to_markdown(index=False), flush=True)
        else:
            print(f"# {member.name}: no table yet", file=sys.stderr)
    if not tables:
        return 1
    frame = family_table(tables, bounds)
    if args.csv:
        frame.to_csv(args.csv, index=False)
    print(markdown(frame))
    print()
    print(summary(frame).to_markdown(index=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
