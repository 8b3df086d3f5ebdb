"""Writing outputs so that a killed job never leaves half a file behind.

Every table, figure and archive the workflow writes goes to a temporary file
beside its destination and is renamed into place when complete (a rename
within one folder is atomic), so a crash mid-write leaves either the old file
or none, never a truncated one that a resumed run would trust.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import pandas as pd

from ahrec.processes import temporary_beside

LOG = logging.getLogger(__name__)

CHUNK_BYTES = 1 << 20


def content_digest(path: str | os.PathLike[str]) -> str:
    """SHA-256 of the file's bytes (hex), read in 1 MiB chunks (bounded memory).

    What a file *is*: a recording's identity in the manifest, a shard's check
    that its video is still that recording, an exported file's seal.
    """
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


@contextlib.contextmanager
def atomic_path(out: str | Path) -> Iterator[Path]:
    """A temporary path beside ``out``; renamed to ``out`` when the block succeeds."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    temporary = temporary_beside(out)  # a name the next job writing ``out`` removes if left
    try:
        yield temporary
        os.replace(temporary, out)
    finally:
        temporary.unlink(missing_ok=True)


def write_parquet(frame: pd.DataFrame, out: str | Path) -> None:
    with atomic_path(out) as temporary:
        frame.to_parquet(temporary, index=False)


# A spreadsheet reads a cell starting with these as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
QUOTE = "'"


def defuse(value: object) -> object:
    """A text cell a spreadsheet shows as text: ``'`` before a formula start (or a leading ``'``).

    Reversible byte for byte: a defused cell starts with ``'``, and dropping
    that first character (``restore``) gives the original back; an original
    that itself starts with ``'`` is defused too, so the rule has no exception.
    """
    if isinstance(value, str) and value.startswith((*FORMULA_STARTS, QUOTE)):
        return QUOTE + value
    return value


def restore(value: str) -> str:
    """The original text of a cell that ``defuse`` wrote."""
    return value[1:] if value.startswith(QUOTE) else value


def write_csv(
    frame: pd.DataFrame, out: str | Path, header: bool = True, defused: bool = True
) -> None:
    """A CSV written atomically, its text cells safe to open in a spreadsheet (``defuse``)."""
    if defused:
        frame = frame.copy()
        for column in frame.columns:
            if frame[column].dtype == object or pd.api.types.is_string_dtype(frame[column]):
                frame[column] = frame[column].map(defuse)
    with atomic_path(out) as temporary:
        frame.to_csv(temporary, index=False, header=header)


def concat_parquet(paths: Sequence[str | Path], out: str | Path) -> pd.DataFrame:
    """Per-shard tables -> one table sorted by video id (face detection, transcripts)."""
    import pandas as pd

    frames = [pd.read_parquet(p) for p in paths]
    frames = [f for f in frames if not f.empty] or frames[:1]
    table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    if "video_id" in table.columns:
        table = table.sort_values("video_id").reset_index(drop=True)
    write_parquet(table, out)
    LOG.info("%d rows from %d tables -> %s", len(table), len(paths), out)
    return table
