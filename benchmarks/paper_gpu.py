"""The paper's setting, whole, at the paper's model sizes: wall time and peak GPU memory per rule.

Runs ``presets/paper.yaml`` itself through the workflow (its own Snakefile and
rules) in a scratch folder, with every checkpoint replaced by a model of the
same architecture built locally with random weights (``ahrec.devtools.tiny_models``,
``--size paper``: VideoMAE-base, EfficientNet-B0, wav2vec2-large with 12
layers, DistilRoBERTa; tiny YOLOv8-face and Whisper, whose cost is small) and
the corpus a generated demo corpus in the BAH layout. Nothing else of the
preset changes: all its rules, models, fusion runs and the search run, on
``device: cuda`` when a GPU is visible.

Per rule it prints the jobs, their summed and longest wall time and peak RSS
(from the ``benchmark:`` files the rules write) and the peak GPU memory (the
jobs log ``torch.cuda.max_memory_allocated`` when they used CUDA), and the
run's total wall time.

    .venv/bin/python benchmarks/paper_gpu.py --workdir /scratch/paper-bench --size paper \\
        [--participants 24] [--trials 50] [--cores 16] [--json out.json]
    # on a CPU, to know it runs: tiny models, short training
    .venv/bin/python benchmarks/paper_gpu.py --workdir /tmp/paper-bench --size tiny --quick
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "lib"))


import pandas as pd  # noqa: E402
import yaml  # noqa: E402

from ahrec.devtools import tiny_models  # noqa: E402
from ahrec.devtools.runs import paper_config  # noqa: E402
from ahrec.reporting.benchmarks import read_benchmarks, summarise_benchmarks  # noqa: E402
from ahrec.runtime import PEAK_GPU_MEMORY  # noqa: E402

ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "YOLO_OFFLINE": "1"}


def snakemake(workdir: Path, cores: int, *args: str) -> float:
    """The repository's workflow in ``workdir``; its wall seconds (exits with the log on failure)."""
    command = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile")]
    command += ["--directory", str(workdir), "--configfile", str(workdir / "config.yaml")]
    command += ["--cores", str(cores), *args]
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, env=ENV)
    if result.returncode:
        logs = sorted(
            (workdir / "results" / "logs").rglob("*.log"), key=lambda p: p.stat().st_mtime
        )
        tails = "\n".join(f"--- {p}\n{p.read_text()[-1500:]}" for p in logs[-3:])
        sys.exit(f"snakemake {' '.join(args)} failed:\n{result.stderr[-3000:]}\n{tails}")
    return time.perf_counter() - start


def generate_corpus(workdir: Path, participants: int, cores: int) -> Path:
    """A demo corpus in the BAH layout (train/val/test.txt, Videos/), made by the workflow."""
    folder = workdir / "corpus"
    folder.mkdir(parents=True, exist_ok=True)
    train = max(2, participants // 2)
    val = max(1, (participants - train) // 2)
    config = {
        "preset": "custom",
        "results": "results",
        "corpus": {
            "type": "demo",
            "participants": train + val + max(1, participants - train - val),
            "questions_per_participant": 2,
            "split_participants": {
                "train": train,
                "val": val,
                "test": max(1, participants - train - val),
            },
            "seed": 7,
            "min_seconds": 4.0,
            "max_seconds": 12.0,
            "test_videos_without_transcript": 1,
        },
    }
    (folder / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    snakemake(folder, cores, "results/demo_corpus/test.txt")
    return folder / "results" / "demo_corpus"


def peak_gpu(logs: Path) -> pd.Series:
    """Per rule, the largest peak GPU memory (MiB) its jobs logged."""
    pattern = re.compile(re.escape(PEAK_GPU_MEMORY) + r" ([0-9.]+) MiB")
    peaks: dict[str, float] = {}
    for path in logs.rglob("*.log"):
        found = pattern.findall(path.read_text(errors="replace"))
        if found:
            rule = path.relative_to(logs).parts[0].removesuffix(".log")
            peaks[rule] = max(peaks.get(rule, 0.0), *map(float, found))
    return pd.Series(peaks, name="peak_gpu_mib", dtype=float)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--size", choices=sorted(tiny_models.SIZES), default="paper")
    parser.add_argument("--quick", action="store_true", help="CI-sized frames, epochs, trials")
    parser.add_argument("--participants", type=int, default=None, help="of the demo corpus")
    parser.add_argument("--trials", type=int, default=None, help="search trials (preset: 50)")
    parser.add_argument("--cores", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    workdir = args.workdir.resolve()
    participants = args.participants or (8 if args.quick else 24)
    corpus = generate_corpus(workdir, participants, args.cores)
    folder = workdir / "models" / args.size
    paths = tiny_models.build_architectures(folder, args.size)
    paths["yolo"] = tiny_models.tiny_yolov8(folder)
    paths["whisper"] = tiny_models.tiny_whisper(folder)
    layers = tiny_models.SIZES[args.size].wav2vec2.layers
    config = paper_config(
        corpus, {k: str(v) for k, v in paths.items()}, quick=args.quick, layer=min(10, layers)
    )
    config["device"] = args.device
    if args.trials is not None:
        for search in config.get("search", {}).values():
            search["n_trials"] = args.trials
    run = workdir / "run"
    run.mkdir(parents=True, exist_ok=True)
    (run / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    extra = ["--resources", "gpu=1"] if args.device != "cpu" else []
    wall = snakemake(run, args.cores, *extra)
    results = run / "results"
    summary = summarise_benchmarks(read_benchmarks(results / "benchmarks"))
    summary = summary.join(peak_gpu(results / "logs"), how="left")
    pd.set_option("display.width", 160)
    print(summary.to_string(na_rep="-"))
    print(
        f"\npaper preset, {args.size} models, {participants} participants: "
        f"{wall:.0f} s wall, {summary['total_s'].sum():.0f} s summed over jobs"
    )
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "size": args.size,
                    "participants": participants,
                    "wall_s": wall,
                    "rules": json.loads(
                        summary.reset_index(names="rule").to_json(orient="records")
                    ),
                },
                indent=2,
            )
            + "\n"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
