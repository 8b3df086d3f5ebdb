"""Steps: a shard's media -> one embedding table per modality and encoder, then one per encoder.

Each function loads its encoder once (its kind table row says which class,
and whether it needs a torch device) and feeds it the whole shard, in groups
of the size the encoder asks for (``items_per_call``: its configured
``batch_size``), so that a larger batch really makes larger forward passes;
the shard tables are then gathered into one per encoder.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ahrec.embeddings.base import AudioItem, TextItem
from ahrec.embeddings.kinds import EncoderSpec, encoder_meta
from ahrec.embeddings.table import EmbeddingRow, gather_embeddings, write_embeddings
from ahrec.media.audio import read_wav
from ahrec.media.framestore import FrameSet, load_frame_sets
from ahrec.runtime import progress
from ahrec.transcripts.table import read_transcripts

LOG = logging.getLogger(__name__)


def build_encoder(spec: EncoderSpec, device: str = "auto") -> Any:
    """Load the encoder of ``spec`` once; the caller feeds it a whole shard.

    ``device`` is the config preference (auto, cpu, cuda); it is resolved, and
    torch imported, only for the neural kinds.
    """
    row = spec.row
    if row.corpus_level:
        raise ValueError(
            f"embeddings.{spec.modality}.{spec.name}: {spec.kind} is fitted on the corpus, "
            "not run per shard"
        )
    if not row.neural:
        return row.load()(spec.options)
    from ahrec.device import select_device

    return row.load()(spec.options, select_device(device))


def _write(
    spec: EncoderSpec, rows: list[EmbeddingRow], out: str | Path, dim: int, seq_dim: int | None
) -> None:
    write_embeddings(
        out, rows, dim, encoder_meta(spec), seq_dim=seq_dim if spec.is_sequence else None
    )
    available = sum(r.vector is not None for r in rows)
    LOG.info(
        "%s/%s: %d rows, %d available, dim %d", spec.modality, spec.name, len(rows), available, dim
    )
    for row in rows:
        if row.vector is None:
            LOG.info("  unavailable %s: %s", row.video_id, row.reason)


def _batched(items: Sequence[Any], size: int) -> list[Sequence[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


# Items per encode() call for encoders that do not batch (the classical ones work
# video by video; the call size only sets how often the progress bar moves).
DEFAULT_ITEMS_PER_CALL = {"scene": 8, "face": 8, "audio": 1, "text": 64}


def items_per_call(encoder: Any, modality: str) -> int:
    """How many videos (tracks, transcripts) to hand ``encoder.encode`` at once.

    A batching encoder says so with ``batch_items`` (its configured
    ``batch_size``, in videos), since a fixed group size would cap any larger
    ``batch_size``; the others get ``DEFAULT_ITEMS_PER_CALL`` of their modality.
    """
    size = getattr(encoder, "batch_items", None)
    return max(1, int(size)) if size else DEFAULT_ITEMS_PER_CALL[modality]


def embed_frames_shard(
    spec: EncoderSpec,
    frame_files: Sequence[str | Path],
    out: str | Path,
    device: str = "auto",
) -> None:
    """Scene (one frames file per video) or face (one crops file per shard) encoders."""
    encoder = build_encoder(spec, device)
    frame_sets: list[FrameSet] = []
    for path in frame_files:
        frame_sets.extend(load_frame_sets(path))
    rows: list[EmbeddingRow] = []
    size = items_per_call(encoder, spec.modality)
    for batch in progress(_batched(frame_sets, size), None, f"{spec.modality}/{spec.name}"):
        rows.extend(encoder.encode(batch))
    _write(spec, rows, out, encoder.dim, getattr(encoder, "seq_dim", None))


def embed_audio_shard(
    spec: EncoderSpec,
    wavs: Mapping[str, str | Path],
    reasons: Mapping[str, str | None],
    out: str | Path,
    device: str = "auto",
) -> None:
    """``reasons`` gives, per video id, why its audio is missing (None when present)."""
    encoder = build_encoder(spec, device)
    rows: list[EmbeddingRow] = []
    size = items_per_call(encoder, "audio")
    for batch in progress(_batched(list(wavs.items()), size), None, f"audio/{spec.name}"):
        items = []
        for video_id, path in batch:
            samples, rate = read_wav(path)
            reason = reasons.get(video_id)
            if reason is None and samples.size == 0:
                reason = "no audio samples"
            items.append(AudioItem(video_id, samples, rate, reason))
        rows.extend(encoder.encode(items))
    _write(spec, rows, out, encoder.dim, getattr(encoder, "seq_dim", None))


def text_items(transcript_tables: Sequence[str | Path]) -> list[TextItem]:
    table = read_transcripts(transcript_tables)
    items = []
    for row in table.itertuples(index=False):
        text = row.transcript if isinstance(row.transcript, str) else None
        reason = row.reason if isinstance(row.reason, str) and text is None else None
        items.append(TextItem(row.video_id, text, reason))
    return items


def embed_text_shard(
    spec: EncoderSpec, transcript_table: str | Path, out: str | Path, device: str = "auto"
) -> None:
    encoder = build_encoder(spec, device)
    items = text_items([transcript_table])
    rows: list[EmbeddingRow] = []
    for batch in progress(
        _batched(items, items_per_call(encoder, "text")), None, f"text/{spec.name}"
    ):
        rows.extend(encoder.encode(batch))
    _write(spec, rows, out, encoder.dim, getattr(encoder, "seq_dim", None))


def embed_tfidf(
    spec: EncoderSpec,
    transcript_tables: Sequence[str | Path],
    train_ids: Sequence[str],
    out: str | Path,
) -> None:
    """Fit on the training split's transcripts only; transform every video."""
    from ahrec.embeddings.tfidf import fit_tfidf, tfidf_rows

    items = text_items(transcript_tables)
    train = set(train_ids)
    vectorizer = fit_tfidf(spec.options, [i.text or "" for i in items if i.video_id in train])
    rows = tfidf_rows(vectorizer, items)
    dim = len(vectorizer.vocabulary_)
    _write(spec, rows, out, dim, None)
    LOG.info("TF-IDF vocabulary of %d terms fitted on %d training transcripts", dim, len(train))


def gather_shards(shards: Sequence[str | Path], out: str | Path) -> None:
    """Shard embedding tables -> one table, row group by row group (bounded memory)."""
    rows = gather_embeddings(shards, out)
    LOG.info("gathered %d rows from %d shards into %s", rows, len(shards), out)
