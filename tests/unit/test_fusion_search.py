"""The Optuna search on files: resumable, and never reusing trials scored on other data."""

import ast
import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pandas as pd
import pytest
import yaml

from ahrec.embeddings.table import EmbeddingRow, read_embeddings, write_embeddings
from ahrec.evaluation.settings import EvaluationSettings
from ahrec.fusion.params import FusionParams, FusionRun, SearchSpec, parse_space
from ahrec.fusion.pool import Fit
from ahrec.fusion.search import SearchOutputs, fit_time_bounds, run_search
from tests.unit.test_fusion_steps import corpus  # noqa: F401  (the fixture)

REPO = Path(__file__).resolve().parents[2]

BASE = {"epochs": 2, "patience": 2}


def specs(n_trials: int, seeds=(1,), **base) -> tuple[SearchSpec, FusionRun]:
    """The search "proto" over the default space, and the prototype run it tunes."""
    space = tuple(parse_space("search.proto.space", {})[0])
    params = FusionParams(**(base or BASE))
    return (
        SearchSpec("proto", "proto_run", n_trials, tuple(seeds), 0, space),
        FusionRun("proto_run", ("face", "audio"), True, (1,), "proto_run", params),
    )


def search(folder, tables, n_trials):
    return run_search(
        *specs(n_trials),
        tables,
        folder / "labels.parquet",
        SearchOutputs.under(folder / "search"),
    )


def test_fit_time_bounds_sum_the_fits_and_the_slowest_fit_of_each_trial():
    """One core takes every fit in turn; any number of workers still waits, trial after
    trial, for each trial's slowest fit."""
    timings = {0: [13.4, 5.6, 5.4, 6.6, 7.9], 1: [1.5, 1.5], 2: []}
    fits = {
        n: [Fit(score=0.5, epochs=10, seconds=s) for s in seconds] for n, seconds in timings.items()
    }
    total, floor = fit_time_bounds(fits)
    assert total == pytest.approx(13.4 + 5.6 + 5.4 + 6.6 + 7.9 + 3.0)
    assert floor == pytest.approx(13.4 + 1.5)
    assert fit_time_bounds({}) == (0.0, 0.0)


def test_the_rule_hands_the_search_and_its_run_over_whole():
    """The search's script rebuilds both specs from the rule's params: every value the
    search reads survives the trip (a dimension's choices, the run's parameters)."""
    from ahrec.fusion.params import parse_fusion_run, parse_search

    search = parse_search("s", {"run": "r", "n_trials": 7, "space": {"d": [16, 32]}}, [3, 4])[0]
    run = parse_fusion_run("r", {"models": ["a", "b"], "prototypes": True}, {"lr": 1e-3}, [1])[0]
    assert SearchSpec.from_params("s", search.as_params()) == search
    back = FusionRun.from_params("r", run.as_params())
    assert (back.name, back.models, back.prototypes) == ("r", ("a", "b"), True)
    assert back.params == run.params and back.params.lr == 1e-3


def studies(folder):
    storage = f"sqlite:///{(folder / 'search' / 'study.sqlite').resolve()}"
    return {s.study_name: s.n_trials for s in optuna.get_all_study_summaries(storage)}


@pytest.mark.slow
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


