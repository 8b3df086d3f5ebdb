"""Every per-video output of a run or a predict batch, keyed by file name, for bit-for-bit checks.

A video's outputs must not depend on the other videos it was processed with
(the batch, the shard, the order, a corpus or a predict batch). These helpers
collect, for each video, everything the workflow wrote about it alone: the
sampled frames and audio track, the face crops and boxes, the transcript, each
encoder's embedding row, each unimodal model's embedding row and the final
probabilities. Values become plain bytes so that ``==`` means "the same bits".
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
import pandas as pd

from ahrec.corpus.manifest import read_manifest
from ahrec.io import restore
from ahrec.media.framestore import load_frame_sets

# Columns that say where a video sat, not what it is: they may differ between batches.
PLACEMENT = {"video_id", "video_path", "list_order", "shard", "source", "path", "split"}


def bits(value: Any) -> Any:
    """``value`` with every array (and float) as its exact bytes, recursively.

    A missing cell is one value: whether pandas reads it as None, NaN or NA
    depends on the column's type, which the table's other rows decide.
    """
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return ("missing",)
    if isinstance(value, np.ndarray):
        if value.dtype == object:
            return ("object", value.shape, tuple(bits(v) for v in value.ravel()))
        return (value.dtype.str, value.shape, value.tobytes())
    if isinstance(value, dict):
        return {key: bits(v) for key, v in sorted(value.items())}
    if isinstance(value, list | tuple):
        return tuple(bits(v) for v in value)
    if isinstance(value, float | np.floating):
        return ("float", np.float64(value).tobytes())
    return value


def _name(video_path: str) -> str:
    return PurePosixPath(restore(str(video_path))).name


def per_video_outputs(folder: Path) -> dict[str, dict[str, Any]]:
    """file name -> {output: bits} for the run or predict batch whose results are in ``folder``.

    ``folder`` holds a ``manifest.parquet``; every Parquet table with a
    ``video_id`` column below it gives one entry per row (shard numbers folded
    away: which shard a video went to may differ), every frames file one per
    frame set, every audio track its bytes, and ``predictions.csv`` its row.
    """
    manifest = read_manifest(folder / "manifest.parquet")
    name_of = {
        v: _name(p) for v, p in zip(manifest["video_id"], manifest["video_path"], strict=True)
    }
    outputs: dict[str, dict[str, Any]] = defaultdict(dict)
    for path in sorted(folder.rglob("*.parquet")):
        relative = path.relative_to(folder).as_posix()
        if relative == "manifest.parquet":
            continue
        frame = pd.read_parquet(path)
        if "video_id" not in frame.columns:
            continue
        family = re.sub(r"shard-\d+", "shard-*", relative)
        for row in frame.to_dict("records"):
            name = name_of.get(row["video_id"])
            if name is not None:
                outputs[name][family] = bits({k: v for k, v in row.items() if k not in PLACEMENT})
    for path in sorted(folder.rglob("*.npz")):
        with np.load(path, allow_pickle=False) as archive:
            if "video_ids" not in archive.files:
                continue  # not frames (a model's arrays)
        family = re.sub(r"shard-\d+", "shard-*", path.relative_to(folder).parent.as_posix())
        for frame_set in load_frame_sets(path):
            name = name_of.get(frame_set.video_id)
            if name is not None:
                outputs[name][f"{family}/frames"] = bits(
                    {
                        "frames": list(frame_set.frames),
                        "index": frame_set.frame_index,
                        "reason": frame_set.reason,
                        "extras": dict(frame_set.extras),
                    }
                )
    for path in sorted(folder.glob("media/audio/*.wav")):
        video_id = path.stem
        if video_id in name_of:
            outputs[name_of[video_id]]["media/audio"] = path.read_bytes()
    predictions = folder / "predictions.csv"
    if predictions.is_file():
        for row in pd.read_csv(predictions).to_dict("records"):
            outputs[_name(row["video_path"])]["predictions.csv"] = bits(
                {k: v for k, v in row.items() if k not in PLACEMENT}
            )
    return dict(outputs)


def differences(first: dict[str, Any], second: dict[str, Any]) -> list[str]:
    """The outputs of one video that differ between two places (or exist in one only)."""
    return sorted(key for key in first.keys() | second.keys() if first.get(key) != second.get(key))
