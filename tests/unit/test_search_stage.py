"""The Optuna search on files: resumable, and never reusing trials scored on other data."""

import ast

import optuna
import pandas as pd
import pytest
import yaml

from ahrec.embeddings.table import EmbeddingRow, read_embeddings, write_embeddings
from ahrec.evaluation.settings import EvaluationSettings
from ahrec.fusion.params import parse_space
from ahrec.fusion.search import run_search
from tests.unit.test_fusion_stage import corpus  # noqa: F401  (the fixture)

BASE = {"epochs": 2, "patience": 2}


def search(folder, tables, n_trials):
    return run_search(
        "proto",
        True,
        BASE,
        parse_space("search.proto.space", {})[0],
        [1],
        n_trials,
        tables,
        folder / "labels.parquet",
        folder / "search" / "study.sqlite",
        folder / "search" / "best.yaml",
        folder / "search" / "trials.csv",
    )


def studies(folder):
    storage = f"sqlite:///{(folder / 'search' / 'study.sqlite').resolve()}"
    return {s.study_name: s.n_trials for s in optuna.get_all_study_summaries(storage)}


def test_a_search_resumes_and_restarts_on_new_data(corpus):  # noqa: F811
    folder, tables = corpus
    search(folder, tables, 2)
    best = yaml.safe_load((folder / "search" / "best.yaml").read_text())
    assert best["objective"] == "mean validation MF1 over seeds" and best["seeds"] == [1]
    assert 4 <= best["params"]["k"] <= 16 and best["params"]["d"] in (128, 256, 384, 512)
    assert list(studies(folder).values()) == [2]
    search(folder, tables, 3)  # a longer search resumes: one more trial, same study
    assert list(studies(folder).values()) == [3]
    assert len(pd.read_csv(folder / "search" / "trials.csv")) == 3
    # the same search on changed embeddings starts a new study
    table = read_embeddings(tables[1])
    rows = [
        EmbeddingRow(v, table.vectors[i] + 1.0)
        if table.available[i]
        else EmbeddingRow.missing(v, "x")
        for i, v in enumerate(table.video_ids)
    ]
    write_embeddings(tables[1], rows, table.dim, table.meta)
    search(folder, tables, 3)
    assert sorted(studies(folder).values()) == [3, 3]


def test_a_cross_validated_search_scores_every_fold(corpus):  # noqa: F811
    folder, tables = corpus
    run_search(
        "proto",
        True,
        BASE,
        parse_space("search.proto.space", {})[0],
        [1],
        1,
        tables,
        folder / "labels.parquet",
        folder / "cv" / "study.sqlite",
        folder / "cv" / "best.yaml",
        folder / "cv" / "trials.csv",
        evaluation=EvaluationSettings(selection="cv", folds=3),
    )
    best = yaml.safe_load((folder / "cv" / "best.yaml").read_text())
    assert best["objective"] == "mean CV MF1 over seeds and folds"
    trials = pd.read_csv(folder / "cv" / "trials.csv")
    scores = ast.literal_eval(trials.loc[0, "user_attrs_scores"])  # one seed x three folds
    assert len(scores) == 3 and best["value"] == pytest.approx(sum(scores) / 3)
