"""Steps: the figures of the Snakemake report (``snakemake --report results/report.html``).

Three steps, one per rule, so that a change reruns only the figures it
touches: the results figures (table, MF1 per system, the ensembles' confusion
matrices and curves, the per-seed spread) follow the models; the
availability figure follows the embedding tables; the resource figure reads
the benchmark files once the run has finished. Labels come from the manifest
(null when unknown), after every model has been trained: nothing here feeds
back into training or selection.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from ahrec.corpus.manifest import read_manifest
from ahrec.reporting import plots
from ahrec.reporting.benchmarks import read_benchmarks, summarise_benchmarks
from ahrec.reporting.html import write_results_table_html
from ahrec.reporting.summaries import (
    LABELLED_SPLITS,
    availability_counts,
    confusion_counts,
    curves,
    seed_scores,
    with_labels,
)
from ahrec.training.predictions import read_predictions

LOG = logging.getLogger(__name__)


def plot_results(
    table: str | Path,
    comparisons_path: str | Path | None,
    manifest: str | Path,
    runs: Sequence[Mapping[str, Any]],
    table_out: str | Path,
    mf1_out: str | Path,
    seeds_out: str | Path,
    confusion_outs: Sequence[str | Path],
    curves_outs: Sequence[str | Path],
) -> None:
    """The results figures.

    ``runs`` are the fusion runs with several seeds, each a mapping with
    ``run``, ``label``, ``ensemble`` (its ensemble's predictions) and ``seeds``
    (seed -> predictions); ``confusion_outs`` and ``curves_outs`` are one
    figure per run, in the same order.
    """
    if not len(confusion_outs) == len(curves_outs) == len(runs):
        raise ValueError(
            f"{len(runs)} runs but {len(confusion_outs)} confusion and {len(curves_outs)} curve figures"
        )
    results = pd.read_csv(table)
    comparisons = (
        json.loads(Path(comparisons_path).read_text()).get("comparisons")
        if comparisons_path
        else None
    )
    write_results_table_html(results, results["kind"], table_out, comparisons=comparisons)
    plots.mf1_bars(results, results["kind"], mf1_out)

    truth = read_manifest(manifest)
    members: dict[tuple[str, str], pd.DataFrame] = {}
    for run, confusion_out, curves_out in zip(runs, confusion_outs, curves_outs, strict=True):
        name, label = str(run["run"]), str(run.get("label", run["run"]))
        for seed, path in run["seeds"].items():
            members[(name, f"seed{seed}")] = read_predictions(path)
        ensemble = read_predictions(run["ensemble"])
        members[(name, "ensemble")] = ensemble
        frame = with_labels(ensemble, truth)
        title = f"{name} (ensemble of {len(run['seeds'])} seeds): {label}"
        plots.confusion_matrices(
            {split: confusion_counts(frame, split) for split in LABELLED_SPLITS},
            title,
            confusion_out,
        )
        plots.roc_pr_curves(
            {split: curves(frame, split) for split in LABELLED_SPLITS}, title, curves_out
        )
    scores = seed_scores(runs, members, truth)
    plots.seed_spread(scores, [str(run["run"]) for run in runs], seeds_out)
    LOG.info(
        "%d systems, %d ensembles; per-seed MF1:\n%s",
        len(results),
        len(runs),
        scores.to_string(index=False) if len(scores) else "  no labelled split",
    )


def plot_availability(availability: str | Path, out: str | Path) -> pd.DataFrame:
    """The availability figure from results/availability.csv; returns the counts it drew."""
    frame = pd.read_csv(availability)
    counts = availability_counts(frame)
    plots.availability_bars(counts, out)
    lost = counts[~counts["available"].astype(bool)] if len(counts) else counts
    LOG.info(
        "availability of %d videos; lost:\n%s",
        frame["video_id"].nunique() if len(frame) else 0,
        lost.to_string(index=False) if len(lost) else "  none",
    )
    return counts


def plot_resources(benchmarks: str | Path, out: str | Path) -> pd.DataFrame:
    """The resource figure from the run's ``benchmark:`` files; returns the per-rule summary."""
    folder = Path(benchmarks)
    summary = summarise_benchmarks(read_benchmarks(folder) if folder.is_dir() else pd.DataFrame())
    plots.resource_bars(summary, out)
    LOG.info("resource use per rule:\n%s", summary.to_string() if len(summary) else "  none")
    return summary


def plot_calibration(
    rows: Sequence[Mapping[str, Any]],
    manifest: str | Path,
    evaluation: Any,
    calibration: Any,
    out: str | Path,
    split: str = "test",
) -> list[dict[str, Any]]:
    """Every system's reliability diagram on ``split``: raw, and after its own map.

    Each map is fitted as the table fits it (validation or out-of-fold rows,
    their labels only); the test labels are read here, after everything.
    """
    from ahrec.evaluation.calibration import fit_system_calibration
    from ahrec.evaluation.probability import probability_metrics, reliability_bins

    truth = read_manifest(manifest)
    panels, summary = [], []
    for row in rows:
        predictions = read_predictions(row["predictions"])
        fitted = fit_system_calibration(predictions, truth, evaluation, calibration)
        frame = with_labels(predictions, truth)
        labelled = frame[(frame["split"] == split) & frame["label"].notna()]
        if labelled.empty:
            continue
        y = labelled["label"].astype(int).to_numpy()
        raw = labelled["proba_1"].to_numpy(dtype=float)
        mapped = fitted.apply(raw)
        before = probability_metrics(y, raw, calibration.bins)
        after = probability_metrics(y, mapped, calibration.bins)
        note = f"ECE {100 * before['ece']:.1f} -> {100 * after['ece']:.1f} ({fitted.method})"
        panels.append(
            (
                f"{row['id']}. {row['system']}",
                reliability_bins(y, raw, calibration.bins),
                reliability_bins(y, mapped, calibration.bins),
                note,
            )
        )
        summary.append({"id": row["id"], "system": row["system"], "note": note})
    plots.reliability_diagrams(panels, out)
    LOG.info(
        "reliability on %s:\n  %s",
        split,
        "\n  ".join(s["note"] + "  " + s["system"] for s in summary),
    )
    return summary


def plot_explanations(
    explanations: str | Path, manifest: str | Path, out: str | Path, title: str = "Explanations"
) -> Path:
    """The per-video view of ``explanations.csv`` (labels shown where the manifest has them)."""
    from ahrec.reporting.explanations import write_explanations_html

    return write_explanations_html(explanations, out, title, truth=read_manifest(manifest))
