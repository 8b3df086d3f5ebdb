"""Embedding tables: one Parquet row per video, whatever the modality.

Columns: ``video_id``, ``embedding`` (fixed-size float32 list), ``available``
and ``reason`` (why a video has no embedding). Sequence encoders (audio) also
store ``sequence`` (a list of fixed-size float16 steps) and ``n_steps``, which
the temporal model reads; float16 halves the size of wav2vec2's 1024-d steps
at no cost to a model trained in float32. A unimodal model's table also
stores ``logodds``, its log-odds of A/H for the video (out of fold where the
embedding is): the late-fusion baseline and a fusion over log-odds read that
one number instead of the embedding. The table's metadata records which
encoder made it, so a table is self-describing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ahrec.io import atomic_path

META_KEY = b"ahrec"


@dataclass
class EmbeddingRow:
    """One video's embedding, or the reason it has none."""

    video_id: str
    vector: np.ndarray | None
    reason: str | None = None
    sequence: np.ndarray | None = None
    logodds: float | None = None

    @staticmethod
    def missing(video_id: str, reason: str) -> EmbeddingRow:
        return EmbeddingRow(video_id=video_id, vector=None, reason=reason)


@dataclass
class EmbeddingTable:
    """A table read back: one row per video, vectors stacked into a matrix."""

    video_ids: list[str]
    vectors: np.ndarray  # (N, D) float32; zeros where unavailable
    available: np.ndarray  # (N,) bool
    reasons: list[str | None]
    meta: dict[str, Any] = field(default_factory=dict)
    sequences: list[np.ndarray] | None = None  # (T_i, F) float16 each; empty where unavailable
    logodds: np.ndarray | None = None  # (N,) float32, NaN where unavailable; None: not stored

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])

    def index(self) -> dict[str, int]:
        return {video_id: i for i, video_id in enumerate(self.video_ids)}


def table_schema(
    dim: int, seq_dim: int | None, meta: Mapping[str, Any], logodds: bool = False
) -> pa.Schema:
    fields = [
        pa.field("video_id", pa.string(), nullable=False),
        pa.field("embedding", pa.list_(pa.float32(), dim), nullable=False),
        pa.field("available", pa.bool_(), nullable=False),
        pa.field("reason", pa.string()),
    ]
    if seq_dim is not None:
        fields.append(pa.field("sequence", pa.list_(pa.list_(pa.float16(), seq_dim))))
        fields.append(pa.field("n_steps", pa.int32(), nullable=False))
    if logodds:
        fields.append(pa.field("logodds", pa.float32()))
    full_meta = {**meta, "dim": dim, "seq_dim": seq_dim}
    return pa.schema(fields, metadata={META_KEY: json.dumps(full_meta, sort_keys=True).encode()})


def _validated(row: EmbeddingRow, dim: int, seq_dim: int | None) -> EmbeddingRow:
    if row.vector is None:
        if not row.reason:
            raise ValueError(f"{row.video_id}: an unavailable embedding needs a reason")
        return row
    vector = np.asarray(row.vector, dtype=np.float32).reshape(-1)
    if vector.shape[0] != dim:
        raise ValueError(f"{row.video_id}: embedding has {vector.shape[0]} values, expected {dim}")
    if not np.all(np.isfinite(vector)):
        return EmbeddingRow.missing(row.video_id, "the encoder produced non-finite values")
    if row.logodds is not None and not np.isfinite(row.logodds):
        return EmbeddingRow.missing(row.video_id, "the model produced a non-finite log-odds")
    sequence = row.sequence
    if seq_dim is not None:
        if sequence is None or len(sequence) == 0:
            return EmbeddingRow.missing(row.video_id, row.reason or "empty sequence")
        sequence = np.asarray(sequence, dtype=np.float16)
        if sequence.ndim != 2 or sequence.shape[1] != seq_dim:
            raise ValueError(
                f"{row.video_id}: sequence shape {sequence.shape}, expected (T, {seq_dim})"
            )
    return EmbeddingRow(row.video_id, vector, None, sequence, row.logodds)


