"""Every prediction of a finished run as one table, for the regression guard.

``tests/expected/tiny_predictions.csv`` holds this table for the tiny
end-to-end run of ``.test/config.yaml``; ``tests/e2e/test_regression.py``
compares a fresh run with it. To update it after a deliberate change of model
behaviour (and say why in the commit):

    .venv/bin/python tests/expected/predictions.py --regenerate
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[2]
EXPECTED = REPO / "tests" / "expected" / "tiny_predictions.csv"
# Class-1 probabilities may move this much (float rounding across BLAS builds) before the
# guard fails; a predicted label may not change at all.
TOLERANCE = 1e-4


def run_predictions(results: Path) -> pd.DataFrame:
    """(model, video_id, proba_1, prediction) of every predictions table of a run, sorted."""
    frames = []
    for path in sorted(results.glob("unimodal/*/predictions.parquet")) + sorted(
        results.glob("fusion/*/*/predictions.parquet")
    ):
        frame = pd.read_parquet(path, columns=["video_id", "proba_1", "prediction"])
        frame.insert(0, "model", str(path.parent.relative_to(results)))
        frames.append(frame)
    table = pd.concat(frames, ignore_index=True).sort_values(["model", "video_id"])
    table["proba_1"] = table["proba_1"].astype(float).round(6)
    return table.reset_index(drop=True)


def regenerate() -> None:
    sys.path[:0] = [str(REPO), str(REPO / "lib")]
    from tests.e2e.workflow import snakemake, write_config

    with tempfile.TemporaryDirectory() as folder:
        workdir = Path(folder)
        write_config(workdir, {})
        snakemake(workdir)
        run_predictions(workdir / "results").to_csv(EXPECTED, index=False)
    print(f"wrote {EXPECTED}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--regenerate", action="store_true", required=True)
    parser.parse_args()
    regenerate()
