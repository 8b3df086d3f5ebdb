"""Text: TF-IDF vectors, with the vocabulary fitted on the training split only.

Fitting the vocabulary and document frequencies on validation or test
transcripts would leak them into every model that reads these vectors, so
the vectorizer sees training transcripts alone and only transforms the
rest.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from ahrec.embeddings.base import TextItem, unavailable_text
from ahrec.embeddings.kinds import TfidfSpec
from ahrec.embeddings.table import EmbeddingRow


def fit_tfidf(spec: TfidfSpec, train_texts: Sequence[str]) -> TfidfVectorizer:
    texts = [t for t in train_texts if t and t.strip()]
    if not texts:
        raise ValueError("TF-IDF needs at least one training transcript")
    vectorizer = TfidfVectorizer(
        max_features=spec.max_features,
        ngram_range=(spec.ngram_min, spec.ngram_max),
        min_df=spec.min_df,
        sublinear_tf=spec.sublinear_tf,
        lowercase=True,
        dtype=np.float32,
    )
    vectorizer.fit(texts)
    return vectorizer


def tfidf_rows(vectorizer: TfidfVectorizer, items: Sequence[TextItem]) -> list[EmbeddingRow]:
    """One row per item; transcripts without any in-vocabulary word are still available."""
    rows: list[EmbeddingRow | None] = []
    texts: list[str] = []
    positions: list[int] = []
    for item in items:
        missing = unavailable_text(item)
        rows.append(missing)
        if missing is None:
            positions.append(len(rows) - 1)
            texts.append(item.text or "")
    if texts:
        matrix = vectorizer.transform(texts).toarray().astype(np.float32)
        for row_number, position in enumerate(positions):
            rows[position] = EmbeddingRow(items[position].video_id, matrix[row_number])
    return [row for row in rows if row is not None]
