"""Step: concatenate per-shard Parquet tables (transcripts, face detection)."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

LOG = logging.getLogger(__name__)


def concat_parquet(paths: Sequence[str | Path], out: str | Path) -> pd.DataFrame:
    frames = [pd.read_parquet(p) for p in paths]
    frames = [f for f in frames if not f.empty] or frames[:1]
    table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    if "video_id" in table.columns:
        table = table.sort_values("video_id").reset_index(drop=True)
    temporary = Path(out).with_name(f".tmp-{Path(out).name}")
    table.to_parquet(temporary, index=False)
    os.replace(temporary, out)
    LOG.info("%d rows from %d tables -> %s", len(table), len(paths), out)
    return table
