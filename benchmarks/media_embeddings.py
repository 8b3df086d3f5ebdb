"""Throughput and peak memory of the media and embedding rules, against a plain ffmpeg decode.

Runs the workflow itself (its own Snakefile, rules and settings) on a copy: a
scratch working directory whose configuration is the repository's (or a
preset's), pointed at a corpus, with the ``embeddings`` target, which stops
after the embedding tables. Each rule's cost then comes from the
``benchmark:`` files the rules write, so the figures are those of the jobs a
real run starts (one process per shard for the media rules, detection and
the encoders), model loading and interpreter start-up
included. Nothing here restates a setting: change the workflow, and this
measures the change.

    .venv/bin/python benchmarks/media_embeddings.py --workdir /tmp/bench [--corpus DIR]
        [--limit N] [--cores 2] [--configfile presets/paper.yaml] [--json bench.json]

Without ``--corpus`` the workflow generates its demo corpus first (not timed
as a stage). ``--limit N`` keeps the first N videos of the split files.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "lib"))

import yaml  # noqa: E402

from ahrec.corpus.bah import read_split_file  # noqa: E402
from ahrec.devtools.runs import snakemake_env  # noqa: E402
from ahrec.reporting.benchmarks import read_benchmarks  # noqa: E402

# The rules of the media and embedding part of the workflow, in DAG order.
STAGES = (
    "manifest",
    "scene_frames",
    "face_frames",
    "audio",
    "faces",
    "transcripts",
    "embed_scene",
    "embed_face",
    "embed_audio",
    "embed_text",
    "embed_tfidf",
)
BASELINE = "ffmpeg decode (baseline)"


def snakemake(workdir: Path, cores: int, *args: str) -> float:
    """Run the repository's workflow in ``workdir``; its wall seconds."""
    command = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile")]
    command += ["--directory", str(workdir), "--configfile", str(workdir / "config.yaml")]
    command += ["--cores", str(cores), *args]
    start = time.perf_counter()
    # without waiting on a SLURM controller at start-up (ahrec.devtools.runs)
    result = subprocess.run(command, capture_output=True, text=True, env=snakemake_env())
    if result.returncode:
        sys.exit(f"snakemake {' '.join(args)} failed:\n{result.stderr[-3000:]}")
    return time.perf_counter() - start


def write_csv_corpus(corpus: Path, workdir: Path, limit: int | None) -> Path:
    """The first ``limit`` videos of a BAH-layout corpus as a CSV manifest (paths stay in place)."""
    rows = []
    for split in ("train", "val", "test"):
        records, problems = read_split_file(corpus / f"{split}.txt", corpus, split)
        if problems:
            sys.exit("\n".join(problems))
        rows += [
            {
                "video_path": r.video_path,
                "split": r.split,
                "label": "" if r.label is None else r.label,
                "participant": r.participant,
                "transcript": r.transcript or "",
            }
            for r in records
        ]
    rows = rows[:limit] if limit else rows
    import pandas as pd

    path = workdir / "corpus.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def prepare(args: argparse.Namespace) -> tuple[Path, dict[str, Any]]:
    workdir = args.workdir
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    base = yaml.safe_load((args.configfile or REPO / "config.yaml").read_text())
    config = dict(base)
    corpus = args.corpus
    if corpus is None:
        (workdir / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
        snakemake(workdir, args.cores, f"{config.get('results', 'results')}/demo_corpus/train.txt")
        corpus = workdir / config.get("results", "results") / "demo_corpus"
    manifest = write_csv_corpus(corpus.resolve(), workdir, args.limit)
    config["corpus"] = {"type": "csv", "manifest": str(manifest), "root": str(corpus.resolve())}
    (workdir / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return workdir, config


def decode_baseline(paths: Sequence[str]) -> float:
    """Seconds ffmpeg needs merely to decode every stream of each video, one thread, in turn."""
    for path in paths:  # read once so that neither side pays for a cold disk cache
        Path(path).read_bytes()
    start = time.perf_counter()
    for path in paths:
        subprocess.run(
            ["ffmpeg", "-nostdin", "-v", "error", "-threads", "1", "-i", path, "-f", "null", "-"],
            check=False,
            capture_output=True,
        )
    return time.perf_counter() - start


def summarise(workdir: Path, config: dict[str, Any], wall_s: float, cores: int) -> dict[str, Any]:
    import pandas as pd

    results = workdir / config.get("results", "results")
    manifest = pd.read_parquet(results / "manifest.parquet")
    paths = [str(p) for p in manifest["path"]]
    videos, seconds = len(manifest), float(manifest["duration"].fillna(0).sum())
    baseline = decode_baseline(paths)
    jobs = read_benchmarks(results / "benchmarks")
    rows = [
        {"stage": BASELINE, "jobs": videos, "wall_s": baseline, "cpu_s": None, "peak_rss_mb": None}
    ]
    for rule in STAGES:
        mine = jobs[jobs["rule"] == rule]
        if mine.empty:
            continue
        rows.append(
            {
                "stage": rule,
                "jobs": len(mine),
                "wall_s": float(mine["seconds"].sum()),
                "cpu_s": float(mine["cpu_seconds"].sum()),
                "peak_rss_mb": float(mine["max_rss_mb"].max()),
            }
        )
    for row in rows:
        row["videos_per_s"] = videos / row["wall_s"] if row["wall_s"] else None
        row["video_s_per_s"] = seconds / row["wall_s"] if row["wall_s"] else None
        row["x_decode"] = row["wall_s"] / baseline if baseline else None
    return {
        "machine": f"{os.cpu_count()} CPUs, {platform.processor() or platform.machine()}, "
        f"Python {platform.python_version()}, snakemake --cores {cores}",
        "corpus": f"{videos} videos, {seconds:.1f} s of video",
        "workflow_wall_s": wall_s,
        "stages": rows,
    }


def format_table(report: dict[str, Any]) -> str:
    """A Markdown table: per stage, its jobs' summed wall and CPU time, rates and peak memory."""

    def number(value: float | None, digits: int = 3) -> str:
        return "-" if value is None else f"{value:.{digits}g}"

    lines = [
        f"machine: {report['machine']}",
        f"corpus: {report['corpus']}; `snakemake embeddings` took {report['workflow_wall_s']:.1f} s wall",
        "",
        "| stage | jobs | job wall s | CPU s | videos/s | video s/s | x decode | peak RSS MB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in report["stages"]:
        cells = [
            row["stage"],
            str(row["jobs"]),
            number(row["wall_s"]),
            number(row["cpu_s"]),
            number(row["videos_per_s"]),
            number(row["video_s_per_s"]),
            number(row["x_decode"]),
            number(row["peak_rss_mb"], 4),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, required=True, help="scratch folder (emptied)")
    parser.add_argument(
        "--corpus", type=Path, help="a BAH-layout folder (default: the demo corpus)"
    )
    parser.add_argument("--limit", type=int, help="keep the first N videos")
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--configfile", type=Path, help="a preset instead of config.yaml")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON")
    args = parser.parse_args(argv)
    workdir, config = prepare(args)
    wall = snakemake(workdir, args.cores, "embeddings")
    report = summarise(workdir, config, wall, args.cores)
    print(format_table(report))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
