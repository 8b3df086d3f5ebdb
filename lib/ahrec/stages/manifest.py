"""Step: corpus -> ``manifest.parquet``."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from ahrec.corpus.manifest import build_manifest, read_corpus, write_manifest
from ahrec.runtime import progress

LOG = logging.getLogger(__name__)


def summarise(manifest: pd.DataFrame) -> str:
    """A short, human-readable account of the manifest for the job's log."""
    lines = [f"{len(manifest)} videos, {manifest['participant'].nunique()} participants"]
    for split, group in manifest.groupby("split", sort=False):
        labels = group["label"].value_counts(dropna=False).to_dict()
        lines.append(
            f"  {split}: {len(group)} videos, {group['participant'].nunique()} participants, "
            f"labels {labels}, without transcript {int(group['transcript'].isna().sum())}, "
            f"unreadable {int((~group['readable'].astype(bool)).sum())}, "
            f"without audio {int((~group['has_audio'].astype(bool)).sum())}"
        )
    for row in manifest[~manifest["readable"].astype(bool)].itertuples():
        lines.append(f"  unreadable: {row.video_path} ({row.problem})")
    return "\n".join(lines)


def build_manifest_file(
    corpus: Mapping[str, Any],
    shards: int,
    out: str | Path,
    demo_root: str | Path | None = None,
    workers: int = 4,
) -> pd.DataFrame:
    records = read_corpus(corpus, Path(demo_root) if demo_root else None)
    LOG.info("read %d videos from the corpus; probing them with ffprobe", len(records))
    manifest = build_manifest(
        records,
        shards,
        workers=workers,
        progress=lambda items, total: progress(items, total, "probe"),
    )
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    temporary = Path(out).with_name(f".tmp-{Path(out).name}")
    write_manifest(manifest, temporary)
    os.replace(temporary, out)
    LOG.info("manifest:\n%s", summarise(manifest))
    return manifest
