"""The results table as a self-contained HTML page, for the Snakemake report.

The report shows an HTML result inline (a CSV only as a download), so the
table in the paper's layout is rendered here: one row per system in the
table's own order, validation and test MF1 in % with their intervals (and CV
MF1, the seeds' spread, the paired differences and the ceilings where the
table has them), the best value of each column in bold, the kind of each
system (unimodal, fusion, ablation, ensemble) as a coloured tag matching the
MF1 bar chart, and the paired comparisons in words. No
scripts, no external style sheets: the page is embedded in the report as a
data URI and must stand alone.
"""

from __future__ import annotations

import html
import math
from pathlib import Path

import pandas as pd

from ahrec.reporting.plots import KIND_COLOURS

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 1.2em; color: #222; }
h1 { font-size: 1.15em; margin: 0 0 0.3em; }
p { font-size: 0.85em; color: #555; margin: 0 0 0.9em; max-width: 60em; }
table { border-collapse: collapse; font-size: 0.85em; }
th, td { padding: 0.3em 0.7em; border-bottom: 1px solid #ddd; text-align: left; }
th { background: #f3f3f3; position: sticky; top: 0; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.best { font-weight: bold; }
small { color: #666; }
h2 { font-size: 1em; margin: 1.2em 0 0.4em; }
li { font-size: 0.85em; margin: 0.2em 0; }
span.kind { display: inline-block; padding: 0 0.5em; border-radius: 0.6em; color: white; font-size: 0.8em; }
tr:hover td { background: #fafafa; }
"""


def number(value: object) -> float | None:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def _with_interval(row: pd.Series, keys: tuple[str, str, str], digits: int) -> str:
    """A value (``digits`` decimals) with its interval, "n/a" where there is none."""
    value, low, high = (number(row.get(k)) for k in keys)
    if value is None:
        return "n/a"
    if low is None or high is None:
        return f"{value:.{digits}f}"
    return f"{value:.{digits}f} <small>[{low:.1f}, {high:.1f}]</small>"


def _interval(row: pd.Series, prefix: str) -> str:
    return _with_interval(row, (f"{prefix}mf1", f"{prefix}low", f"{prefix}high"), 2)


def _metric(row: pd.Series, name: str) -> str:
    """A probability metric (x 100) with its interval."""
    return _with_interval(row, (name, f"{name}_low", f"{name}_high"), 1)


def _difference(row: pd.Series, name: str) -> str:
    value, low, high, p = (number(row.get(f"{name}{k}")) for k in ("", "_low", "_high", "_p"))
    if value is None:
        return ""
    mark = " *" if low is not None and high is not None and (low > 0 or high < 0) else ""
    return f"{value:+.1f}{mark} <small>[{low:+.1f}, {high:+.1f}], p={p:.3f}</small>"


def _seeds(row: pd.Series) -> str:
    mean, std = number(row.get("seeds_test_mean")), number(row.get("seeds_test_std"))
    if mean is None:
        mean, std = number(row.get("seeds_val_mean")), number(row.get("seeds_val_std"))
    if mean is None:
        return ""
    return f"{mean:.1f} &plusmn; {std:.1f}" if std is not None else f"{mean:.1f}"


def _ceiling(row: pd.Series) -> str:
    ceiling, recovered = number(row.get("ceiling_test")), number(row.get("recovered_test"))
    if ceiling is None:
        return ""
    return f"{ceiling:.1f}" + (f" ({recovered:.0f}%)" if recovered is not None else "")


def results_table_html(
    table: pd.DataFrame,
    kinds: pd.Series,
    title: str = "Results",
    comparisons: list[str] | None = None,
) -> str:
    """The page: the table in its own order, MF1 in % with 95% intervals, "n/a" where labels are unknown."""
    has = {
        column: any(number(x) is not None for x in table.get(column, []))
        for column in table.columns
    }
    columns = [("val_", "Val MF1 [95% CI]", _interval), ("test_", "Test MF1 [95% CI]", _interval)]
    if has.get("cv_mf1"):
        columns.append(("cv_", "CV MF1 [CI over folds]", _interval))
    extras = []
    if has.get("seeds_test_mean") or has.get("seeds_val_mean"):
        extras.append(("Seeds: mean &plusmn; sd", _seeds))
    if has.get("vs_best_unimodal"):
        extras.append(
            ("Test &Delta; vs best unimodal", lambda r: _difference(r, "vs_best_unimodal"))
        )
    if has.get("vs_reference"):
        extras.append(("Test &Delta; vs reference run", lambda r: _difference(r, "vs_reference")))
    if has.get("ceiling_test"):
        extras.append(("Ceiling (recovered)", _ceiling))
    if has.get("test_auroc"):
        extras.append(("Test AUROC [95% CI]", lambda r: _metric(r, "test_auroc")))
    if has.get("test_ap"):
        extras.append(("Test AP [95% CI]", lambda r: _metric(r, "test_ap")))
    for name, heading in (("brier", "Brier"), ("ece", "ECE")):
        if has.get(f"test_{name}"):
            extras.append(
                (
                    f"Test {heading}: raw &rarr; calibrated",
                    lambda r, n=name: (
                        f"{_metric(r, f'test_{n}')} &rarr; {_metric(r, f'test_{n}_calibrated')}"
                    ),
                )
            )
    best = {}
    for prefix, _, _ in columns:
        values = [v for v in (number(x) for x in table[f"{prefix}mf1"]) if v is not None]
        best[prefix] = max(values) if values else None
    rows = []
    for (_, row), kind in zip(table.iterrows(), kinds, strict=True):
        colour = KIND_COLOURS.get(str(kind), "#333333")
        cells = [
            f'<td class="num">{html.escape(str(row["id"]))}</td>',
            f"<td>{html.escape(str(row['system']))}</td>",
            f'<td><span class="kind" style="background:{colour}">{html.escape(str(kind))}</span></td>',
            f"<td>{html.escape(str(row['modality']))}</td>",
        ]
        for prefix, _, render in columns:
            value = number(row[f"{prefix}mf1"])
            strong = value is not None and value == best[prefix]
            cells.append(f'<td class="num{" best" if strong else ""}">{render(row, prefix)}</td>')
        cells += [f'<td class="num">{render(row)}</td>' for _, render in extras]
        rows.append("<tr>" + "".join(cells) + "</tr>")
    header = "".join(
        [
            '<th class="num">#</th>',
            "<th>System</th>",
            "<th>Kind</th>",
            "<th>Modalities</th>",
            *(f'<th class="num">{name}</th>' for _, name, _ in columns),
            *(f'<th class="num">{name}</th>' for name, _ in extras),
        ]
    )
    note = (
        "Macro F1 in %, with 95% intervals from a bootstrap over participants (their videos are "
        "resampled together; every system shares the resamples, so differences are paired). "
        "Validation (or CV) MF1 is what model selection maximised, so it is optimistic; test MF1 "
        "is the honest estimate. &Delta;: paired difference on test in points, * where its interval "
        "excludes 0. Best value of each MF1 column in bold."
    )
    if has.get("test_ece"):
        note += (
            " AUROC, average precision (AP), Brier score and expected calibration error (ECE, "
            "bins of P(A/H)) score the probabilities on test, x 100; calibrated: after the "
            "system's own calibration map, fitted on validation (or out-of-fold) videos only."
        )
    if not has.get("test_mf1"):
        note += " The corpus has no test labels: test columns are n/a."
    if has.get("ceiling_test"):
        note += (
            " Ceiling: the test MF1 of the Bayes-optimal reading of the cues the demo planted in "
            "the system's modalities; recovered: the system's share of it."
        )
    listed = "".join(f"<li>{html.escape(c)}</li>" for c in comparisons or [])
    section = f"<h2>Paired comparisons on test</h2><ul>{listed}</ul>" if listed else ""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>"
        f"<h1>{html.escape(title)}</h1><p>{note}</p>"
        f"<table><thead><tr>{header}</tr></thead><tbody>\n"
        + "\n".join(rows)
        + f"\n</tbody></table>{section}</body></html>\n"
    )


def write_results_table_html(
    table: pd.DataFrame,
    kinds: pd.Series,
    out: str | Path,
    title: str = "Results",
    comparisons: list[str] | None = None,
) -> Path:
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(results_table_html(table, kinds, title, comparisons), encoding="utf-8")
    return out
