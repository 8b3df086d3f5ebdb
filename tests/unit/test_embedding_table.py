"""Embedding tables: fixed-size float32 vectors, availability, sequences, gathering."""

import numpy as np
import pyarrow.parquet as pq
import pytest

from ahrec.embeddings.table import (
    EmbeddingRow,
    gather_embeddings,
    read_embeddings,
    read_meta,
    write_embeddings,
)


def test_round_trip_with_unavailable_rows(tmp_path):
    rows = [
        EmbeddingRow("a", np.arange(4, dtype=np.float64)),
        EmbeddingRow.missing("b", "no face"),
        EmbeddingRow("c", np.array([np.nan, 0, 0, 0])),  # non-finite becomes unavailable
    ]
    path = tmp_path / "t.parquet"
    write_embeddings(path, rows, 4, {"modality": "face", "encoder": "hog"})
    table = read_embeddings(path)
    assert table.video_ids == ["a", "b", "c"]
    assert table.vectors.dtype == np.float32 and table.vectors.shape == (3, 4)
    assert table.available.tolist() == [True, False, False]
    assert table.reasons == [None, "no face", "the encoder produced non-finite values"]
    assert table.vectors[1].tolist() == [0, 0, 0, 0]
    assert read_meta(path)["encoder"] == "hog" and read_meta(path)["dim"] == 4
    schema = pq.read_schema(path)
    field_type = schema.field("embedding").type
    assert field_type.list_size == 4 and str(field_type.value_type) == "float"


def test_wrong_dimension_and_missing_reason_are_errors(tmp_path):
    with pytest.raises(ValueError, match="expected 4"):
        write_embeddings(tmp_path / "x.parquet", [EmbeddingRow("a", np.zeros(3))], 4, {})
    with pytest.raises(ValueError, match="needs a reason"):
        write_embeddings(tmp_path / "x.parquet", [EmbeddingRow("a", None)], 4, {})
    assert not (tmp_path / "x.parquet").exists()


def test_sequences_are_stored_as_float16_steps(tmp_path):
    rng = np.random.default_rng(0)
    seq_a = rng.normal(size=(7, 3)).astype(np.float32)
    seq_c = rng.normal(size=(2, 3)).astype(np.float32)
    rows = [
        EmbeddingRow("a", seq_a.mean(0), sequence=seq_a),
        EmbeddingRow.missing("b", "no audio track"),
        EmbeddingRow("c", seq_c.mean(0), sequence=seq_c),
    ]
    path = tmp_path / "s.parquet"
    write_embeddings(path, rows, 3, {}, seq_dim=3)
    plain = read_embeddings(path)
    assert plain.sequences is None
    table = read_embeddings(path, with_sequences=True)
    assert [s.shape for s in table.sequences] == [(7, 3), (0, 3), (2, 3)]
    assert table.sequences[0].dtype == np.float16
    np.testing.assert_allclose(table.sequences[2], seq_c, atol=1e-2)


def test_gather_concatenates_shards_and_rejects_duplicates(tmp_path):
    shards = []
    for number, ids in enumerate((["a", "b"], [], ["c"])):
        path = tmp_path / f"shard-{number}.parquet"
        write_embeddings(path, [EmbeddingRow(i, np.ones(2)) for i in ids], 2, {"encoder": "x"})
        shards.append(path)
    out = tmp_path / "all.parquet"
    assert gather_embeddings(shards, out) == 3
    assert read_embeddings(out).video_ids == ["a", "b", "c"]
    assert read_meta(out)["encoder"] == "x"
    write_embeddings(shards[1], [EmbeddingRow("a", np.ones(2))], 2, {"encoder": "x"})
    with pytest.raises(ValueError, match="in two shards"):
        gather_embeddings(shards, tmp_path / "dup.parquet")