@pytest.mark.slow
def test_a_cross_validated_search_scores_every_fold(corpus):  # noqa: F811
    folder, tables = corpus
    run_search(
        *specs(1),
        tables,
        folder / "labels.parquet",
        SearchOutputs.under(folder / "cv"),
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
sys.path[:0] = {paths!r}
logging.basicConfig(level=logging.INFO)
with open({ran!r}, "a") as ran:
    ran.write("ran\\n")
from ahrec.fusion.params import FusionParams, FusionRun, SearchSpec, parse_space
from ahrec.fusion.search import SearchOutputs, run_search
space = tuple(parse_space("search.proto.space", {{}})[0])
search = SearchSpec("proto", "proto_run", {trials}, (1, 2, 3), 0, space)
run = FusionRun("proto_run", ("face", "audio"), True, (1,), "proto_run", FusionParams(**{base!r}))
run_search(search, run, {tables!r}, {labels!r}, SearchOutputs.under({out!r}), workers=2)
"""


def rule_script(folder: Path, tables, labels: Path, base: dict, trials: int) -> Path:
    """A search on two workers as a rule's script; it writes to ``folder / "workers2"`` and
    appends a line to ``folder / "ran.txt"`` each time it runs."""
    script = folder / "rule_script.py"
    script.write_text(
        SCRIPT.format(
            paths=[str(REPO / "lib"), str(REPO)],
            ran=str(folder / "ran.txt"),
            out=str(folder / "workers2"),
            base=base,
            tables=[str(t) for t in tables],
            labels=str(labels),
            trials=trials,
        )
    )
    return script


@pytest.mark.slow
def test_worker_processes_give_the_same_trials_as_one_process(corpus, one_torch_thread):  # noqa: F811
    """A trial's fits on two spawned workers, from a script without a main guard (a rule's):
    the script runs once, and the trials are those of one process, to the bit."""
    folder, tables = corpus
    base = {"epochs": 3, "patience": 3}
    out = folder / "workers1"
    run_search(
        *specs(2, (1, 2, 3), **base),
        tables,
        folder / "labels.parquet",
        SearchOutputs.under(out),
        workers=1,
    )
    ran = folder / "ran.txt"
    script = rule_script(folder, tables, folder / "labels.parquet", base, trials=2)
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
    assert one["user_attrs_epochs"].tolist() == two["user_attrs_epochs"].tolist()
    params = [c for c in one.columns if c.startswith("params_")]
    assert one[params].equals(two[params])
    # each trial's fits are timed in the log, and the job says what more workers would buy
    timed = re.findall(r"trial (\d+): .*; fits ([\d. /]+) s, epochs ([\d /]+)", result.stderr)
    assert [int(number) for number, _, _ in timed] == [0, 1]
    for number, seconds, epochs in timed:
        assert len(seconds.split(" / ")) == 3 and all(float(s) > 0 for s in seconds.split(" / "))
        recorded = ast.literal_eval(two.loc[int(number), "user_attrs_epochs"])
        assert [int(e) for e in epochs.split(" / ")] == recorded
        assert all(1 <= e <= 3 for e in recorded)
    assert re.search(
        r"6 fits took [\d.]+ s of fitting in all; the 2 trials' slowest", result.stderr
    )


def children(pid: int) -> set[int]:
    """The processes whose parent is ``pid`` (Linux's /proc)."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_the_workers_end_when_the_job_is_killed(corpus, tmp_path):  # noqa: F811
    """A job killed outright (SIGKILL: a scheduler's, or an impatient user's) leaves no
    worker behind computing for nobody."""
    folder, tables = corpus
    base = {"epochs": 200, "patience": 200}
    script = rule_script(tmp_path, tables, folder / "labels.parquet", base, trials=1000)
    log = tmp_path / "job.log"
    with open(log, "w") as stream:
        job = subprocess.Popen([sys.executable, str(script)], stdout=stream, stderr=stream)
    try:
        deadline = time.monotonic() + 120
        while len(children(job.pid) - {job.pid}) < 3:  # two workers and the resource tracker
            assert job.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.5)
        workers = children(job.pid)
        time.sleep(5)  # into the first fits (a kill while the workers start is covered too)
        assert job.poll() is None, log.read_text()[-3000:]
    finally:
        os.kill(job.pid, signal.SIGKILL)
        job.wait()
    deadline = time.monotonic() + 20
    while {p for p in workers if Path(f"/proc/{p}").exists()} and time.monotonic() < deadline:
        time.sleep(0.5)
    left = {p for p in workers if Path(f"/proc/{p}").exists()}
    assert not left, f"workers still running after their job was killed: {left}"


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_a_worker_that_dies_fails_the_search_with_a_reason(corpus):  # noqa: F811
    """A worker killed mid-fit (the kernel's OOM killer does this) stops the job with a
    message about memory, not a bare BrokenProcessPool or a hang."""
    import threading

    import torch

    from ahrec.fusion.data import fusion_data
    from ahrec.fusion.model import fusion_split
    from ahrec.fusion.params import FusionParams
    from ahrec.fusion.pool import FitPool
    from ahrec.training.labels import read_labels

    folder, tables = corpus
    data = fusion_data(tables, read_labels(folder / "labels.parquet"))
    parts = [
        tuple(
            fusion_split(data.items(data.rows_of((split,), labelled=True)), data.input_dims)
            for split in ("train", "val")
        )
    ]
    params = FusionParams(epochs=500, patience=500)

    def kill_a_worker() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            for pid in children(os.getpid()):
                if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes():
                    time.sleep(3)
                    os.kill(pid, signal.SIGKILL)
                    return
            time.sleep(0.2)

    with FitPool(parts, data.input_dims, True, torch.device("cpu"), workers=2) as pool:
        killer = threading.Thread(target=kill_a_worker)
        killer.start()
        with pytest.raises(RuntimeError, match="worker process died.*memory"):
            pool.fits(params, [1, 2])
        killer.join()


