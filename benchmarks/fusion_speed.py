"""Time the fusion stage (one seed's fit) and the Optuna search, at demo and BAH size, on the CPU.

A benchmark, not a test: the figures depend on the machine and its load. It
builds its own inputs (synthetic unimodal embedding tables and training labels
in the formats the fusion step reads), so it needs no finished run:

- demo size: 72 videos (42 / 15 / 15, the demo's 14 / 5 / 5 participants x 3
  questions), the demo's embedding widths (face 256, scene 98, audio 64, text 128);
- BAH size: 1,118 videos (616 / 110 / 392), the paper's widths (256, 768, 128, 128).

About one video in ten lacks a modality. The fusion is the demo's
``fusion_proto`` (the paper's hyperparameters, prototypes on, plateau settings
of config.yaml) and the search its ``search.proto`` space, univariate TPE.

    .venv/bin/python benchmarks/fusion_speed.py                      # this checkout
    .venv/bin/python benchmarks/fusion_speed.py --lib OTHER/lib      # another version of ahrec
    .venv/bin/python benchmarks/fusion_speed.py --out A ; ... --out B --compare-to A

``--out`` keeps every prediction file and the search's trials; ``--compare-to``
prints how far this run's probabilities and MF1 are from an earlier one on the
same data and seeds (the tolerance of a speed change). Fusion jobs run with
one thread in the workflow (``rules/fusion.smk``), hence ``--threads 1``; the
search runs a trial's fits on as many worker processes as its job has
threads (``--workers``, one torch thread each: the same trials, to the bit).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

SEEDS = (42, 2025, 7777, 12345, 31415)
# The demo's fusion_proto (config.yaml: fusion.defaults) and search.proto space.
DEMO_PARAMS = {"plateau_patience": 3, "plateau_min_lr": 0}
DEMO_SPACE = {
    "dropout": {"low": 0.2, "high": 0.65},
    "label_smoothing": {"low": 0.0, "high": 0.06},
    "grad_clip": {"low": 0.5, "high": 2.0},
    "k": {"low": 4, "high": 16},
    "tau": {"low": 0.05, "high": 0.40},
    "lambda_proto": {"low": 0.05, "high": 0.80},
    "lambda_div": {"low": 0.0, "high": 0.15},
}
SIZES = {
    "demo": (
        {"train": 42, "val": 15, "test": 15},
        {"face": 256, "scene": 98, "audio": 64, "text": 128},
    ),
    "bah": (
        {"train": 616, "val": 110, "test": 392},
        {"face": 256, "scene": 768, "audio": 128, "text": 128},
    ),
}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lib", type=Path, default=REPO / "lib", help="the ahrec library to time")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (a fusion job has 1)")
    parser.add_argument("--sizes", nargs="+", default=["demo", "bah"], choices=sorted(SIZES))
    parser.add_argument("--fit-seeds", type=int, default=1, help="demo size: seeds fitted (BAH: 5)")
    parser.add_argument("--bah-seeds", type=int, default=5, help="BAH size: seeds fitted")
    parser.add_argument("--trials", type=int, default=3, help="search trials (0: no search)")
    parser.add_argument("--search-seeds", type=int, default=5, help="seeds per trial (the demo: 5)")
    parser.add_argument("--bah-trials", type=int, default=0, help="search trials at BAH size")
    parser.add_argument(
        "--workers", type=int, default=1, help="search: worker processes (the job's threads)"
    )
    parser.add_argument("--out", type=Path, help="keep predictions and trials here")
    parser.add_argument("--compare-to", type=Path, help="an earlier --out to compare with")
    return parser.parse_args()


def write_inputs(folder: Path, size: str) -> tuple[list[Path], Path, dict[str, int]]:
    """Embedding tables (one per modality) and training labels; test labels kept apart."""
    import numpy as np

    from ahrec.devtools.manifests import manifest_frame
    from ahrec.embeddings.table import EmbeddingRow, write_embeddings
    from ahrec.training.labels import training_labels

    counts, dims = SIZES[size]
    rng = np.random.default_rng(0)
    rows, truth = [], {}
    for split, n in counts.items():
        for i in range(n):
            video_id = f"{split}{i:04d}"
            label = int(rng.random() < 0.45)
            truth[video_id] = label
            rows.append(
                {
                    "video_id": video_id,
                    "split": split,
                    "participant": f"{split}{i // 3}",
                    "label": label,
                    "video_path": f"Videos/{video_id}.mp4",
                    "list_order": i,
                }
            )
    manifest = manifest_frame(rows)
    folder.mkdir(parents=True, exist_ok=True)
    training_labels(manifest).to_parquet(folder / "labels.parquet", index=False)
    tables = []
    for number, (modality, dim) in enumerate(dims.items()):
        direction = rng.normal(size=dim).astype(np.float32)
        table_rows = []
        for row in manifest.itertuples():
            if rng.random() < 0.1:
                table_rows.append(EmbeddingRow.missing(row.video_id, "synthetic gap"))
                continue
            sign = 1.0 if row.label == 1 else -1.0
            vector = (
                rng.normal(size=dim).astype(np.float32) + 0.04 * (number + 1) * sign * direction
            )
            table_rows.append(EmbeddingRow(row.video_id, vector.astype(np.float32)))
        path = folder / f"{modality}.parquet"
        write_embeddings(path, table_rows, dim, {"modality": modality})
        tables.append(path)
    return tables, folder / "labels.parquet", truth


def timed(function) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def run_size(size: str, args: argparse.Namespace, work: Path, figures: list) -> None:
    from ahrec.evaluation.settings import EvaluationSettings
    from ahrec.fusion.params import FusionParams, FusionRun, SearchSpec, parse_space
    from ahrec.fusion.search import SearchOutputs, run_search
    from ahrec.fusion.steps import SeedOutputs, train_fusion_seed

    tables, labels, truth = write_inputs(work / size / "inputs", size)
    (work / size / "truth.json").write_text(json.dumps(truth))
    evaluation = EvaluationSettings()
    n_fits = args.bah_seeds if size == "bah" else args.fit_seeds
    seeds = SEEDS[:n_fits]

    def fits() -> None:
        for seed in seeds:
            train_fusion_seed(
                True,
                DEMO_PARAMS,
                seed,
                tables,
                labels,
                SeedOutputs.under(work / size / f"seed{seed}"),
                device="cpu",
                evaluation=evaluation,
            )

    if n_fits:
        seconds = timed(fits)
        figures.append((size, f"fusion, {n_fits} seed fit(s)", seconds, seconds / n_fits, "fit"))
    trials = args.bah_trials if size == "bah" else args.trials
    if trials:
        dimensions = tuple(parse_space("search.proto.space", DEMO_SPACE)[0])
        search_seeds = list(SEEDS[: args.search_seeds])
        search = SearchSpec("proto", "proto", trials, tuple(search_seeds), 0, dimensions, False)
        run = FusionRun("proto", (), True, tuple(seeds), "proto", FusionParams(**DEMO_PARAMS))
        seconds = timed(
            lambda: run_search(
                search,
                run,
                tables,
                labels,
                SearchOutputs.under(work / size / "search"),
                evaluation,
                device="cpu",
                workers=max(1, args.workers),
            )
        )
        n = trials * len(search_seeds)
        figures.append(
            (
                size,
                f"search, {trials} trials x {len(search_seeds)} seeds"
                + (f", {args.workers} workers" if args.workers > 1 else ""),
                seconds,
                seconds / n,
                "fit",
            )
        )


def compare(new: Path, old: Path) -> None:
    """Max |probability difference|, val and test MF1 differences, search objective differences."""
    import numpy as np
    import pandas as pd

    from ahrec.metrics import macro_f1
    from ahrec.training.predictions import proba_matrix, read_predictions

    print(f"\ncompared with {old}")
    print(f"{'predictions':<34} {'max |dp|':>10} {'d val MF1':>10} {'d test MF1':>11}")
    for path in sorted(new.glob("*/seed*/predictions.parquet")):
        other = old / path.relative_to(new)
        if not other.is_file():
            continue
        a, b = read_predictions(path), read_predictions(other)
        truth = json.loads((path.parents[1] / "truth.json").read_text())
        test = a["split"] == "test"
        y = a.loc[test, "video_id"].map(truth).to_numpy()
        pa, pb = proba_matrix(a), proba_matrix(b)
        mf1 = [macro_f1(y, p[test.to_numpy()].argmax(1)) for p in (pa, pb)]
        val = [
            json.loads((q.parent / "selection.json").read_text())["best_val_mf1"]
            for q in (path, other)
        ]
        print(
            f"{str(path.parent.relative_to(new)):<34} {np.abs(pa - pb).max():>10.2e} "
            f"{val[0] - val[1]:>+10.4f} {mf1[0] - mf1[1]:>+11.4f}"
        )
    for path in sorted(new.glob("*/search/trials.csv")):
        other = old / path.relative_to(new)
        if other.is_file():
            a, b = pd.read_csv(path), pd.read_csv(other)
            diff = np.abs(a["value"].to_numpy() - b["value"].to_numpy()).max()
            print(f"{str(path.parent.relative_to(new)):<34} max |d trial objective| {diff:.2e}")


def main() -> None:
    args = parse_args()
    sys.path.insert(0, str(args.lib.resolve()))
    logging.basicConfig(level=logging.WARNING)
    # the search's trials as they end, their fits' seconds and the least the search can take
    logging.getLogger("ahrec.fusion.search").setLevel(logging.INFO)
    import torch

    torch.set_num_threads(args.threads)
    import ahrec

    figures: list = []
    # Paid once per process, by whichever fit comes first: torch's optimisers
    # import torch._dynamo on first construction. Timed apart so that the fit
    # figures are the fits' own; a workflow job pays it on top of its fit.
    start = time.perf_counter()
    torch.optim.RMSprop([torch.nn.Parameter(torch.zeros(1))])
    figures.append(("-", "first optimiser (torch._dynamo)", time.perf_counter() - start, 0.0, ""))
    with tempfile.TemporaryDirectory() as scratch:
        work = args.out or Path(scratch)
        for size in args.sizes:
            run_size(size, args, work, figures)
        print(
            f"ahrec from {Path(ahrec.__file__).parent}; torch {torch.__version__}, {args.threads} thread(s)"
        )
        print(f"{'size':<6} {'what':<32} {'seconds':>9} {'s per fit':>10}")
        for size, what, seconds, per, _ in figures:
            print(f"{size:<6} {what:<32} {seconds:>9.2f} {per:>10.3f}")
        if args.compare_to and args.out:
            compare(args.out, args.compare_to)


if __name__ == "__main__":
    main()
