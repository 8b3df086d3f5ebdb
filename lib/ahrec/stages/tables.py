"""Steps: concatenate per-shard Parquet tables (embeddings, transcripts, face detection)."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from ahrec.embeddings.table import gather_embeddings

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


def gather_shards(shards: Sequence[str | Path], out: str | Path) -> None:
    """Shard embedding tables -> one table, row group by row group (bounded memory)."""
    rows = gather_embeddings(shards, out)
    LOG.info("gathered %d rows from %d shards into %s", rows, len(shards), out)
