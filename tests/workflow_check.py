"""Lint and dry-run the workflow with every configuration file, in one process.

A broken rule, input function or configuration file shows here in seconds,
long before an end-to-end run reaches it. Each configuration (config.yaml,
each preset, the test configuration) gets ``snakemake --lint`` and a dry run
of the default target; Snakemake is imported once for all of them, so the
check costs a few seconds rather than a Snakemake start per command.

    .venv/bin/python -m tests.workflow_check            # every configuration file
    .venv/bin/python -m tests.workflow_check presets/paper.yaml

A preset that reads a corpus from disk (``corpus.root``) is pointed at an empty
corpus of that format in a temporary folder, so its DAG plans up to the
manifest's checkpoint like the others.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

# This checkout's workflow and library, whichever checkout the environment installed.
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "lib"))

from ahrec.devtools.runs import snakemake_env  # noqa: E402

CONFIG_FILES = [
    REPO / "config.yaml",
    *sorted((REPO / "presets").glob("*.yaml")),
    REPO / ".test" / "config.yaml",
]
SPLIT_FILES = ("train.txt", "val.txt", "test.txt")


def corpus_overlay(config_file: Path, scratch: Path) -> list[Path]:
    """An extra config file pointing a configuration's on-disk corpus at an empty one."""
    config = yaml.safe_load(config_file.read_text()) or {}
    corpus = config.get("corpus") or {}
    if corpus.get("type") != "bah" or Path(str(corpus.get("root", ""))).is_dir():
        return []
    root = scratch / "bah"
    root.mkdir(parents=True, exist_ok=True)
    for name in SPLIT_FILES:
        (root / name).touch()
    overlay = scratch / "corpus.yaml"
    overlay.write_text(yaml.safe_dump({"corpus": {"type": "bah", "root": str(root)}}))
    return [overlay]


def run_snakemake(args: list[str]) -> tuple[int, str]:
    """Snakemake's CLI in this process: (exit status, what it printed)."""
    from snakemake.cli import main

    output = io.StringIO()
    code: Any = 0
    with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
        try:
            main(args)
        except SystemExit as exc:
            code = exc.code
    return (0 if code in (0, None) else 1 if not isinstance(code, int) else code), output.getvalue()


def planned_total(output: str) -> int | None:
    """The dry run's job total ("total  94" in its Job stats table)."""
    match = re.search(r"^total\s+(\d+)\s*$", output, re.MULTILINE)
    return int(match.group(1)) if match else None


def check(config_file: Path, snakefile: Path = REPO / "Snakefile") -> list[str]:
    """Problems of one configuration file (empty when it lints clean and plans)."""
    problems = []
    with tempfile.TemporaryDirectory(prefix="ahrec-check-") as scratch:
        configs = [str(config_file), *map(str, corpus_overlay(config_file, Path(scratch)))]
        base = ["--snakefile", str(snakefile), "--configfile", *configs, "--cores", "2"]
        code, output = run_snakemake([*base, "--directory", f"{scratch}/lint", "--lint"])
        if code != 0 or "Congratulations" not in output:
            problems.append(
                f"{config_file.name}: snakemake --lint (exit {code}):\n{output[-4000:]}"
            )
        code, output = run_snakemake([*base, "--directory", f"{scratch}/dry", "--dry-run"])
        total = planned_total(output)
        if code != 0 or not total:
            problems.append(f"{config_file.name}: dry run (exit {code}):\n{output[-4000:]}")
    if not problems:
        print(f"{config_file}: lint clean, dry run plans {total} jobs")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("configs", nargs="*", type=Path, help="default: every configuration file")
    parser.add_argument("--snakefile", type=Path, default=REPO / "Snakefile")
    args = parser.parse_args(argv)
    os.environ.update(snakemake_env())  # before Snakemake is imported (ahrec.devtools.runs)
    started = time.monotonic()
    snakefile = args.snakefile.resolve()
    configs = args.configs or CONFIG_FILES
    problems = [p for config in configs for p in check(config.resolve(), snakefile)]
    for problem in problems:
        print(problem, file=sys.stderr)
    print(f"{time.monotonic() - started:.1f} s")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
