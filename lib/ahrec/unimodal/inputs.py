"""What a unimodal model reads, per video: an embedding, a sequence, a transcript or frames.

Training and prediction on new videos read their inputs through this one
function, so they cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ahrec.embeddings.table import read_embeddings
from ahrec.transcripts.table import read_transcripts


def load_inputs(
    input_kind: str, sources: Sequence[str | Path]
) -> tuple[dict[str, dict[str, Any]], dict[str, str], int | None]:
    """Per video id the model's input (an item without label), why others have none, input size.

    ``input_kind`` is a unimodal spec's ``input``: embedding, sequence,
    transcripts or scene_frames (``sources`` are then the shards' frame indexes). Training and prediction on new videos read
    inputs through this one function, so they cannot drift apart.
    """
    inputs: dict[str, dict[str, Any]] = {}
    reasons: dict[str, str] = {}
    if input_kind in ("embedding", "sequence"):
        table = read_embeddings(sources[0], with_sequences=input_kind == "sequence")
        for i, video_id in enumerate(table.video_ids):
            if not table.available[i]:
                reasons[video_id] = table.reasons[i] or "unavailable"
            elif input_kind == "sequence":
                inputs[video_id] = {"x": table.sequences[i]}
            else:
                inputs[video_id] = {"x": table.vectors[i]}
        size = (
            int(table.meta.get("seq_dim") or table.dim) if input_kind == "sequence" else table.dim
        )
        return inputs, reasons, size
    if input_kind == "transcripts":
        frame = read_transcripts(sources)
        for row in frame.itertuples(index=False):
            text = row.transcript if isinstance(row.transcript, str) else None
            if text and text.strip():
                inputs[row.video_id] = {"text": text}
            else:
                reasons[row.video_id] = (
                    row.reason if isinstance(row.reason, str) else "no transcript"
                )
        return inputs, reasons, None
    if input_kind == "scene_frames":
        from ahrec.media.framestore import load_frame_set
        from ahrec.media.shard import media_files

        # sources are the media jobs' shard indexes; frames are stored per video
        for path in media_files(sources):
            frame_set = load_frame_set(path)
            if frame_set.available:
                # decoded lazily by the model's collate: a corpus of frames does not fit in memory
                inputs[frame_set.video_id] = {"frames_path": str(path)}
            else:
                reasons[frame_set.video_id] = frame_set.reason or "no frames"
        return inputs, reasons, None
    raise ValueError(f"unknown input kind {input_kind!r}")
