"""Step: which modality each video lost, and why — one table for the whole corpus.

Built from the embedding tables (each row says whether an encoder had input
and why not) and the face detection rates (a video where no face was found
still has a face embedding, computed on whole frames, and this table says
so). The report's availability plot and the closing of the hostile-corpus
tests read it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from ahrec.corpus.manifest import read_manifest
from ahrec.embeddings.table import read_embeddings
from ahrec.io import write_csv

LOG = logging.getLogger(__name__)

COLUMNS = ["video_id", "video_path", "split", "modality", "encoder", "available", "reason"]


def availability(
    manifest_path: str | Path,
    embedding_tables: Sequence[str | Path],
    face_detection: str | Path | None,
    out: str | Path,
) -> pd.DataFrame:
    manifest = read_manifest(manifest_path).set_index("video_id")
    no_face = set()
    if face_detection is not None:
        detection = pd.read_parquet(face_detection)
        no_face = set(
            detection.loc[(detection["n_frames"] > 0) & (detection["n_detected"] == 0), "video_id"]
        )
    rows = []
    for path in embedding_tables:
        table = read_embeddings(path)
        modality = table.meta.get("modality", Path(path).parent.name)
        encoder = table.meta.get("encoder", Path(path).stem)
        for i, video_id in enumerate(table.video_ids):
            reason = table.reasons[i]
            if modality == "face" and table.available[i] and video_id in no_face:
                reason = "no face found: whole frames used"
            rows.append(
                {
                    "video_id": video_id,
                    "video_path": manifest.loc[video_id, "video_path"],
                    "split": manifest.loc[video_id, "split"],
                    "modality": modality,
                    "encoder": encoder,
                    "available": bool(table.available[i]),
                    "reason": reason,
                }
            )
    frame = pd.DataFrame(rows, columns=COLUMNS)
    write_csv(frame, out)
    lost = frame[~frame["available"]]
    LOG.info(
        "%d videos x %d tables; %d unavailable entries:\n%s",
        len(manifest),
        len(embedding_tables),
        len(lost),
        lost.groupby(["modality", "reason"]).size().to_string() if len(lost) else "  none",
    )
    return frame
