"""The transcripts table: one row per video of a shard, read by the stages after it.

The text encoders and the text models read the shards' tables through
``read_transcripts``; keeping it here, below the transcripts step, lets them
do so without importing the step that recognises speech.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

COLUMNS = ["video_id", "transcript", "source", "reason"]


def read_transcripts(paths: Sequence[str | Path]) -> pd.DataFrame:
    """The shards' tables at ``paths`` as one (empty, with the columns, when there are none)."""
    frames = [pd.read_parquet(p) for p in paths]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=COLUMNS)
