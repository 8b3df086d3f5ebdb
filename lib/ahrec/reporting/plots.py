"""The report's figures, drawn with matplotlib from the tables of ``ahrec.reporting.summaries``.

Figures are built with matplotlib's object API (``matplotlib.figure.Figure``)
rather than pyplot: no global figure state and no GUI backend, so a job on a
headless cluster node draws with Agg whatever ``MPLBACKEND`` says, and a
figure is freed as soon as it is saved. Every function degrades to a panel
that says what is missing ("no labels", "no benchmark files") instead of
failing, because a corpus without test labels or a run without benchmarks is
a normal run. The file type follows the output's suffix (.svg or .png); SVGs
carry no date and fixed element ids, so an unchanged figure is byte-identical
on a rerun.
"""

from __future__ import annotations

import math
import os
import textwrap
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib import rc_context
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from ahrec.reporting.summaries import KINDS, SPLIT_ORDER, Curves

CLASS_NAMES = ("no A/H", "A/H")
KIND_COLOURS = {
    "unimodal": "#4C72B0",
    "fusion": "#DD8452",
    "ablation": "#8C8C8C",
    "ensemble": "#55A868",
}
SPLIT_COLOURS = {"val": "#4C72B0", "test": "#C44E52"}
REASON_PALETTE = (
    "#C44E52",
    "#DD8452",
    "#8172B3",
    "#937860",
    "#DA8BC3",
    "#CCB974",
    "#64B5CD",
    "#55A868",
)
STYLE = {
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "svg.hashsalt": "ahrec-report",
}


def save_figure(figure: Figure, out: str | Path) -> Path:
    """Write a figure as SVG or PNG (by suffix), atomically: a killed job leaves no half file."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    kind = out.suffix.lstrip(".").lower()
    if kind not in ("svg", "png"):
        raise ValueError(f"{out}: figures are .svg or .png")
    temporary = out.with_name(f".tmp-{out.name}")
    metadata = {"Date": None} if kind == "svg" else {"Software": "ahrec"}
    with rc_context(STYLE):
        figure.savefig(temporary, format=kind, dpi=120, metadata=metadata, bbox_inches="tight")
    os.replace(temporary, out)
    return out


def new_figure(width: float, height: float, rows: int = 1, columns: int = 1):
    """A figure and its axes (always a flat list), in the report's style."""
    with rc_context(STYLE):
        figure = Figure(figsize=(width, height), layout="constrained")
        axes = figure.subplots(rows, columns, squeeze=False)
    return figure, [ax for row in axes for ax in row]


def message_panel(ax: Axes, message: str, title: str | None = None) -> None:
    """An empty panel that says why there is nothing to draw."""
    ax.set_axis_off()
    ax.text(0.5, 0.5, message, ha="center", va="center", fontsize=11, color="#555555")
    if title:
        ax.set_title(title)


def _shorten(text: str, limit: int = 70) -> str:
    """Cut the middle of a long label: its start names the system, its end the seed/ensemble."""
    if len(text) <= limit:
        return text
    tail = limit // 3
    return text[: limit - tail - 1] + "\u2026" + text[-tail:]


def _wrap(text: str, width: int = 80) -> str:
    return "\n".join(textwrap.wrap(text, width)) or text


# --- results ----------------------------------------------------------------


