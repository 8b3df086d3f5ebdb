"""The regression guard: the tiny run predicts what it predicted when the expected values were made.

A refactor that silently changes a model's behaviour (a different default, a
reordered computation, a changed input) moves some probability; this fails
then. Updating ``tests/expected/tiny_predictions.csv`` is a deliberate,
explained commit (``tests/expected/predictions.py``).
"""

import pandas as pd
import pytest

from tests.expected.predictions import EXPECTED, TOLERANCE, run_predictions

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_tiny_run_predictions_match_the_committed_expected_values(default_run):
    actual = run_predictions(default_run / "results")
    expected = pd.read_csv(EXPECTED)
    assert list(actual["model"].unique()) == list(expected["model"].unique()), (
        "the set of models changed"
    )
    merged = expected.merge(
        actual, on=["model", "video_id"], how="outer", suffixes=("_expected", "_actual")
    )
    assert merged["proba_1_actual"].notna().all() and merged["proba_1_expected"].notna().all()
    moved = (merged["proba_1_actual"] - merged["proba_1_expected"]).abs() > TOLERANCE
    relabelled = merged["prediction_actual"] != merged["prediction_expected"]
    changed = merged[moved | relabelled]
    assert changed.empty, (
        f"{len(changed)} of {len(merged)} predictions changed (tolerance {TOLERANCE}); if deliberate, "
        f"regenerate with tests/expected/predictions.py:\n{changed.head(20).to_string()}"
    )
