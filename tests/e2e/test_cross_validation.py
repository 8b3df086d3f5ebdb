"""Cross-validated selection end to end: the default run's corpus with
``evaluation.selection: cv``, and the test labels flipped under it.
"""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest

from tests.e2e.workflow import (
    LEAN_RUNS,
    UNIMODAL,
    copy_run,
    executed_jobs,
    flip_test_labels,
    prediction_files,
    snakemake,
    write_config,
)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture(scope="module")
def cv_run(default_run, tmp_path_factory):
    """Cross-validated selection on the same corpus, the submitted run chosen by CV MF1.

    A copy of the default run with the selection switched to CV: its media and
    embeddings stay (selection reaches neither), every unimodal model and the lean
    runs' fusion models and search are trained again, from empty folders.
    """
    workdir = copy_run(default_run, tmp_path_factory.mktemp("cv-run") / "run")
    for trained in ("unimodal", "fusion", "search"):
        shutil.rmtree(workdir / "results" / trained)
    write_config(
        workdir,
        {"evaluation": {"selection": "cv", "folds": 2}, "fusion": {"submission": "auto"}},
        runs=LEAN_RUNS,
    )
    result = snakemake(workdir)
    jobs = executed_jobs(result.stdout + result.stderr)
    assert jobs.get("unimodal") == len(UNIMODAL) and "faces" not in jobs and "audio" not in jobs
    return workdir


def test_cross_validated_selection_refits_and_reports_cv_mf1(cv_run):
    results = cv_run / "results"
    for model in UNIMODAL:
        predictions = pd.read_parquet(results / "unimodal" / model / "predictions.parquet")
        pool = predictions[predictions["split"].isin(["train", "val"])]
        assert (pool["source"] == "oof").all() and set(pool["fold"]) == {0, 1}, model
        selection = json.loads((results / "unimodal" / model / "selection.json").read_text())
        assert selection["selection"] == "cv" and selection["full"]["n_val"] == 0, model
    table = pd.read_csv(results / "table.csv")
    assert table["cv_mf1"].notna().all() and (table["cv_low"] <= table["cv_high"]).all()
    chosen = json.loads((results / "selected_run.json").read_text())
    assert chosen["score"] == "cv MF1" and chosen["rule"] == "best selection score"
    assert chosen["run"] == max(chosen["scores"], key=lambda run: chosen["scores"][run] or -1)
    assert "mean CV MF1 over seeds and folds" in (results / "search/proto/best.yaml").read_text()
    assert len(pd.read_csv(results / "submission.csv")) == 2


def test_flipping_test_labels_changes_no_prediction_under_cv(cv_run, tmp_path):
    """Cross-validation pools train and val, never test: flipping test labels changes nothing."""
    workdir = copy_run(cv_run, tmp_path / "flipped-cv")
    results = workdir / "results"
    before = {p: pd.read_parquet(p) for p in prediction_files(results)}
    chosen = (results / "selected_run.json").read_text()
    flip_test_labels(results)
    snakemake(workdir)
    for path, frame in before.items():
        pd.testing.assert_frame_equal(pd.read_parquet(path), frame, check_exact=True, obj=str(path))
    assert (results / "selected_run.json").read_text() == chosen