def mf1_bars(table: pd.DataFrame, kinds: pd.Series, out: str | Path) -> Path:
    """Test MF1 per system with its 95% interval (table order); the selection score as a marker.

    Bars are coloured by kind (unimodal, fusion, ablation, ensemble), as the
    paper reads its table. The bar is the test MF1, the honest estimate, with
    its participant-bootstrap interval; the open marker is the validation (or
    CV) MF1 that selection maximised; a demo corpus's ceiling is a tick.
    Without test labels the bars are the validation MF1. A split without
    labels draws nothing rather than a zero.
    """
    with rc_context(STYLE):
        n = len(table)
        figure, (ax,) = new_figure(10.0, max(2.0, 0.3 * n + 1.4))
        if n == 0:
            message_panel(ax, "no systems in the results table", "MF1 per system")
            return save_figure(figure, out)

        def column(name: str) -> np.ndarray:
            values = table[name] if name in table else pd.Series([np.nan] * n)
            return pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)

        y = np.arange(n)
        has_test = bool(np.isfinite(column("test_mf1")).any())
        main = "test" if has_test else "val"
        value, low, high = column(f"{main}_mf1"), column(f"{main}_low"), column(f"{main}_high")
        selection = column("cv_mf1") if np.isfinite(column("cv_mf1")).any() else column("val_mf1")
        colours = [KIND_COLOURS.get(k, "#333333") for k in kinds]
        drawn = np.isfinite(value)
        ax.barh(
            y[drawn],
            value[drawn],
            color=[c for c, d in zip(colours, drawn, strict=True) if d],
            height=0.7,
        )
        whiskers = drawn & np.isfinite(low) & np.isfinite(high)
        ax.errorbar(
            value[whiskers],
            y[whiskers],
            xerr=[value[whiskers] - low[whiskers], high[whiskers] - value[whiskers]],
            fmt="none",
            ecolor="black",
            elinewidth=0.8,
            capsize=2,
        )
        for i in range(n):  # the value inside its bar, clear of the whiskers and markers
            if drawn[i]:
                ax.text(
                    1.0, i, f"{value[i]:.1f}", va="center", fontsize=7, color="white", weight="bold"
                )
            else:
                ax.text(1.0, i, "n/a", va="center", fontsize=7)
        handles = [Patch(color=KIND_COLOURS[k], label=k) for k in KINDS if k in set(kinds)]
        if has_test and np.isfinite(selection).any():
            marks = ax.scatter(
                selection, y, marker="o", s=16, facecolors="none", edgecolors="black", zorder=3
            )
            marks.set_label("CV MF1" if np.isfinite(column("cv_mf1")).any() else "validation MF1")
            handles.append(marks)
        ceiling = column("ceiling_test")
        if has_test and np.isfinite(ceiling).any():
            ticks = ax.scatter(ceiling, y, marker="|", s=120, color="#d62728", zorder=3)
            ticks.set_label("ceiling (planted cues)")
            handles.append(ticks)
        labels = [
            f"{i}. {_shorten(str(s))}" for i, s in zip(table["id"], table["system"], strict=True)
        ]
        ax.set_yticks(y, labels)
        ax.invert_yaxis()
        ax.set_xlim(0, 110)
        ax.set_xlabel("macro F1 (%), 95% interval over participants")
        ax.set_title(
            "Test MF1 per system" if has_test else "Validation MF1 per system (no test labels)"
        )
        figure.legend(
            handles=handles, loc="outside lower center", ncols=max(1, len(handles)), fontsize=8
        )
        ax.grid(axis="x", alpha=0.3)
    return save_figure(figure, out)


def confusion_matrices(matrices: dict[str, np.ndarray | None], title: str, out: str | Path) -> Path:
    """One confusion-matrix panel per split (counts and row percentages), "no labels" where none."""
    with rc_context(STYLE):
        matrices = matrices or {"no split": None}
        figure, axes = new_figure(4.0 * len(matrices), 3.8, 1, len(matrices))
        figure.suptitle(_wrap(title), fontsize=10)
        for ax, (split, counts) in zip(axes, matrices.items(), strict=True):
            if counts is None:
                message_panel(ax, "no labels", split)
                continue
            total = int(counts.sum())
            rows = counts.sum(axis=1, keepdims=True)
            share = np.divide(counts, rows, out=np.zeros(counts.shape), where=rows > 0)
            ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
            for (i, j), value in np.ndenumerate(counts):
                colour = "white" if share[i, j] > 0.6 else "black"
                ax.text(j, i, f"{value}\n{100 * share[i, j]:.0f}%", ha="center", va="center")
                ax.texts[-1].set_color(colour)
            correct = int(np.trace(counts))
            ax.set_title(f"{split} (n = {total}, {correct} correct)")
            ax.set_xticks([0, 1], CLASS_NAMES)
            ax.set_yticks([0, 1], CLASS_NAMES)
            ax.set_xlabel("predicted")
            ax.set_ylabel("true")
    return save_figure(figure, out)


