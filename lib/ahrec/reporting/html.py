"""The results table as a self-contained HTML page, for the Snakemake report.

The report shows an HTML result inline (a CSV only as a download), so the
table in the paper's layout is rendered here: one row per system in the
table's own order, validation MF1, test MF1 and their mean in %, the best
value of each column in bold and the kind of each system (unimodal, fusion,
ablation, ensemble) as a coloured tag matching the MF1 bar chart. No
scripts, no external style sheets: the page is embedded in the report as a
data URI and must stand alone.
"""

from __future__ import annotations

import html
import math
from pathlib import Path

import pandas as pd

from ahrec.reporting.plots import KIND_COLOURS

COLUMNS = (
    ("val_mf1", "Val MF1"),
    ("test_mf1", "Test MF1"),
    ("average_mf1", "Average"),
)

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 1.2em; color: #222; }
h1 { font-size: 1.15em; margin: 0 0 0.3em; }
p { font-size: 0.85em; color: #555; margin: 0 0 0.9em; max-width: 60em; }
table { border-collapse: collapse; font-size: 0.85em; }
th, td { padding: 0.3em 0.7em; border-bottom: 1px solid #ddd; text-align: left; }
th { background: #f3f3f3; position: sticky; top: 0; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.best { font-weight: bold; }
span.kind { display: inline-block; padding: 0 0.5em; border-radius: 0.6em; color: white; font-size: 0.8em; }
tr:hover td { background: #fafafa; }
"""


def _number(value: object) -> float | None:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def results_table_html(table: pd.DataFrame, kinds: pd.Series, title: str = "Results") -> str:
    """The page: the table in its own order, MF1 columns in %, "n/a" where labels are unknown."""
    best = {}
    for column, _ in COLUMNS:
        values = [v for v in (_number(x) for x in table[column]) if v is not None]
        best[column] = max(values) if values else None
    has_test = any(_number(x) is not None for x in table["test_mf1"])
    rows = []
    for (_, row), kind in zip(table.iterrows(), kinds, strict=True):
        colour = KIND_COLOURS.get(str(kind), "#333333")
        cells = [
            f'<td class="num">{html.escape(str(row["id"]))}</td>',
            f"<td>{html.escape(str(row['system']))}</td>",
            f'<td><span class="kind" style="background:{colour}">{html.escape(str(kind))}</span></td>',
            f"<td>{html.escape(str(row['modality']))}</td>",
            f"<td>{html.escape(str(row['models']))}</td>",
        ]
        for column, _ in COLUMNS:
            value = _number(row[column])
            text = "n/a" if value is None else f"{value:.2f}"
            strong = value is not None and value == best[column]
            cells.append(f'<td class="num{" best" if strong else ""}">{text}</td>')
        rows.append("<tr>" + "".join(cells) + "</tr>")
    header = "".join(
        [
            '<th class="num">#</th>',
            "<th>System</th>",
            "<th>Kind</th>",
            "<th>Modalities</th>",
            "<th>Models (table ids)</th>",
            *(f'<th class="num">{name}</th>' for _, name in COLUMNS),
        ]
    )
    note = (
        "Macro F1 in %. Validation MF1 is what model selection maximised (optimistic); "
        "test MF1 is the honest estimate; Average is their mean, as in the paper. "
        "Best value of each column in bold."
    )
    if not has_test:
        note += " The corpus has no test labels: test and average are n/a."
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>"
        f"<h1>{html.escape(title)}</h1><p>{note}</p>"
        f"<table><thead><tr>{header}</tr></thead><tbody>\n"
        + "\n".join(rows)
        + "\n</tbody></table></body></html>\n"
    )


def write_results_table_html(
    table: pd.DataFrame, kinds: pd.Series, out: str | Path, title: str = "Results"
) -> Path:
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(results_table_html(table, kinds, title), encoding="utf-8")
    return out
