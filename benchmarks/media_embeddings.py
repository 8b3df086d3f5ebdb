"""Benchmark the media and embedding stages on the demo corpus (see README, "Benchmarks").

A thin entry point for discoverability; the logic is in
``lib/ahrec/reporting/stage_benchmark.py``. Same arguments::

    .venv/bin/python benchmarks/media_embeddings.py --limit 8 --json bench.json
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))

from ahrec.reporting.stage_benchmark import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
