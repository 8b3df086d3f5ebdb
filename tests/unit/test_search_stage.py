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


# A rule's script as Snakemake runs it: top-level code, no ``if __name__ == "__main__"``.
SCRIPT = """
import logging, sys
from pathlib import Path
sys.path[:0] = {paths!r}
logging.basicConfig(level=logging.INFO)
with open({ran!r}, "a") as ran:
    ran.write("ran\\n")
from ahrec.fusion.params import parse_space
from ahrec.fusion.search import run_search
folder = Path({folder!r})
run_search("proto", True, {base!r}, parse_space("search.proto.space", {{}})[0], [1, 2, 3], 2,
           {tables!r}, folder / "labels.parquet", folder / "workers2" / "study.sqlite",
           folder / "workers2" / "best.yaml", folder / "workers2" / "trials.csv", workers=2)
"""


def test_worker_processes_give_the_same_trials_as_one_process(corpus, one_torch_thread):  # noqa: F811
    """A trial's fits on two spawned workers, from a script without a main guard (a rule's):
    the script runs once, and the trials are those of one process, to the bit."""
    import subprocess
    import sys
    from pathlib import Path

    folder, tables = corpus
    base = {"epochs": 3, "patience": 3}
    out = folder / "workers1"
    run_search(
        "proto",
        True,
        base,
        parse_space("search.proto.space", {})[0],
        [1, 2, 3],
        2,
        tables,
        folder / "labels.parquet",
        out / "study.sqlite",
        out / "best.yaml",
        out / "trials.csv",
        workers=1,
    )
    ran = folder / "ran.txt"
    script = folder / "rule_script.py"
    repo = Path(__file__).resolve().parents[2]
    script.write_text(
        SCRIPT.format(
            paths=[str(repo / "lib"), str(repo)],
            ran=str(ran),
            folder=str(folder),
            base=base,
            tables=[str(t) for t in tables],
        )
    )
    result = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "fits on 2 worker processes" in result.stderr
    assert ran.read_text() == "ran\n"  # the workers did not run the script again
    one = pd.read_csv(out / "trials.csv")
    two = pd.read_csv(folder / "workers2" / "trials.csv")
    assert len(one) == 2
    assert one["value"].tolist() == two["value"].tolist()
    assert one["user_attrs_scores"].tolist() == two["user_attrs_scores"].tolist()
    params = [c for c in one.columns if c.startswith("params_")]
    assert one[params].equals(two[params])
