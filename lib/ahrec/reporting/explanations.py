"""The per-video view of the explanations, as one self-contained HTML page for the report.

A clinician screening recordings reads one video at a time: its calibrated
P(A/H), the label, the modality that pushed hardest towards that label and
how much each modality moved the probability (a bar per modality, right
towards A/H, left away from it), with the modalities the video lacked
named. Above the table, the mean absolute contribution per modality says
which modalities the system leans on overall. Clicking a column header
sorts by it (a few lines of inline script; without script the rows stay
sorted by the size of their largest contribution). Nothing external: the
report embeds the page as a data URI.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from ahrec.reporting.html import STYLE, number

MODALITY_COLOURS = {
    "face": "#1b9e77",
    "scene": "#7570b3",
    "audio": "#d95f02",
    "text": "#e7298a",
}

EXTRA_STYLE = """
th.sort { cursor: pointer; }
th.sort:after { content: " \\2195"; color: #aaa; }
div.bar { position: relative; width: 120px; height: 0.9em; background: #f4f4f4; }
div.bar span { position: absolute; top: 0; height: 100%; }
div.bar i { position: absolute; left: 60px; top: -2px; bottom: -2px; border-left: 1px solid #999; }
td.mono { font-family: ui-monospace, monospace; font-size: 0.95em; }
"""

SORT_SCRIPT = """
document.querySelectorAll("th.sort").forEach(function (th) {
  th.addEventListener("click", function () {
    var table = th.closest("table"), body = table.tBodies[0];
    var index = Array.prototype.indexOf.call(th.parentNode.children, th);
    var down = th.dataset.down !== "1"; th.dataset.down = down ? "1" : "0";
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = a.cells[index].dataset.v, y = b.cells[index].dataset.v;
      var nx = parseFloat(x), ny = parseFloat(y);
      var c = (isNaN(nx) || isNaN(ny)) ? String(x).localeCompare(String(y)) : nx - ny;
      return down ? -c : c;
    });
    rows.forEach(function (r) { body.appendChild(r); });
  });
});
"""


def contribution_modalities(frame: pd.DataFrame) -> list[str]:
    return [c.removeprefix("contribution_") for c in frame.columns if c.startswith("contribution_")]


def mean_absolute_contributions(frame: pd.DataFrame) -> dict[str, float]:
    """Per modality, the mean absolute contribution over the videos (those lacking it count 0)."""
    return {
        m: float(frame[f"contribution_{m}"].abs().mean()) for m in contribution_modalities(frame)
    }


def _bar(value: float, scale: float, colour: str, signed: bool = True) -> str:
    """A contribution as a bar from the middle (``signed``), or a size as a bar from the left."""
    half = 60.0 if signed else 120.0
    width = 0.0 if scale <= 0 else min(half, half * abs(value) / scale)
    left = 0.0 if not signed else 60.0 if value >= 0 else 60.0 - width
    axis = "<i></i>" if signed else ""
    return (
        f'<div class="bar" title="{value:+.3f}">{axis}'
        f'<span style="left:{left:.1f}px;width:{width:.1f}px;background:{colour}"></span></div>'
    )


def explanations_html(
    frame: pd.DataFrame, title: str, truth: Sequence[object] | None = None
) -> str:
    """The page: the summary per modality, then one row per video, strongest evidence first."""
    modalities = contribution_modalities(frame)
    means = mean_absolute_contributions(frame)
    contributions = frame[[f"contribution_{m}" for m in modalities]].abs()
    scale = float(contributions.to_numpy().max()) if len(frame) and modalities else 0.0
    order = (
        contributions.max(axis=1).sort_values(ascending=False).index if modalities else frame.index
    )
    prototypes = (
        "prototype_similarity_ah" in frame and frame["prototype_similarity_ah"].notna().any()
    )
    summary_top = frame["top_modality"].fillna("").value_counts()
    summary = "".join(
        f"<tr><td>{html.escape(m)}</td><td class='num'>{means[m]:.3f}</td>"
        f"<td>{_bar(means[m], max(means.values()) or 1.0, MODALITY_COLOURS.get(m, '#555'), False)}</td>"
        f"<td class='num'>{int(summary_top.get(m, 0))}</td></tr>"
        for m in modalities
    )
    header = [
        ("Video", False),
        ("P(A/H)", True),
        ("Label", True),
        *([("Truth", True)] if truth is not None else []),
        ("Top modality", True),
        *((f"{m}", True) for m in modalities),
        ("Missing", True),
        *([("Nearest prototype: no A/H / A/H", True)] if prototypes else []),
        ("Uncalibrated", True),
    ]
    head = "".join(
        f'<th class="{"sort" if sortable else ""}">{html.escape(name)}</th>'
        for name, sortable in header
    )
    truths = list(truth) if truth is not None else None
    rows = []
    for position in order:
        row = frame.loc[position]
        cells = [
            f'<td class="mono" data-v="{html.escape(str(row["video_path"]))}">'
            f"{html.escape(str(row['video_path']))}</td>",
            f'<td class="num" data-v="{float(row["prob_ah"]):.6f}">{float(row["prob_ah"]):.3f}</td>',
            f'<td data-v="{int(row["label"])}">{"A/H" if int(row["label"]) else "no A/H"}</td>',
        ]
        if truths is not None:
            known = number(truths[frame.index.get_loc(position)])
            text = "n/a" if known is None else ("A/H" if known else "no A/H")
            cells.append(f'<td data-v="{-1 if known is None else int(known)}">{text}</td>')
        top = str(row["top_modality"]) if isinstance(row["top_modality"], str) else ""
        cells.append(f'<td data-v="{html.escape(top)}">{html.escape(top or "none")}</td>')
        for m in modalities:
            value = float(row[f"contribution_{m}"])
            cells.append(
                f'<td data-v="{value:.6f}">{_bar(value, scale, MODALITY_COLOURS.get(m, "#555"))}'
                f"<small>{value:+.3f}</small></td>"
            )
        missing = (
            str(row["missing_modalities"]) if isinstance(row["missing_modalities"], str) else ""
        )
        cells.append(f'<td data-v="{html.escape(missing)}">{html.escape(missing)}</td>')
        if prototypes:
            a, b = row["prototype_similarity_no_ah"], row["prototype_similarity_ah"]
            cells.append(
                f'<td class="num" data-v="{float(b) - float(a):.6f}">{a:.2f} / {b:.2f}</td>'
            )
        raw = float(row["prob_ah_uncalibrated"])
        cells.append(f'<td class="num" data-v="{raw:.6f}">{raw:.3f}</td>')
        rows.append("<tr>" + "".join(cells) + "</tr>")
    note = (
        "Per video: the calibrated probability of A/H, the label, and what each modality added "
        "to the probability: the calibrated P(A/H) with every modality the video has, minus the "
        "same with that modality masked (bars right: towards A/H; left: away from it). The top "
        "modality is the one that pushed hardest towards the video's label. A modality the video "
        "lacks contributes 0. Click a column to sort."
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{STYLE}{EXTRA_STYLE}</style></head><body>"
        f"<h1>{html.escape(title)}</h1><p>{note}</p>"
        "<h2>Mean absolute contribution per modality</h2>"
        "<table><thead><tr><th>Modality</th><th class='num'>mean |contribution|</th><th></th>"
        f"<th class='num'>top in (videos)</th></tr></thead><tbody>{summary}</tbody></table>"
        f"<h2>Per video ({len(frame)})</h2>"
        f"<table><thead><tr>{head}</tr></thead><tbody>\n"
        + "\n".join(rows)
        + f"\n</tbody></table><script>{SORT_SCRIPT}</script></body></html>\n"
    )


def write_explanations_html(
    explanations: str | Path,
    out: str | Path,
    title: str = "Explanations",
    truth: pd.DataFrame | None = None,
) -> Path:
    """``truth``: the manifest (video_id, label), shown beside the prediction where known."""
    frame = pd.read_csv(explanations)
    labels = None
    if truth is not None:
        labels = frame["video_id"].map(truth.set_index("video_id")["label"]).tolist()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(explanations_html(frame, title, labels), encoding="utf-8")
    return out
