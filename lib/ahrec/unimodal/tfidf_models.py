"""Kinds ``tfidf_logreg`` and ``tfidf_catboost``: the paper's text baselines.

A TF-IDF vectoriser is fitted on the labelled training transcripts only, for
every combination of vocabulary size (``max_features``) and longest n-gram
(``ngram_max``); logistic regression (balanced class weights, each ``C``) or
CatBoost (balanced, early stopping on the validation set) is fitted on it. The
combination with the best validation macro F1 wins; ties go to the simpler one
(smaller vocabulary, shorter n-grams, smaller C), so nothing but the validation
items decides. The embedding the fusion reads (``fusion_input``) is the TF-IDF
vector of the chosen vocabulary, as the authors fed it, or one number, the
class-1 log-odds (ours). The vector uses no label, so the unimodal step keeps
the final model's vectors for every video (``label_free_embedding``) where the
log-odds of training videos come from fold models, out of fold.

Saved without pickles: vocabulary and settings as JSON, idf and coefficients
as npz (``allow_pickle=False``), CatBoost in its native ``.cbm`` format.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch

from ahrec.metrics import macro_f1
from ahrec.unimodal.base import (
    Item,
    labelled,
    logit,
    read_saved,
    require_training_items,
    write_model_json,
)
from ahrec.unimodal.kinds import TfidfCatboostSpec, TfidfLogregSpec

VOCABULARY_FILE = "vocabulary.json"
ARRAYS_FILE = "arrays.npz"
CATBOOST_FILE = "catboost.cbm"


def _texts(items: Sequence[Item]) -> list[str]:
    return [str(item["text"]) for item in items]


def _labels(items: Sequence[Item]) -> np.ndarray:
    return np.array([int(item["label"]) for item in items], dtype=int)


def make_vectorizer(max_features: int, ngram_max: int, min_df: int, sublinear_tf: bool) -> Any:
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(
        max_features=int(max_features),
        ngram_range=(1, int(ngram_max)),
        min_df=int(min_df),
        sublinear_tf=bool(sublinear_tf),
        dtype=np.float32,
    )


def save_vectorizer(folder: Path, vectorizer: Any, arrays: dict[str, np.ndarray]) -> None:
    """Terms in column order (JSON) and idf plus ``arrays`` (npz, no pickles)."""
    terms = [""] * len(vectorizer.vocabulary_)
    for term, column in vectorizer.vocabulary_.items():
        terms[int(column)] = term
    record = {
        "terms": terms,
        "ngram_max": int(vectorizer.ngram_range[1]),
        "min_df": int(vectorizer.min_df),
        "max_features": int(vectorizer.max_features),
        "sublinear_tf": bool(vectorizer.sublinear_tf),
    }
    (folder / VOCABULARY_FILE).write_text(json.dumps(record) + "\n", encoding="utf-8")
    np.savez(folder / ARRAYS_FILE, idf=vectorizer.idf_.astype(np.float64), **arrays)


def load_vectorizer(folder: Path) -> tuple[Any, dict[str, np.ndarray]]:
    record = json.loads((folder / VOCABULARY_FILE).read_text(encoding="utf-8"))
    vectorizer = make_vectorizer(
        record["max_features"], record["ngram_max"], record["min_df"], record["sublinear_tf"]
    )
    vectorizer.vocabulary = {term: i for i, term in enumerate(record["terms"])}
    with np.load(folder / ARRAYS_FILE, allow_pickle=False) as archive:
        arrays = {k: archive[k] for k in archive.files}
    vectorizer.idf_ = arrays.pop("idf")  # also fixes the vocabulary given above
    return vectorizer, arrays


class _TfidfBase:
    """Grid search over vectoriser settings (and C), selected on validation MF1."""

    kind: ClassVar[str] = ""

    def __init__(self, spec: Any, input_dim: int | None, device: torch.device) -> None:
        self.spec = spec
        self.device = device
        self.vectorizer: Any = None
        self.choice: dict[str, Any] = {}

    @property
    def embedding_dim(self) -> int:
        """1 (the log-odds), or the size of the chosen vocabulary (known once fitted)."""
        if self.spec.fusion_input == "logodds":
            return 1
        if self.vectorizer is None:
            raise RuntimeError(f"{self.kind}: the TF-IDF vector's size is known after fit")
        return len(self.vectorizer.vocabulary_)

    @property
    def label_free_embedding(self) -> bool:
        """The TF-IDF vector is computed without labels: no fold model needs to make it."""
        return self.spec.fusion_input == "tfidf"

    def _grid(self) -> list[dict[str, Any]]:
        """Combinations, simplest first: a later one must be strictly better to win."""
        return [
            {"max_features": m, "ngram_max": n}
            for m, n in itertools.product(
                sorted(self.spec.max_features), sorted(self.spec.ngram_max)
            )
        ]

    def _fit_one(self, x_train: Any, y_train: np.ndarray, x_val: Any, y_val: np.ndarray) -> Any:
        raise NotImplementedError

    # the grid's dimensions, each a tuple option of the spec
    grid_keys: ClassVar[tuple[str, ...]] = ("max_features", "ngram_max")

    @classmethod
    def refit_spec(cls, spec: Any, fold_summaries: Sequence[dict[str, Any]]) -> Any:
        """The grid point with the best mean held-out MF1 over the folds (ties: the simplest).

        Every fold scores every point of the grid on its held-out fold; the
        refit then has a grid of one point.
        """
        scores: dict[tuple[Any, ...], list[float]] = {}
        for summary in fold_summaries:
            for entry in summary.get("history", []):
                if entry.get("val_mf1") is not None:
                    key = tuple(entry[k] for k in cls.grid_keys)
                    scores.setdefault(key, []).append(float(entry["val_mf1"]))
        if not scores:
            return spec
        best = max(scores, key=lambda key: float(np.mean(scores[key])))  # first of equals: simplest
        chosen = dict(zip(cls.grid_keys, best, strict=True))
        return dataclasses.replace(
            spec, **{k: (v,) for k, v in chosen.items()}, **cls._refit_extra(chosen, fold_summaries)
        )

    @classmethod
    def _refit_extra(
        cls, chosen: dict[str, Any], fold_summaries: Sequence[dict[str, Any]]
    ) -> dict[str, Any]:
        return {}

    def _class1(self, fitted: Any, x: Any) -> np.ndarray:
        raise NotImplementedError

    def _settings(self, fitted: Any) -> dict[str, Any]:
        return {}

    def _candidates(self, fitted: Any) -> list[tuple[dict[str, Any], Any]]:
        """The classifiers one vectoriser setting offers (one per C for logreg)."""
        return [({}, fitted)]

    def fit(self, train: Sequence[Item], val: Sequence[Item]) -> dict[str, Any]:
        """Try every combination; keep the best on validation macro F1."""
        train, val = labelled(train), labelled(val)
        require_training_items(train, self.kind)
        y_train = _labels(train)
        if len(set(y_train.tolist())) < 2:
            raise ValueError(f"{self.kind}: the training items hold a single class")
        y_val = _labels(val)
        history: list[dict[str, Any]] = []
        best: tuple[float, Any, Any, dict[str, Any]] | None = None
        for combination in self._grid():
            vectorizer = make_vectorizer(
                combination["max_features"],
                combination["ngram_max"],
                self.spec.min_df,
                self.spec.sublinear_tf,
            )
            x_train = vectorizer.fit_transform(_texts(train))
            x_val = vectorizer.transform(_texts(val)) if val else None
            fitted = self._fit_one(x_train, y_train, x_val, y_val)
            for extra, candidate in self._candidates(fitted):
                setting = {**combination, **extra, **self._settings(candidate)}
                score = (
                    macro_f1(y_val, (self._class1(candidate, x_val) > 0.5).astype(int))  # argmax
                    if val
                    else float("nan")
                )
                history.append(
                    {**setting, "vocabulary": len(vectorizer.vocabulary_), "val_mf1": score}
                )
                if best is None or (val and score > best[0]):
                    best = (score, vectorizer, candidate, setting)
        assert best is not None
        score, self.vectorizer, self.classifier, self.choice = best
        return {
            "kind": self.kind,
            "n_train": len(train),
            "n_val": len(val),
            "chosen": self.choice,
            "best_val_mf1": score if val else None,
            "history": [
                {k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in h.items()}
                for h in history
            ],
        }

    def predict(self, items: Sequence[Item]) -> tuple[np.ndarray, np.ndarray]:
        if self.vectorizer is None:
            raise RuntimeError(f"{self.kind}: predict before fit")
        if not items:
            return np.zeros((0, 2), np.float32), np.zeros((0, self.embedding_dim), np.float32)
        x = self.vectorizer.transform(_texts(items))
        p = self._class1(self.classifier, x)
        proba = np.stack([1.0 - p, p], axis=1).astype(np.float32)
        if self.spec.fusion_input == "logodds":
            return proba, logit(p).astype(np.float32)[:, None]
        return proba, np.asarray(x.toarray(), dtype=np.float32)


class TfidfLogregModel(_TfidfBase):
    """TF-IDF + logistic regression (liblinear, balanced), vocabulary/n-grams/C chosen on val."""

    kind = "tfidf_logreg"
    grid_keys = ("max_features", "ngram_max", "C")

    def __init__(self, spec: TfidfLogregSpec, input_dim: int | None, device: torch.device) -> None:
        super().__init__(spec, input_dim, device)
        self.classifier: tuple[np.ndarray, float] | None = None

    def _fit_one(self, x_train: Any, y_train: np.ndarray, x_val: Any, y_val: np.ndarray) -> Any:
        from sklearn.linear_model import LogisticRegression

        fitted = []
        for c in sorted(self.spec.C):
            model = LogisticRegression(
                C=float(c),
                class_weight="balanced",
                solver="liblinear",
                random_state=self.spec.seed,
                max_iter=1000,
            ).fit(x_train, y_train)
            # keep plain arrays: the same arithmetic before and after save/load
            coef = model.coef_[0].astype(np.float64)
            fitted.append((float(c), (coef, float(model.intercept_[0]))))
        return fitted

    def _candidates(self, fitted: Any) -> list[tuple[dict[str, Any], Any]]:
        return [({"C": c}, params) for c, params in fitted]

    def _class1(self, fitted: Any, x: Any) -> np.ndarray:
        coef, intercept = fitted
        z = np.asarray(x @ coef, dtype=np.float64).reshape(-1) + intercept
        return 1.0 / (1.0 + np.exp(-z))

    def save(self, folder: Path) -> None:
        folder = Path(folder)
        write_model_json(folder, self.kind, self.spec, {"chosen": self.choice})
        coef, intercept = self.classifier
        save_vectorizer(folder, self.vectorizer, {"coef": coef, "intercept": np.array([intercept])})

    @classmethod
    def load(cls, folder: Path, device: torch.device | str = "cpu") -> TfidfLogregModel:
        folder = Path(folder)
        spec, info = read_saved(folder, cls.kind)
        model = cls(spec, None, torch.device(device))
        model.vectorizer, arrays = load_vectorizer(folder)
        model.classifier = (arrays["coef"], float(arrays["intercept"][0]))
        model.choice = info.get("chosen", {})
        return model


class TfidfCatboostModel(_TfidfBase):
    """TF-IDF + CatBoost (balanced, early stopping on val), vocabulary/n-grams chosen on val."""

    kind = "tfidf_catboost"

    def __init__(
        self, spec: TfidfCatboostSpec, input_dim: int | None, device: torch.device
    ) -> None:
        super().__init__(spec, input_dim, device)
        self.classifier: Any = None

    def _fit_one(self, x_train: Any, y_train: np.ndarray, x_val: Any, y_val: np.ndarray) -> Any:
        from catboost import CatBoostClassifier

        spec = self.spec
        model = CatBoostClassifier(
            iterations=spec.iterations,
            depth=spec.depth,
            learning_rate=spec.learning_rate,
            auto_class_weights="Balanced",
            random_seed=spec.seed,
            thread_count=max(1, torch.get_num_threads() or 1),
            verbose=False,
            allow_writing_files=False,
        )
        if x_val is not None and len(y_val) > 0:
            model.fit(
                x_train,
                y_train,
                eval_set=(x_val, y_val),
                early_stopping_rounds=spec.early_stopping_rounds,
                use_best_model=True,
            )
        else:
            model.fit(x_train, y_train)
        return model

    def _settings(self, fitted: Any) -> dict[str, Any]:
        return {"iterations": int(fitted.tree_count_)}

    @classmethod
    def _refit_extra(
        cls, chosen: dict[str, Any], fold_summaries: Sequence[dict[str, Any]]
    ) -> dict[str, Any]:
        """Boosting rounds: the median of the folds' early-stopped counts at the chosen point."""
        counts = [
            int(entry["iterations"])
            for summary in fold_summaries
            for entry in summary.get("history", [])
            if all(entry.get(k) == v for k, v in chosen.items()) and entry.get("iterations")
        ]
        return {"iterations": max(1, int(round(float(np.median(counts)))))} if counts else {}

    def _class1(self, fitted: Any, x: Any) -> np.ndarray:
        return np.asarray(fitted.predict_proba(x), dtype=np.float64)[:, 1]

    def save(self, folder: Path) -> None:
        folder = Path(folder)
        write_model_json(folder, self.kind, self.spec, {"chosen": self.choice})
        save_vectorizer(folder, self.vectorizer, {})
        self.classifier.save_model(str(folder / CATBOOST_FILE), format="cbm")

    @classmethod
    def load(cls, folder: Path, device: torch.device | str = "cpu") -> TfidfCatboostModel:
        from catboost import CatBoostClassifier

        folder = Path(folder)
        spec, info = read_saved(folder, cls.kind)
        model = cls(spec, None, torch.device(device))
        model.vectorizer, _ = load_vectorizer(folder)
        model.classifier = CatBoostClassifier()
        model.classifier.load_model(str(folder / CATBOOST_FILE), format="cbm")
        model.choice = info.get("chosen", {})
        return model