def test_the_workers_are_capped_by_the_jobs_threads():
    """One worker per fit of a trial, never more than the job's threads; one on a GPU."""
    import torch

    from ahrec.fusion.pool import pool_size

    assert pool_size(8, 3) == 3  # 3 fits: 3 workers, whatever the threads
    assert pool_size(2, 50) == 2  # 5 seeds x 10 folds on 2 threads: 2 workers
    assert pool_size(0, 5) == 1
    assert pool_size(16, 50, torch.device("cpu")) == 16
    assert pool_size(16, 50, torch.device("meta")) == 1  # not the CPU: one fit at a time


@pytest.mark.slow
def test_each_worker_runs_one_thread_whatever_the_job_has(corpus, monkeypatch):  # noqa: F811
    """The job's threads are shared out, not multiplied: the job sets its BLAS/OpenMP
    variables to its threads (rule_logging), and each of its workers still runs one."""
    import torch

    from ahrec.fusion.pool import FitPool

    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "2")
    monkeypatch.delenv("MKL_NUM_THREADS", raising=False)
    with FitPool([], {}, False, torch.device("cpu"), workers=2) as pool:
        settings = pool.worker_threads()
    assert settings and all(
        s["torch"] == 1
        and s["interop"] == 1
        and s["OMP_NUM_THREADS"] == s["OPENBLAS_NUM_THREADS"] == s["MKL_NUM_THREADS"] == "1"
        for s in settings
    ), settings
    # the job's own environment is left as it was
    assert os.environ["OMP_NUM_THREADS"] == "2" and "MKL_NUM_THREADS" not in os.environ


def _sigint_as_snakemake_gives_it() -> None:
    """The job starts with SIGINT at its default, unblocked, as a job Snakemake starts does.

    A child inherits its parent's ignored signals and signal mask; this test's
    own process (a pytest-xdist worker, after other tests) may have either, and
    a job started with SIGINT ignored never sees the Ctrl-C this test sends.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


# A search of 1000 trials of 500 epochs runs for many minutes; stopping within this
# many seconds is "at once" even on a loaded 2-core machine (it took 10+ s there
# with the other test worker busy; about 1 s alone).
STOP_SECONDS = 30


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("to", ["job", "group"])
def test_sigint_stops_the_search_and_its_workers_within_seconds(corpus, tmp_path, to):  # noqa: F811
    """Ctrl-C (SIGINT to the whole process group) or SIGINT to the job alone, mid-fit: the
    job and every worker are gone within seconds, not when the running fits end."""
    folder, tables = corpus
    base = {"epochs": 500, "patience": 500}
    script = rule_script(tmp_path, tables, folder / "labels.parquet", base, trials=1000)
    log = tmp_path / "job.log"
    with open(log, "w") as stream:
        job = subprocess.Popen(
            [sys.executable, str(script)],
            stdout=stream,
            stderr=stream,
            start_new_session=True,
            preexec_fn=_sigint_as_snakemake_gives_it,
        )
    try:
        deadline = time.monotonic() + 120
        while len(children(job.pid)) < 3:  # two workers and the resource tracker
            assert job.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.5)
        workers = children(job.pid)
        time.sleep(3)  # into the fits
        assert job.poll() is None, log.read_text()[-3000:]
        if to == "group":
            os.killpg(job.pid, signal.SIGINT)
        else:
            os.kill(job.pid, signal.SIGINT)
        interrupted = time.monotonic()
        # bounds far below the fits' own minutes, and above a loaded CI machine's seconds
        try:
            job.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            status = Path(f"/proc/{job.pid}/status").read_text().splitlines()
            signals = [line for line in status if line.startswith(("SigBlk", "SigIgn", "SigCgt"))]
            pytest.fail(
                f"still running {STOP_SECONDS} s after SIGINT ({signals}):\n"
                f"{log.read_text()[-3000:]}"
            )
        while {p for p in workers if Path(f"/proc/{p}").exists()}:
            assert time.monotonic() - interrupted < STOP_SECONDS, "workers still running"
            time.sleep(0.1)
        took = time.monotonic() - interrupted
        print(f"stopped {took:.1f} s after SIGINT")
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(job.pid, signal.SIGKILL)
        job.wait()
    assert took < STOP_SECONDS, f"the search took {took:.1f} s to stop"
    assert job.returncode != 0
    assert "KeyboardInterrupt" in log.read_text()
