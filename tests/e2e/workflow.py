"""Running the real workflow (Snakemake CLI) on a tiny corpus, for end-to-end tests."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from ahrec.config import paper_runs
from ahrec.devtools.runs import (  # noqa: F401  (the tests' names for them)
    PAPER_PRESET,
    REPO,
    deep_merge,
    edit_config,
    executed_jobs,
    paper_config,
    snakemake_command,
    snakemake_env,
    whole_config,
)
from ahrec.evaluation.table import TABLE_COLUMNS

# The configuration CI runs: the default workflow on a tiny corpus with small models
# (it extends config.yaml, stating only what differs).
TEST_CONFIG = REPO / ".test" / "config.yaml"


# The unimodal models of the test configuration (config.yaml's, with small models).
UNIMODAL = (
    "face_mlp",
    "scene_linear",
    "audio_mamba",
    "text_tfidf_lr",
    "text_tfidf_catboost",
    "text_minilm",
)

# The fusion runs of a lean test run: the submitted one, and the one tuned by the search.
LEAN_RUNS = ("fusion_proto", "fusion_proto_tuned")

# The test configuration's runs with seed ensembles: both heads (with and without
# prototypes) and the search-tuned run; the other runs of the paper's table are
# single-seed ablations of these heads.
ENSEMBLE_RUNS = ("fusion", "fusion_proto", "fusion_proto_tuned")


def only_runs(config: dict[str, Any], runs: Sequence[str]) -> dict[str, Any]:
    """``config`` with the fusion runs ``runs`` alone (every unimodal model stays).

    The paper's table (``fusion.paper_runs``) is written out and cut, so a test run
    that checks something other than the table trains a few fusion models, not
    thirty; what it keeps is configured exactly as in the whole configuration.
    """
    fusion = dict(config["fusion"])
    table = paper_runs(fusion["paper_runs"]) if fusion.get("paper_runs") else {}
    for name, entry in (fusion.get("runs") or {}).items():
        table[name] = {**table.get(name, {}), **entry}
    missing = set(runs) - set(table)
    assert not missing, f"no fusion run named {sorted(missing)}"
    fusion.update(paper_runs={}, runs={name: table[name] for name in runs})
    return {**config, "fusion": fusion}


def write_config(
    workdir: Path,
    overrides: dict[str, Any],
    base: Path | None = TEST_CONFIG,
    runs: Sequence[str] | None = None,
) -> Path:
    """A whole configuration in ``workdir``: the one ``base`` makes with ``overrides`` on top.

    ``base=None`` starts from nothing (the schema's defaults fill in the rest);
    ``runs`` keeps those fusion runs alone (``only_runs``).
    """
    config = whole_config(base) if base is not None else {}
    if runs is not None:
        config = only_runs(config, runs)
    corpus = overrides.get("corpus")
    if isinstance(corpus, dict) and corpus.get("type") not in (
        None,
        config.get("corpus", {}).get("type"),
    ):
        config.pop("corpus", None)  # another format: none of the base's corpus options apply
    config = deep_merge({**config, "results": "results"}, overrides)
    config["preset"] = config.get("preset") or "custom"
    path = workdir / "config.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def copy_run(source: Path, target: Path) -> Path:
    """A copy of a finished run (results, Snakemake's metadata, dates kept) to change freely.

    Snakemake's locks stay behind: the copy is a run of its own, nobody runs in it yet.
    """

    def locks(folder: str, names: list[str]) -> list[str]:
        return names if Path(folder).name == "locks" else []

    shutil.copytree(source, target, symlinks=True, copy_function=shutil.copy2, ignore=locks)
    return target


def lean_copy(source: Path, target: Path, runs: Sequence[str]) -> Path:
    """A copy of a finished run (``copy_run``) that keeps the fusion runs ``runs`` alone.

    Its configuration and its ``results/fusion`` keep those runs (configured and
    trained exactly as in ``source``: nothing of them reruns for the cut) and every
    unimodal model, for tests that rerun what a change reaches and need not do it
    for thirty fusion models.
    """
    workdir = copy_run(source, target)
    path = workdir / "config.yaml"
    path.write_text(
        yaml.safe_dump(only_runs(yaml.safe_load(path.read_text()), runs), sort_keys=False)
    )
    for folder in (workdir / "results" / "fusion").iterdir():
        if folder.name not in runs:
            shutil.rmtree(folder)
    return workdir


def planned_jobs(workdir: Path, *args: str) -> dict[str, int]:
    """Jobs a dry run plans, per rule (the "Job stats" table), without the target rules."""
    result = snakemake(workdir, "--dry-run", *args)
    counts = executed_jobs(result.stdout + result.stderr)
    counts.pop("all", None)
    counts.pop("embeddings", None)
    return counts


def snakemake(
    workdir: Path, *args: str, timeout: int = 1800, cores: int = 2, slurm: bool = False
) -> subprocess.CompletedProcess:
    """Run Snakemake to the end; a failure raises with the output and the last job logs.

    ``slurm``: the run submits to SLURM, so it keeps the machine's SLURM configuration
    (``ahrec.devtools.runs``: local runs start without waiting for a controller).
    """
    command = snakemake_command(workdir, *args, cores=cores)
    env = snakemake_env(slurm=slurm)
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=timeout)
    if result.returncode != 0:
        logs = sorted(
            (workdir / "results" / "logs").rglob("*.log"), key=lambda p: p.stat().st_mtime
        )
        tails = "\n".join(f"--- {p}\n{p.read_text()[-1500:]}" for p in logs[-5:])
        raise AssertionError(
            f"snakemake {' '.join(args)} failed ({result.returncode}):\n"
            f"{result.stderr[-4000:]}\n{tails}"
        )
    return result


def prediction_files(results: Path) -> list[Path]:
    """Every predictions table of a run: unimodal models, fusion seeds and ensembles."""
    return sorted(results.glob("unimodal/*/predictions.parquet")) + sorted(
        results.glob("fusion/*/*/predictions.parquet")
    )


def flip_test_labels(results: Path) -> None:
    """Flip every label of the demo corpus's test list, as a user editing it would."""
    from ahrec.corpus.bah import parse_split_line, read_text_lines

    test_list = results / "demo_corpus" / "test.txt"
    flipped = []
    for line in read_text_lines(test_list):
        path, label, transcript = parse_split_line(line)
        flipped.append(f"{path},{1 - int(label)},{transcript}")
    test_list.write_text("\n".join(flipped) + "\n")


# The table's columns that a row computes from its own predictions (the comparisons
# with the best unimodal model and the reference run depend on the other rows).
OWN_COLUMNS = [c for c in TABLE_COLUMNS if c != "id" and not c.startswith("vs_")]


def assert_same_results(run: Path, reference: Path) -> None:
    """``run`` predicted what ``reference`` did, exactly, for every model it has.

    Every predictions table of ``run`` (unimodal models, fusion seeds, ensembles)
    equals the one at the same place in ``reference``; so do the submission and
    the table's rows of ``run``'s models and runs (``reference`` may have more).
    """
    import pandas as pd

    mine, theirs = run / "results", reference / "results"
    tables = prediction_files(mine)
    assert tables
    for path in tables:
        relative = path.relative_to(mine)
        pd.testing.assert_frame_equal(
            pd.read_parquet(path), pd.read_parquet(theirs / relative), obj=str(relative)
        )
    pd.testing.assert_frame_equal(
        pd.read_csv(mine / "submission.csv"), pd.read_csv(theirs / "submission.csv")
    )
    table = pd.read_csv(mine / "table.csv")[OWN_COLUMNS]
    expected = pd.read_csv(theirs / "table.csv")[OWN_COLUMNS].set_index("system")
    pd.testing.assert_frame_equal(
        table.set_index("system"), expected.loc[table["system"]], obj="table.csv"
    )