def rows_to_table(
    rows: Iterable[EmbeddingRow], dim: int, seq_dim: int | None, meta: Mapping[str, Any]
) -> pa.Table:
    rows = [_validated(r, dim, seq_dim) for r in rows]
    with_logodds = any(r.logodds is not None for r in rows)
    if with_logodds:
        lacking = [r.video_id for r in rows if r.vector is not None and r.logodds is None]
        if lacking:
            raise ValueError(f"{lacking[0]}: a table with log-odds needs one for every embedding")
    zeros = np.zeros(dim, dtype=np.float32)
    flat = (
        np.concatenate([r.vector if r.vector is not None else zeros for r in rows])
        if rows
        else (np.zeros(0, np.float32))
    )
    columns: dict[str, pa.Array] = {
        "video_id": pa.array([r.video_id for r in rows], pa.string()),
        "embedding": pa.FixedSizeListArray.from_arrays(pa.array(flat, pa.float32()), dim),
        "available": pa.array([r.vector is not None for r in rows], pa.bool_()),
        "reason": pa.array([r.reason for r in rows], pa.string()),
    }
    if seq_dim is not None:
        steps = [r.sequence if r.vector is not None else None for r in rows]
        lengths = [0 if s is None else len(s) for s in steps]
        values = (
            np.concatenate([s.reshape(-1) for s in steps if s is not None]).astype(np.float16)
            if any(lengths)
            else np.zeros(0, np.float16)
        )
        inner = pa.FixedSizeListArray.from_arrays(pa.array(values, pa.float16()), seq_dim)
        offsets = pa.array(np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32))
        columns["sequence"] = pa.ListArray.from_arrays(offsets, inner)
        columns["n_steps"] = pa.array(lengths, pa.int32())
    if with_logodds:
        columns["logodds"] = pa.array(
            [float(r.logodds) if r.vector is not None else None for r in rows], pa.float32()
        )
    schema = table_schema(dim, seq_dim, meta, with_logodds)
    return pa.Table.from_arrays(list(columns.values()), schema=schema)


def _atomic_write(table: pa.Table, path: str | Path) -> None:
    with atomic_path(path) as temporary:
        pq.write_table(table, temporary, compression="zstd")


def write_embeddings(
    path: str | Path,
    rows: Iterable[EmbeddingRow],
    dim: int,
    meta: Mapping[str, Any],
    seq_dim: int | None = None,
) -> None:
    """Validate and write one embedding table atomically."""
    _atomic_write(rows_to_table(rows, dim, seq_dim, meta), path)


def read_meta(path: str | Path) -> dict[str, Any]:
    schema = pq.read_schema(path)
    raw = (schema.metadata or {}).get(META_KEY)
    return json.loads(raw) if raw else {}


def read_embeddings(path: str | Path, with_sequences: bool = False) -> EmbeddingTable:
    """Read a table; sequences are decoded only when asked for (they are large)."""
    schema = pq.read_schema(path)
    columns = ["video_id", "embedding", "available", "reason"]
    if "logodds" in schema.names:
        columns.append("logodds")
    has_sequences = "sequence" in schema.names
    if with_sequences:
        if not has_sequences:
            raise ValueError(f"{path}: this embedding table holds no sequences")
        columns += ["sequence", "n_steps"]
    table = pq.read_table(path, columns=columns)
    meta = read_meta(path)
    dim = int(meta.get("dim") or schema.field("embedding").type.list_size)
    vectors = table.column("embedding").combine_chunks().flatten().to_numpy(zero_copy_only=False)
    vectors = vectors.astype(np.float32, copy=False).reshape(-1, dim)
    sequences = None
    if with_sequences:
        seq_dim = int(meta["seq_dim"])
        column = table.column("sequence").combine_chunks()
        flat = column.flatten().flatten().to_numpy(zero_copy_only=False).astype(np.float16)
        steps = flat.reshape(-1, seq_dim)
        bounds = np.concatenate([[0], np.cumsum(table.column("n_steps").to_numpy())])
        sequences = [steps[bounds[i] : bounds[i + 1]] for i in range(len(bounds) - 1)]
    return EmbeddingTable(
        video_ids=table.column("video_id").to_pylist(),
        vectors=vectors,
        available=table.column("available").to_numpy(zero_copy_only=False).astype(bool),
        reasons=table.column("reason").to_pylist(),
        meta=meta,
        sequences=sequences,
        logodds=(
            table.column("logodds").to_numpy(zero_copy_only=False).astype(np.float32)
            if "logodds" in columns
            else None
        ),
    )


def gather_embeddings(shards: Sequence[str | Path], out: str | Path) -> int:
    """Concatenate shard tables into one, row group by row group (bounded memory).

    Returns the number of rows written. Shards must share one schema: the same
    encoder wrote them.
    """
    if not shards:
        raise ValueError("no shard tables to gather")
    schema = pq.read_schema(shards[0])
    rows = 0
    seen: set[str] = set()
    with (
        atomic_path(out) as temporary,
        pq.ParquetWriter(temporary, schema, compression="zstd") as writer,
    ):
        for shard in shards:
            parquet = pq.ParquetFile(shard)
            if not parquet.schema_arrow.equals(schema, check_metadata=False):
                raise ValueError(f"{shard}: schema differs from {shards[0]}")
            for group in range(parquet.num_row_groups):
                table = parquet.read_row_group(group)
                ids = table.column("video_id").to_pylist()
                duplicates = seen.intersection(ids)
                if duplicates:
                    raise ValueError(f"{shard}: video(s) in two shards: {sorted(duplicates)[:3]}")
                seen.update(ids)
                writer.write_table(table.cast(schema))
                rows += table.num_rows
    return rows
