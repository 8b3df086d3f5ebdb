"""The unimodal step on files: out-of-fold training embeddings, every video predicted."""

import json

import numpy as np
import pandas as pd
import pytest

from ahrec.corpus.manifest import write_manifest
from ahrec.devtools.manifests import manifest_frame
from ahrec.embeddings.table import EmbeddingRow, read_embeddings, write_embeddings
from ahrec.evaluation.settings import EvaluationSettings
from ahrec.training.labels import training_labels
from ahrec.training.predictions import read_predictions
from ahrec.unimodal.base import load_unimodal
from ahrec.unimodal.kinds import parse_unimodal
from ahrec.unimodal.steps import UnimodalOutputs, predict_unimodal, train_unimodal


@pytest.fixture()
def inputs(tmp_path):
    rng = np.random.default_rng(3)
    rows, table = [], []
    for split, participants in (("train", 12), ("val", 4), ("test", 4)):
        for p in range(participants):
            for q in range(2):
                video_id = f"{split}-{p:02d}-{q}"
                label = (p + q) % 2
                rows.append(
                    {
                        "video_id": video_id,
                        "split": split,
                        "participant": f"{split}{p}",
                        "label": label,
                    }
                )
                if video_id == "test-01-0":
                    table.append(EmbeddingRow.missing(video_id, "no face found"))
                    continue
                vector = rng.normal(size=8).astype(np.float32)
                vector[:2] += 2.0 * (1 if label else -1)
                table.append(EmbeddingRow(video_id, vector))
    manifest = pd.DataFrame(rows)
    manifest["label"] = manifest["label"].astype("Int8")
    training_labels(manifest).to_parquet(tmp_path / "labels.parquet", index=False)
    write_embeddings(tmp_path / "hog.parquet", table, 8, {"modality": "face", "encoder": "hog"})
    return tmp_path


SPEC = parse_unimodal(
    "face_mlp",
    {
        "modality": "face",
        "kind": "mlp",
        "embedding": "hog",
        "standardise": True,  # HOG statistics, as the demo's face model
        "hidden": [8, 6],
        "lr": 0.01,
        "epochs": 60,
        "patience": 60,
    },
)[0]


@pytest.mark.slow
def test_out_of_fold_embeddings_for_training_videos(inputs):
    out = inputs / "face_mlp"
    summary = train_unimodal(
        SPEC,
        [inputs / "hog.parquet"],
        inputs / "labels.parquet",
        UnimodalOutputs.under(out),
        EvaluationSettings(folds=3),
    )
    predictions = read_predictions(out / "predictions.parquet").set_index("video_id")
    assert len(predictions) == 40
    assert (predictions.loc[predictions["split"] == "train", "source"] == "oof").all()
    assert set(predictions.loc[predictions["split"] != "train", "source"]) == {"model", "prior"}
    assert (
        predictions.loc["test-01-0", "source"] == "prior"
        and not predictions.loc["test-01-0", "available"]
    )
    val = predictions[predictions["split"] == "val"]
    truth = [(int(v.split("-")[1]) + int(v.split("-")[2])) % 2 for v in val.index]
    assert (val["prediction"].to_numpy() == truth).mean() >= 0.75
    embeddings = read_embeddings(out / "embeddings.parquet")
    assert embeddings.dim == 6 and embeddings.meta["oof_folds"] == 3
    assert embeddings.available.sum() == 39
    assert (
        len(summary["folds"]) == 3
        and json.loads((out / "selection.json").read_text())["kind"] == "mlp"
    )
    assert (out / "model" / "model.json").is_file()


def test_without_folds_training_embeddings_are_in_sample(inputs):
    out = inputs / "in-sample"
    outputs = UnimodalOutputs.under(out)
    train_unimodal(
        SPEC,
        [inputs / "hog.parquet"],
        inputs / "labels.parquet",
        outputs,
        EvaluationSettings(folds=0),
    )
    predictions = read_predictions(out / "predictions.parquet")
    assert (predictions.loc[predictions["split"] == "train", "source"] == "model").all()


@pytest.mark.slow
def test_cross_validation_selects_on_held_out_folds_and_refits_on_train_and_val(inputs):
    out = inputs / "cv"
    summary = train_unimodal(
        SPEC,
        [inputs / "hog.parquet"],
        inputs / "labels.parquet",
        UnimodalOutputs.under(out),
        EvaluationSettings(selection="cv", folds=3),
    )
    predictions = read_predictions(out / "predictions.parquet").set_index("video_id")
    pool = predictions[predictions["split"].isin(["train", "val"])]
    # every train and val video is predicted by the fold model that held it out
    assert (pool["source"] == "oof").all() and set(pool["fold"]) == {0, 1, 2}
    test = predictions[predictions["split"] == "test"]
    assert (test["fold"] == -1).all() and set(test["source"]) <= {"model", "prior"}
    # one participant's videos sit in one fold
    participants = pool.index.str.split("-").str[:2].str.join("-")
    assert (pool.groupby(participants)["fold"].nunique() == 1).all()
    assert summary["selection"] == "cv" and len(summary["folds"]) == 3
    epochs = [fold["best_epoch"] for fold in summary["folds"]]
    assert summary["refit"] == {"epochs": int(round(float(np.median(epochs))))}
    assert summary["full"]["n_val"] == 0 and summary["full"]["n_train"] == len(pool)  # train + val
    assert summary["full"]["epochs_run"] == summary["refit"]["epochs"]  # no early stopping left
    embeddings = read_embeddings(out / "embeddings.parquet")
    assert embeddings.meta["selection"] == "cv" and embeddings.available.sum() == 39


