"""What each missing-modality policy costs, on the degenerate videos of a benchmark corpus.

The benchmark corpus (``presets/benchmark.yaml``) plants degenerate videos at
known rates (no detectable face, very short clips, silent audio, no
transcript) and records them in ``demo_cues.csv``. Runs that differ only in a
policy (``face.no_face: whole_frames | mask``, ``media.min_seconds``) give
different predictions on those videos; this prints, per run and per kind of
video, the test MF1 of a system with its participant-bootstrap interval, and
the paired difference between the runs on the same videos.

    .venv/bin/python benchmarks/missing_modality.py RUN_A/results RUN_B/results [--system fusion_proto]

``RUN_*/results`` are finished runs' results folders on the same corpus.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "lib"))

import pandas as pd  # noqa: E402

from ahrec.corpus.manifest import read_manifest  # noqa: E402
from ahrec.demo.ceilings import read_demo_cues  # noqa: E402
from ahrec.evaluation.bootstrap import bootstrap_mf1, paired_difference, participant_resamples  # noqa: E402
from ahrec.training.predictions import read_predictions  # noqa: E402

KINDS = ("all", "normal", "no_face", "very_short", "silent", "no_transcript")


def predictions_path(results: Path, system: str) -> Path:
    """A run's ensemble predictions (or a unimodal model's, by name)."""
    for candidate in (results / "fusion" / system / "ensemble", results / "unimodal" / system):
        if (candidate / "predictions.parquet").is_file():
            return candidate / "predictions.parquet"
    sys.exit(f"{results}: no predictions for {system!r}")


def subsets(results: Path) -> pd.DataFrame:
    """Test videos with label, participant and degenerate kind (from the manifest and the cues)."""
    manifest = read_manifest(results / "manifest.parquet")
    cues = read_demo_cues(results / "demo_corpus" / "demo_cues.csv")
    kind = dict(zip(cues["video_path"], cues["degenerate"].replace("", "normal"), strict=True))
    test = manifest[(manifest["split"] == "test") & manifest["label"].notna()].copy()
    test["kind"] = test["video_path"].map(kind).fillna("normal")
    return (
        test[["video_id", "participant", "label", "kind"]]
        .sort_values("video_id")
        .reset_index(drop=True)
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs=2, type=Path, help="two results folders on the same corpus")
    parser.add_argument("--system", default="fusion_proto", help="a fusion run or unimodal model")
    parser.add_argument("--resamples", type=int, default=2000)
    args = parser.parse_args(argv)
    videos = subsets(args.runs[0])
    guesses = []
    for results in args.runs:
        frame = read_predictions(predictions_path(results, args.system)).set_index("video_id")
        guesses.append(frame.loc[videos["video_id"], "prediction"].to_numpy(dtype=int))
    print(f"# {args.system} on test: {args.runs[0]} (A) vs {args.runs[1]} (B)")
    print("| videos | n | A MF1 [95% CI] | B MF1 [95% CI] | B - A [95% CI], p |")
    print("|---|---:|---|---|---|")
    for kind in KINDS:
        rows = videos if kind == "all" else videos[videos["kind"] == kind]
        if rows.empty:
            continue
        resamples = participant_resamples(rows["participant"], args.resamples, 0)
        index = rows.index.to_numpy()
        labels = rows["label"].astype(int).to_numpy()
        a, b = (
            bootstrap_mf1(labels, g[index], rows["participant"].to_numpy(), resamples)
            for g in guesses
        )
        d = paired_difference(b, a)

        def show(e: object) -> str:
            return f"{100 * e.value:.1f} [{100 * e.low:.1f}, {100 * e.high:.1f}]"

        change = (
            f"{100 * d.value:+.1f} [{100 * d.low:+.1f}, {100 * d.high:+.1f}], p={d.p_value:.3f}"
        )
        print(f"| {kind} | {len(rows)} | {show(a)} | {show(b)} | {change} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