def roc_pr_curves(results: dict[str, Curves | str], title: str, out: str | Path) -> Path:
    """ROC (left) and precision-recall (right) curves per labelled split.

    A split without curves (no labels, one class only) is named in the
    legend with its reason, so the figure says what is missing.
    """
    with rc_context(STYLE):
        figure, (roc, pr) = new_figure(9.0, 4.0, 1, 2)
        figure.suptitle(_wrap(title), fontsize=10)
        drawn = {s: c for s, c in results.items() if isinstance(c, Curves)}
        if not drawn:
            reasons = ", ".join(f"{s}: {r}" for s, r in results.items()) or "no splits"
            message_panel(roc, reasons, "ROC")
            message_panel(pr, reasons, "precision-recall")
            return save_figure(figure, out)
        roc.plot([0, 1], [0, 1], color="#999999", linestyle="--", linewidth=1)
        for split, result in results.items():
            colour = SPLIT_COLOURS.get(split, "#333333")
            if not isinstance(result, Curves):
                roc.plot([], [], color=colour, linestyle=":", label=f"{split}: {result}")
                pr.plot([], [], color=colour, linestyle=":", label=f"{split}: {result}")
                continue
            roc.plot(
                result.fpr,
                result.tpr,
                color=colour,
                drawstyle="steps-post",
                label=f"{split} (n = {result.n}): AUC {result.roc_auc:.2f}",
            )
            pr.plot(
                result.recall,
                result.precision,
                color=colour,
                drawstyle="steps-post",
                label=f"{split} (n = {result.n}): AP {result.average_precision:.2f}",
            )
            pr.axhline(result.positives / result.n, color=colour, linestyle="--", linewidth=0.8)
        for ax, name, x, y in (
            (roc, "ROC", "false positive rate", "true positive rate"),
            (pr, "precision-recall (dashed: A/H share)", "recall", "precision"),
        ):
            ax.set_xlim(-0.02, 1.02)
            ax.set_ylim(-0.02, 1.05)
            ax.set_aspect("equal")
            ax.set_title(name)
            ax.set_xlabel(x)
            ax.set_ylabel(y)
            ax.legend(loc="lower right" if ax is roc else "lower left", fontsize=7)
            ax.grid(alpha=0.3)
    return save_figure(figure, out)


def seed_spread(scores: pd.DataFrame, runs: Sequence[str], out: str | Path) -> Path:
    """Per fusion run, each seed's MF1 (dots, a box when there are enough) and the ensemble's.

    One panel per labelled split (validation, then test); a split without
    labels gets a "no labels" panel. The spread is what the five-seed
    ensemble smooths over, and what a single-seed number hides.
    """
    with rc_context(STYLE):
        splits = ["val", "test"]
        figure, axes = new_figure(10.0, max(2.4, 0.55 * len(runs) + 1.4), 1, 2)
        for ax, split in zip(axes, splits, strict=True):
            title = f"{split} MF1 per seed"
            part = scores[scores["split"] == split] if not scores.empty else scores
            if not runs:
                message_panel(ax, "no fusion run has several seeds", title)
                continue
            if part.empty:
                message_panel(ax, "no labels", title)
                continue
            for i, run in enumerate(runs):
                rows = part[part["run"] == run]
                seeds = rows[rows["member"] != "ensemble"]["mf1"].to_numpy(dtype=float)
                ensemble = rows[rows["member"] == "ensemble"]["mf1"].to_numpy(dtype=float)
                if seeds.size >= 3:
                    ax.boxplot(
                        seeds,
                        positions=[i],
                        orientation="horizontal",
                        widths=0.5,
                        showfliers=False,
                        medianprops={"color": "#333333"},
                    )
                offsets = np.linspace(-0.12, 0.12, seeds.size) if seeds.size > 1 else [0.0]
                ax.scatter(
                    seeds,
                    i + np.asarray(offsets),
                    s=22,
                    color=KIND_COLOURS["fusion"],
                    alpha=0.85,
                    zorder=3,
                )
                if ensemble.size:
                    ax.scatter(
                        ensemble,
                        [i],
                        marker="D",
                        s=40,
                        color=KIND_COLOURS["ensemble"],
                        edgecolor="black",
                        zorder=4,
                    )
                if seeds.size:
                    ax.annotate(
                        f"{seeds.mean():.1f} \u00b1 {seeds.std():.1f}",
                        (1.0, i),
                        xycoords=("axes fraction", "data"),
                        xytext=(4, 0),
                        textcoords="offset points",
                        va="center",
                        fontsize=7,
                    )
            ax.set_yticks(range(len(runs)), [_shorten(r, 28) for r in runs])
            ax.set_ylim(len(runs) - 0.5, -0.5)
            ax.set_xlim(-2, 102)
            ax.set_xlabel("macro F1 (%)")
            ax.set_title(title + " (mean \u00b1 sd of seeds at right)")
            ax.grid(axis="x", alpha=0.3)
        if runs and not scores.empty:
            figure.legend(
                handles=[
                    Line2D([], [], marker="o", linestyle="", color=KIND_COLOURS["fusion"]),
                    Line2D(
                        [],
                        [],
                        marker="D",
                        linestyle="",
                        color=KIND_COLOURS["ensemble"],
                        markeredgecolor="black",
                    ),
                ],
                labels=["one seed's model", "the run's ensemble"],
                loc="outside lower center",
                ncols=2,
                fontsize=8,
            )
    return save_figure(figure, out)


