"""Rule demo_corpus: generate the built-in demo corpus (BAH layout)."""

from pathlib import Path

import _lib  # noqa: F401  (puts lib/ on sys.path)
from ahrec.demo import DemoSettings, generate_demo_corpus
from ahrec.runtime import rule_logging

with rule_logging(snakemake.log[0], snakemake.threads):
    generate_demo_corpus(
        Path(snakemake.output.train).parent,
        DemoSettings.from_config(snakemake.params.demo),
        workers=snakemake.threads,
    )
