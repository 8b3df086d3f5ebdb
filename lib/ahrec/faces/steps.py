"""Steps: a shard's face frames -> face crops and per-video detection rates, and their table."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from ahrec.faces.detect import FaceStats, crop_faces, make_detector
from ahrec.io import write_parquet
from ahrec.media.framestore import load_frame_set, save_frame_sets
from ahrec.runtime import progress

LOG = logging.getLogger(__name__)

STATS_COLUMNS = ["video_id", "n_frames", "n_detected", "detection_rate", "reason"]


def stats_frame(stats: Sequence[FaceStats]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "video_id": s.video_id,
                "n_frames": s.n_frames,
                "n_detected": s.n_detected,
                "detection_rate": s.detection_rate,
                "reason": s.reason,
            }
            for s in stats
        ],
        columns=STATS_COLUMNS,
    )


def detect_faces_shard(
    frame_files: Sequence[str | Path],
    out_crops: str | Path,
    out_stats: str | Path,
    detector: Mapping[str, Any],
    crop_size: int,
    jpeg_quality: int = 95,
    device: str = "auto",
    no_face: str = "whole_frames",
    select: str = "track",
) -> pd.DataFrame:
    """Detect, follow each video's face track, crop it, record the rate of accepted faces.

    Each video is handled on its own frames only (``crop_faces``); the detector
    holds no state between videos. ``no_face`` says what a video with no
    accepted face in any frame gets: whole frames, or no crops (its face
    modality is then masked downstream).
    """
    model = make_detector(detector, device)
    crops, stats = [], []
    for path in progress(frame_files, len(frame_files), "faces"):
        frame_set = load_frame_set(path)
        cropped, stat = crop_faces(frame_set, model, crop_size, no_face, select=select)
        crops.append(cropped)
        stats.append(stat)
    save_frame_sets(out_crops, crops, jpeg_quality)
    table = stats_frame(stats)
    write_parquet(table, out_stats)
    usable = table[table["n_frames"] > 0]
    rate = usable["n_detected"].sum() / max(usable["n_frames"].sum(), 1)
    LOG.info(
        "%d videos, face found in %.1f%% of %d frames; %d videos without any face",
        len(table),
        100 * rate,
        int(usable["n_frames"].sum()),
        int((usable["n_detected"] == 0).sum()),
    )
    return table