# --- data and run -----------------------------------------------------------


def availability_bars(counts: pd.DataFrame, out: str | Path) -> Path:
    """Per split, one stacked bar per embedding table: videos seen, stood in for, and lost (why).

    Grey is a video the encoder fully saw; hatched segments are stand-ins
    (e.g. whole frames when no face was found); solid coloured segments are
    videos that lost the modality, one colour per reason.
    """
    with rc_context(STYLE):
        if counts.empty:
            figure, (ax,) = new_figure(6.0, 2.0)
            message_panel(ax, "no embedding tables", "Modality availability")
            return save_figure(figure, out)
        splits = [s for s in SPLIT_ORDER if s in set(counts["split"])]
        splits += sorted(set(counts["split"]) - set(splits))
        tables = (
            counts[["modality", "encoder"]]
            .drop_duplicates()
            .sort_values(["modality", "encoder"])
            .itertuples(index=False)
        )
        tables = [(t.modality, t.encoder) for t in tables]
        statuses = sorted(set(counts["status"]) - {"available"})
        colours = {s: REASON_PALETTE[i % len(REASON_PALETTE)] for i, s in enumerate(statuses)}
        figure, axes = new_figure(3.6 * len(splits) + 1.0, 0.42 * len(tables) + 1.9, 1, len(splits))
        for ax, split in zip(axes, splits, strict=True):
            part = counts[counts["split"] == split]
            n_videos = int(part.groupby(["modality", "encoder"])["videos"].sum().max())
            for y, (modality, encoder) in enumerate(tables):
                rows = part[(part["modality"] == modality) & (part["encoder"] == encoder)]
                left = 0
                for row in sorted(
                    rows.itertuples(index=False),
                    key=lambda r: (r.status != "available", not r.available, r.status),
                ):
                    full = row.status == "available"
                    ax.barh(
                        y,
                        row.videos,
                        left=left,
                        height=0.7,
                        color="#D9D9D9" if full else colours[row.status],
                        hatch=None if full or not row.available else "///",
                        edgecolor="white",
                    )
                    left += row.videos
                lost = int(rows.loc[~rows["available"].astype(bool), "videos"].sum())
                if lost:
                    ax.text(left, y, f" {lost} lost", va="center", fontsize=7)
            ax.set_yticks(range(len(tables)), [f"{m} / {e}" for m, e in tables])
            ax.set_ylim(len(tables) - 0.5, -0.5)
            ax.set_xlim(0, max(1, n_videos) * 1.3)
            ax.set_xlabel("videos")
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.set_title(f"{split} ({n_videos} videos)")
            if ax is not axes[0]:
                ax.tick_params(labelleft=False)
        handles = [Patch(facecolor="#D9D9D9", label="available")]
        stand_ins = set(counts.loc[counts["available"].astype(bool), "status"]) - {"available"}
        for status in statuses:
            hatch = "///" if status in stand_ins else None
            suffix = " (stand-in used)" if status in stand_ins else ""
            handles.append(Patch(facecolor=colours[status], hatch=hatch, label=f"{status}{suffix}"))
        figure.legend(handles=handles, loc="outside lower center", ncols=min(4, len(handles)))
        lost = int(counts.loc[~counts["available"].astype(bool), "videos"].sum())
        figure.suptitle(
            "Modality availability per split (by embedding table)"
            + ("" if lost else ": no video lost a modality")
        )
    return save_figure(figure, out)


