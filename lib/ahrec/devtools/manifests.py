"""Manifests without videos: the rows a test or a benchmark cares about, the rest filled in.

Unit tests and ``benchmarks/fusion_speed.py`` build manifests of the full
schema (``MANIFEST_SCHEMA``) from a few columns; a benchmark is not a test, so
the helper lives in the library (``ahrec.devtools``), not under ``tests/``.
Nothing the workflow runs imports it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from ahrec.corpus.manifest import MANIFEST_SCHEMA


def manifest_frame(rows: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """A manifest with every column: readable videos with audio in shard 0, nullable labels."""
    frame = pd.DataFrame(list(rows))
    for column in MANIFEST_SCHEMA.names:
        if column not in frame:
            frame[column] = None
    frame["readable"], frame["has_audio"], frame["shard"] = True, True, 0
    frame["label"] = frame["label"].astype("Int8")
    return frame[MANIFEST_SCHEMA.names]
