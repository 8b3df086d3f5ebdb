"""Per-rule resource use, from the ``benchmark:`` files Snakemake writes.

Usage: ``python -m ahrec.reporting.benchmarks results/benchmarks``
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd


def read_benchmarks(folder: str | Path) -> pd.DataFrame:
    """One row per job: rule, job (wildcards), seconds, max RSS (MB), CPU time."""
    folder = Path(folder)
    rows = []
    for path in sorted(folder.rglob("*.tsv")):
        relative = path.relative_to(folder)
        table = pd.read_csv(path, sep="\t")
        if table.empty:
            continue
        last = table.iloc[-1]  # repeated benchmarks: the last run
        rows.append(
            {
                "rule": relative.parts[0].removesuffix(".tsv"),
                "job": str(relative.with_suffix("")),
                "seconds": float(last["s"]),
                "max_rss_mb": pd.to_numeric(last.get("max_rss"), errors="coerce"),
                "cpu_seconds": pd.to_numeric(last.get("cpu_time"), errors="coerce"),
            }
        )
    return pd.DataFrame(rows, columns=["rule", "job", "seconds", "max_rss_mb", "cpu_seconds"])


def summarise_benchmarks(jobs: pd.DataFrame) -> pd.DataFrame:
    """Per rule: job count, total, mean and max wall seconds, peak memory."""
    if jobs.empty:
        return pd.DataFrame(columns=["jobs", "total_s", "mean_s", "max_s", "peak_rss_mb"])
    grouped = jobs.groupby("rule")
    summary = pd.DataFrame(
        {
            "jobs": grouped.size(),
            "total_s": grouped["seconds"].sum(),
            "mean_s": grouped["seconds"].mean(),
            "max_s": grouped["seconds"].max(),
            "peak_rss_mb": grouped["max_rss_mb"].max(),
        }
    )
    return summary.sort_values("total_s", ascending=False).round(2)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", default="results/benchmarks")
    args = parser.parse_args(argv)
    summary = summarise_benchmarks(read_benchmarks(args.folder))
    print(summary.to_string())
    print(f"\nsum of job wall times: {summary['total_s'].sum():.1f} s")


if __name__ == "__main__":
    main()