def test_a_label_free_embedding_keeps_the_final_models_vector(inputs):
    """TF-IDF vectors (the authors' fusion input) use no label: no fold model makes them."""
    labels = pd.read_parquet(inputs / "labels.parquet")
    words = {0: "sure certain yes", 1: "maybe perhaps unsure"}
    rows = []
    for video_id in labels["video_id"]:
        _, participant, question = video_id.split("-")
        label = (int(participant) + int(question)) % 2
        rows.append(
            {
                "video_id": video_id,
                "transcript": f"{words[label]} answer {participant} {question}",
                "source": "corpus",
                "reason": None,
            }
        )
    pd.DataFrame(rows).to_parquet(inputs / "transcripts.parquet", index=False)
    outputs = {}
    for fusion_input in ("tfidf", "logodds"):
        spec = parse_unimodal(
            "text_tfidf_lr",
            {
                "modality": "text",
                "kind": "tfidf_logreg",
                "max_features": [20, 50],
                "ngram_max": [1],
                "C": [1.0],
                "fusion_input": fusion_input,
            },
        )[0]
        out = inputs / fusion_input
        train_unimodal(
            spec,
            [inputs / "transcripts.parquet"],
            inputs / "labels.parquet",
            UnimodalOutputs.under(out),
            EvaluationSettings(folds=3),
        )
        predictions = read_predictions(out / "predictions.parquet")
        assert (predictions.loc[predictions["split"] == "train", "source"] == "oof").all()
        outputs[fusion_input] = read_embeddings(out / "embeddings.parquet")
    vectors = outputs["tfidf"]
    assert vectors.dim > 1 and outputs["logodds"].dim == 1
    model = load_unimodal(inputs / "tfidf" / "model")
    texts = {r["video_id"]: r["transcript"] for r in rows}
    expected = model.vectorizer.transform([texts[v] for v in vectors.video_ids]).toarray()
    np.testing.assert_allclose(vectors.vectors, expected, rtol=1e-6)  # training videos too


@pytest.mark.slow
def test_training_then_prediction_gives_what_one_job_gave(inputs):
    """The workflow trains on the training rows only, then the saved model predicts the rest."""
    labels = pd.read_parquet(inputs / "labels.parquet")
    manifest = manifest_frame(labels.assign(label=labels["label"].fillna(0)).to_dict("records"))
    write_manifest(manifest, inputs / "manifest.parquet")
    labels.loc[labels["split"].isin(["train", "val"])].to_parquet(
        inputs / "training.parquet", index=False
    )
    one_job = UnimodalOutputs.under(inputs / "one-job")
    fit = UnimodalOutputs.under(inputs / "fit")
    settings = EvaluationSettings(folds=3)
    train_unimodal(SPEC, [inputs / "hog.parquet"], inputs / "labels.parquet", one_job, settings)
    train_unimodal(SPEC, [inputs / "hog.parquet"], inputs / "training.parquet", fit, settings)
    fitted = read_predictions(fit.predictions)
    assert set(fitted["split"]) == {"train", "val"} and len(fitted) == 32  # no test video
    out = inputs / "predicted"
    out.mkdir()
    predict_unimodal(
        SPEC,
        [inputs / "hog.parquet"],
        fit,
        inputs / "manifest.parquet",
        out / "predictions.parquet",
        out / "embeddings.parquet",
    )
    expected, got = (
        read_predictions(one_job.predictions),
        read_predictions(out / "predictions.parquet"),
    )
    pd.testing.assert_frame_equal(
        got.drop(columns=["proba_0", "proba_1"]), expected.drop(columns=["proba_0", "proba_1"])
    )
    np.testing.assert_allclose(
        got[["proba_0", "proba_1"]], expected[["proba_0", "proba_1"]], atol=1e-6
    )
    assert got.set_index("video_id").loc["test-01-0", "source"] == "prior"
    a, b = read_embeddings(one_job.embeddings), read_embeddings(out / "embeddings.parquet")
    assert a.video_ids == b.video_ids and (a.available == b.available).all()
    np.testing.assert_allclose(a.vectors, b.vectors, atol=1e-5)
    assert b.reasons[b.video_ids.index("test-01-0")] == "no face found"
    assert b.meta["oof_folds"] == 3
