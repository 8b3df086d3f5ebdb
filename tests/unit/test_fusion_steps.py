"""Fusion steps on files: missing modalities are masked, every listed video is submitted."""

import numpy as np
import pandas as pd
import pytest

from ahrec.corpus.manifest import write_manifest
from ahrec.devtools.manifests import manifest_frame
from ahrec.embeddings.table import EmbeddingRow, write_embeddings
from ahrec.evaluation.settings import EvaluationSettings
from ahrec.evaluation.submission import submission
from ahrec.fusion.data import load_fusion_data
from ahrec.fusion.model import load_fusion_model
from ahrec.fusion.steps import SeedOutputs, ensemble, predict_fusion_seed, train_fusion_seed
from ahrec.training.labels import training_labels
from ahrec.training.predictions import read_predictions

PARAMS = {"d": 16, "heads": 2, "epochs": 15, "patience": 15, "lr": 3e-3, "k": 2}


@pytest.fixture()
def corpus(tmp_path):
    rng = np.random.default_rng(0)
    rows = []
    for split, n in (("train", 40), ("val", 12), ("test", 8)):
        for i in range(n):
            rows.append(
                {
                    "video_id": f"{split}{i:02d}",
                    "split": split,
                    "participant": f"{split}{i}",
                    "label": i % 2,
                    "video_path": f"Videos/{split}{i}/clip {i}.mp4",
                    "list_order": n - i,
                }
            )
    manifest = manifest_frame(rows)
    write_manifest(manifest, tmp_path / "manifest.parquet")
    training_labels(manifest).to_parquet(tmp_path / "labels.parquet", index=False)
    tables = []
    for modality, dim, informative in (("face", 6, True), ("audio", 4, False)):
        table_rows = []
        for row in manifest.itertuples():
            missing = (
                modality == "face" and row.video_id in ("test01", "test02")
            ) or row.video_id == "test03"
            if missing:
                table_rows.append(EmbeddingRow.missing(row.video_id, "no face found"))
                continue
            vector = rng.normal(size=dim).astype(np.float32)
            if informative:
                vector[0] += 2.5 * (1 if row.label == 1 else -1)
            table_rows.append(EmbeddingRow(row.video_id, vector))
        path = tmp_path / f"{modality}.parquet"
        write_embeddings(path, table_rows, dim, {"modality": modality})
        tables.append(path)
    return tmp_path, tables


def test_fusion_data_masks_missing_modalities(corpus):
    folder, tables = corpus
    data = load_fusion_data(tables, folder / "labels.parquet")
    assert data.modalities == ["face", "audio"]
    index = data.video_ids.index
    assert data.mask[index("test01")].tolist() == [False, True]
    assert data.mask[index("test03")].tolist() == [False, False]
    assert data.labels[index("test05")] == -1  # test labels are not there to train on
    assert not data.vectors["face"][index("test01")].any()


@pytest.mark.slow
def test_seeds_ensemble_and_submission_cover_every_test_video(corpus):
    folder, tables = corpus
    seed_files = []
    for seed in (1, 2):
        out = folder / f"seed{seed}"
        summary = train_fusion_seed(
            True, PARAMS, seed, tables, folder / "labels.parquet", SeedOutputs.under(out)
        )
        assert summary["best_val_mf1"] is not None and summary["modalities"] == ["face", "audio"]
        seed_files.append(out / "predictions.parquet")
    one = read_predictions(seed_files[0]).set_index("video_id")
    assert one.loc["test03", "source"] == "prior" and not one.loc["test03", "available"]
    assert one.loc["test01", "available"]  # audio alone still gives a fused prediction
    val = one[one["split"] == "val"]
    labels = [int(v[-2:]) % 2 for v in val.index]
    assert (val["prediction"].to_numpy() == labels).mean() >= 0.75  # learned from the face signal
    ensemble(seed_files, folder / "ensemble.parquet")
    averaged = read_predictions(folder / "ensemble.parquet").set_index("video_id")
    two = read_predictions(seed_files[1]).set_index("video_id")
    np.testing.assert_allclose(
        averaged["proba_1"], (one["proba_1"] + two.loc[one.index, "proba_1"]) / 2, rtol=1e-5
    )
    table = submission(
        folder / "ensemble.parquet", folder / "manifest.parquet", "test", folder / "s.csv"
    )
    assert len(table) == 8 and table["video_path"].is_unique
    assert list(table["video_path"]) == [f"Videos/test{i}/clip {i}.mp4" for i in range(7, -1, -1)]
    model = load_fusion_model(folder / "seed1" / "model")
    assert model.modalities == ["face", "audio"] and model.has_prototypes


@pytest.mark.slow
def test_cross_validated_seeds_and_their_ensemble_share_the_folds(corpus):
    folder, tables = corpus
    settings = EvaluationSettings(selection="cv", folds=3)
    files = []
    for seed in (1, 2):
        out = SeedOutputs.under(folder / f"cv{seed}")
        summary = train_fusion_seed(
            False, PARAMS, seed, tables, folder / "labels.parquet", out, evaluation=settings
        )
        epochs = [f["best_epoch"] for f in summary["cv"]["folds"]]
        assert summary["cv"]["refit_epochs"] == int(round(float(np.median(epochs))))
        assert len(summary["history"]) == summary["cv"]["refit_epochs"]  # refit: no early stop
        files.append(out.predictions)
    one = read_predictions(files[0]).set_index("video_id")
    pool = one[one["split"].isin(["train", "val"]) & one["available"]]
    assert (pool["source"] == "oof").all() and set(pool["fold"]) == {0, 1, 2}
    assert (one.loc[one["split"] == "test", "fold"] == -1).all()
    ensemble(files, folder / "cv_ensemble.parquet")
    averaged = read_predictions(folder / "cv_ensemble.parquet").set_index("video_id")
    assert (averaged["fold"] == one.loc[averaged.index, "fold"]).all()


@pytest.mark.slow
@pytest.mark.parametrize("selection", ["split", "cv"])
def test_training_then_prediction_gives_what_one_job_gave(corpus, selection):
    """The workflow's fusion trains on the training videos only; the saved model predicts the rest."""
    folder, tables = corpus
    labels = pd.read_parquet(folder / "labels.parquet")
    labels.loc[labels["split"].isin(["train", "val"])].to_parquet(
        folder / "training.parquet", index=False
    )
    settings = EvaluationSettings(selection=selection, folds=3)
    one_job, fit = SeedOutputs.under(folder / "one-job"), SeedOutputs.under(folder / "fit")
    train_fusion_seed(
        True, PARAMS, 5, tables, folder / "labels.parquet", one_job, evaluation=settings
    )
    train_fusion_seed(
        True, PARAMS, 5, tables, folder / "training.parquet", fit, evaluation=settings
    )
    assert len(read_predictions(fit.predictions)) == 52  # train and val only
    out = folder / "predicted.parquet"
    predict_fusion_seed(tables, fit, folder / "manifest.parquet", out)
    expected, got = read_predictions(one_job.predictions), read_predictions(out)
    pd.testing.assert_frame_equal(
        got.drop(columns=["proba_0", "proba_1"]), expected.drop(columns=["proba_0", "proba_1"])
    )
    np.testing.assert_allclose(
        got[["proba_0", "proba_1"]], expected[["proba_0", "proba_1"]], atol=1e-6
    )
    test = got.set_index("video_id")
    assert test.loc["test03", "source"] == "prior" and test.loc["test01", "source"] == "model"
