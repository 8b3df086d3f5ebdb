"""Steps: a shard's corpus transcripts, completed by speech recognition, and their table."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from ahrec.io import write_parquet
from ahrec.transcripts.asr import build_recognizer, build_vad, resolve_transcripts
from ahrec.transcripts.table import COLUMNS

LOG = logging.getLogger(__name__)


def transcripts_shard(
    videos: Sequence[Mapping[str, Any]],
    wavs: Mapping[str, str | Path],
    out: str | Path,
    asr: Mapping[str, Any],
    device: str = "auto",
    vad: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """``wavs`` holds the audio of exactly the videos that need recognition.

    ``vad`` is the ``transcripts.vad`` section: its detector keeps recordings
    without speech from the recogniser (None or kind ``none``: no gate).
    """
    needs = [v["video_id"] for v in videos if not (v.get("transcript") or "").strip()]
    recognizer = build_recognizer(asr, device) if needs else None
    gate = build_vad(vad) if recognizer is not None else None
    # paths, not waveforms: a streaming recogniser reads them block by block (flat memory)
    audio = {video_id: str(wavs[video_id]) if video_id in wavs else None for video_id in needs}
    rows = resolve_transcripts(videos, audio, recognizer, gate)
    table = pd.DataFrame([r.__dict__ for r in rows], columns=COLUMNS)
    write_parquet(table, out)
    counts = table["source"].fillna("none").value_counts().to_dict()
    LOG.info("%d transcripts by source: %s", len(table), counts)
    return table