def resource_bars(summary: pd.DataFrame, out: str | Path) -> Path:
    """Per rule: total wall time of its jobs and peak memory, from the benchmark files."""
    with rc_context(STYLE):
        if summary.empty:
            figure, (ax,) = new_figure(6.0, 2.0)
            message_panel(ax, "no benchmark files", "Resource use per rule")
            return save_figure(figure, out)
        rules = list(summary.index)
        y = np.arange(len(rules))
        figure, (time_ax, memory_ax) = new_figure(10.0, 0.32 * len(rules) + 1.6, 1, 2)
        totals = summary["total_s"].to_numpy(dtype=float)
        time_ax.barh(y, totals, color=KIND_COLOURS["unimodal"], height=0.7)
        for i, (total, jobs) in enumerate(zip(totals, summary["jobs"], strict=True)):
            time_ax.text(total, i, f" {total:.1f} s, {int(jobs)} job(s)", va="center", fontsize=7)
        time_ax.set_yticks(y, rules)
        time_ax.set_ylim(len(rules) - 0.5, -0.5)
        time_ax.set_xlim(0, max(totals.max(), 1e-9) * 1.45)
        time_ax.set_xlabel("wall seconds, all jobs of the rule")
        time_ax.set_title(f"Wall time (sum of job times: {totals.sum():.0f} s)")
        memory = pd.to_numeric(summary["peak_rss_mb"], errors="coerce").to_numpy(dtype=float)
        memory_ax.barh(y, np.nan_to_num(memory), color=KIND_COLOURS["fusion"], height=0.7)
        for i, value in enumerate(memory):
            text = " n/a" if math.isnan(value) else f" {value:.0f} MB"
            memory_ax.text(np.nan_to_num(value), i, text, va="center", fontsize=7)
        memory_ax.set_yticks(y, rules)
        memory_ax.tick_params(labelleft=False)
        memory_ax.set_ylim(len(rules) - 0.5, -0.5)
        finite = memory[np.isfinite(memory)]
        memory_ax.set_xlim(0, (finite.max() if finite.size else 1.0) * 1.3)
        memory_ax.set_xlabel("MB")
        memory_ax.set_title("Peak memory of one job (max RSS)")
        for ax in (time_ax, memory_ax):
            ax.grid(axis="x", alpha=0.3)
    return save_figure(figure, out)


def reliability_diagrams(
    systems: Sequence[tuple[str, list[dict], list[dict], str]], out: str | Path
) -> Path:
    """One panel per system: observed share of A/H against mean P(A/H), per bin, on test.

    ``systems``: (title, bins before calibration, bins after, note) with the
    bins ``reliability_bins`` gives; a point's area follows its number of
    videos. On the diagonal the probabilities mean what they say.
    """
    columns = min(4, max(1, len(systems)))
    rows = max(1, math.ceil(len(systems) / columns))
    with rc_context(STYLE):
        figure, axes = new_figure(3.0 * columns, 3.2 * rows, rows, columns)
        flat = np.atleast_1d(axes).ravel()
        for ax in flat[len(systems) :]:
            ax.set_visible(False)
        if not systems:
            flat[0].set_visible(True)
            message_panel(flat[0], "no labelled test videos", "reliability")
            return save_figure(figure, out)
        for ax, (title, before, after, note) in zip(flat, systems, strict=False):
            ax.plot([0, 1], [0, 1], color="#999999", linestyle="--", linewidth=1)
            for bins, colour, name in (
                (before, "#C44E52", "raw"),
                (after, "#4C72B0", "calibrated"),
            ):
                if not bins:
                    continue
                x = [b["mean_proba"] for b in bins]
                y = [b["share_ah"] for b in bins]
                sizes = [12 + 4 * b["n"] for b in bins]
                ax.plot(x, y, color=colour, linewidth=1, label=name)
                ax.scatter(x, y, s=sizes, color=colour, alpha=0.6, edgecolors="none")
            ax.set_xlim(0, 1)
            ax.set_ylim(0, 1)
            ax.set_aspect("equal")
            ax.set_title(_wrap(_shorten(title, 60), 32), fontsize=7)
            ax.set_xlabel("mean P(A/H)", fontsize=7)
            ax.set_ylabel("share of A/H videos", fontsize=7)
            ax.tick_params(labelsize=6)
            ax.text(0.02, 0.97, note, fontsize=6, va="top", transform=ax.transAxes)
            ax.grid(alpha=0.3)
        flat[0].legend(loc="lower right", fontsize=6)
    return save_figure(figure, out)
