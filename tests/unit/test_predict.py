"""New videos: the reader, the exported ensemble, and prediction equal to the run's own."""

import json
import shutil

import numpy as np
import pandas as pd
import pytest
import yaml

from ahrec.config import load_settings, validate_config
from ahrec.corpus.manifest import write_manifest
from ahrec.corpus.new_videos import read_new_videos
from ahrec.devtools.manifests import manifest_frame
from ahrec.embeddings.table import EmbeddingRow, read_embeddings, write_embeddings
from ahrec.errors import ConfigError, CorpusError
from ahrec.evaluation.settings import EvaluationSettings
from ahrec.fusion.steps import SeedOutputs, ensemble, train_fusion_seed
from ahrec.predict.export import export_ensemble, export_plan, read_export
from ahrec.predict.files import write_files_json
from ahrec.predict.steps import embed_with_unimodal, predict_new_videos
from ahrec.training.labels import training_labels
from ahrec.training.predictions import proba_matrix, read_predictions
from ahrec.unimodal.kinds import parse_unimodal
from ahrec.unimodal.steps import UnimodalOutputs, train_unimodal

# --- the reader ----------------------------------------------------------------


def test_a_folder_is_read_recursively_in_path_order(tmp_path):
    for name in ("b clip.mp4", "a/-dash.MOV", "a/notes.txt", "c/ünï.webm"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"x")
    records = read_new_videos(tmp_path)
    assert [r.video_path for r in records] == ["a/-dash.MOV", "b clip.mp4", "c/ünï.webm"]
    assert {r.split for r in records} == {"hidden"} and {r.label for r in records} == {None}
    assert [r.list_order for r in records] == [0, 1, 2]


def test_a_csv_list_keeps_its_order_and_transcripts(tmp_path):
    (tmp_path / "list.csv").write_text(
        '\ufeffvideo_path,transcript\r\nz.mp4,"Well, maybe."\r\n\r\nsub/a.mp4,\r\n'
    )
    records = read_new_videos(tmp_path / "list.csv")
    assert [r.video_path for r in records] == ["z.mp4", "sub/a.mp4"]
    assert records[0].transcript == "Well, maybe." and records[0].transcript_source == "list"
    assert records[1].transcript is None
    assert records[1].path == tmp_path / "sub" / "a.mp4"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("path\nz.mp4\n", "list.csv:1: the header must name a video_path column"),
        ("video_path,label\nz.mp4,1\n", "list.csv:1: unknown column(s) 'label'"),
        ("video_path\n../outside.mp4\n", "list.csv:2: path '../outside.mp4' is outside"),
    ],
)
def test_a_bad_csv_list_names_the_line(tmp_path, content, message):
    (tmp_path / "list.csv").write_text(content)
    with pytest.raises(CorpusError, match=message.replace("(", r"\(").replace(")", r"\)")):
        read_new_videos(tmp_path / "list.csv")


def test_an_empty_folder_or_a_missing_source_is_refused(tmp_path):
    with pytest.raises(CorpusError, match="no videos found"):
        read_new_videos(tmp_path)
    with pytest.raises(CorpusError, match="not found"):
        read_new_videos(tmp_path / "missing")


def test_config_refuses_an_unknown_ensemble_and_missing_videos(tmp_path):
    config = {"predict": {"clinic": {"videos": str(tmp_path / "none"), "ensemble": "nope"}}}
    with pytest.raises(ConfigError) as caught:
        validate_config(config)
    message = str(caught.value)
    assert "predict.clinic.videos" in message and "does not exist" in message
    assert "predict.clinic.ensemble: 'nope' is neither a fusion run" in message


def test_a_folder_that_is_not_an_export_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="not an exported ensemble"):
        read_export(tmp_path)


# --- export and prediction ------------------------------------------------------

EMBEDDINGS = {"face": {"hog": {"kind": "hog_stats"}}, "audio": {"egemaps": {"kind": "opensmile"}}}
FACE = {"modality": "face", "kind": "mlp", "embedding": "hog", "hidden": [8, 6], "epochs": 30}
AUDIO = {"modality": "audio", "kind": "linear", "embedding": "egemaps", "epochs": 30}
FUSION = {"d": 16, "heads": 2, "epochs": 10, "patience": 10, "lr": 3e-3, "k": 2}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny trained run: two unimodal models, a two-seed prototype fusion, its ensemble."""
    folder = tmp_path_factory.mktemp("run")
    rng = np.random.default_rng(1)
    rows = []
    for split, participants in (("train", 16), ("val", 6), ("test", 6)):
        for p in range(participants):
            rows.append(
                {
                    "video_id": f"{split}{p:02d}",
                    "split": split,
                    "participant": f"{split}{p}",
                    "label": p % 2,
                    "video_path": f"{split}/{p}.mp4",
                    "list_order": p,
                }
            )
    manifest = manifest_frame(rows)
    write_manifest(manifest, folder / "manifest.parquet")
    training_labels(manifest).to_parquet(folder / "labels.parquet", index=False)
    raw = {}
    for modality, dim in (("face", 8), ("audio", 5)):
        table = []
        for row in manifest.itertuples():
            if modality == "audio" and row.video_id == "test01":
                table.append(EmbeddingRow.missing(row.video_id, "no audio track"))
                continue
            vector = rng.normal(size=dim).astype(np.float32)
            vector[0] += 2.0 * (1 if row.label else -1)
            table.append(EmbeddingRow(row.video_id, vector))
        raw[modality] = folder / f"{modality}.parquet"
        write_embeddings(raw[modality], table, dim, {"modality": modality})
    unimodal = {}
    for name, spec, source in (("face_mlp", FACE, "face"), ("audio_lin", AUDIO, "audio")):
        out = folder / "unimodal" / name
        train_unimodal(
            parse_unimodal(name, spec)[0],
            [raw[source]],
            folder / "labels.parquet",
            UnimodalOutputs.under(out),
            EvaluationSettings(folds=2),
        )
        unimodal[name] = out
    tables = [unimodal[m] / "embeddings.parquet" for m in ("face_mlp", "audio_lin")]
    seeds = (3, 4)
    for seed in seeds:
        outputs = SeedOutputs.under(folder / f"s{seed}")
        train_fusion_seed(True, FUSION, seed, tables, folder / "labels.parquet", outputs)
    ensemble([folder / f"s{s}" / "predictions.parquet" for s in seeds], folder / "ensemble.parquet")
    settings = load_settings(
        {
            "embeddings": EMBEDDINGS,
            "unimodal": {"face_mlp": FACE, "audio_lin": AUDIO},
            "evaluation": {"folds": 2},
            "fusion": {
                "seeds": list(seeds),
                "runs": {"tiny": {"models": ["face_mlp", "audio_lin"], "prototypes": True}},
                "submission": "tiny",
            },
            "search": {},
        }
    )
    plan = export_plan(settings, "tiny")
    assert [m["input"] for m in plan["models"]] == ["embedding", "embedding"]
    assert [m["embedding"] for m in plan["models"]] == ["hog", "egemaps"]
    (folder / "metrics.json").write_text('{"val": {"mf1": 0.5}}')
    export = export_ensemble(
        "tiny",
        plan,
        unimodal_folders=[unimodal["face_mlp"] / "model", unimodal["audio_lin"] / "model"],
        seed_folders=[folder / f"s{s}" / "model" for s in seeds],
        labels_path=folder / "labels.parquet",
        metrics_path=folder / "metrics.json",
        out=folder / "export" / "tiny",
    )
    return folder, raw, export


@pytest.mark.slow
def test_the_export_is_self_contained_and_safe_to_read(trained):
    _, _, export = trained
    ensemble_ = read_export(export)
    assert ensemble_.run == "tiny" and ensemble_.seeds == (3, 4)
    assert [m.name for m in ensemble_.models] == ["face_mlp", "audio_lin"]
    assert sum(ensemble_.prior) == pytest.approx(1.0)
    slice_ = yaml.safe_load((export / "config.yaml").read_text())
    assert {m: list(e) for m, e in slice_["embeddings"].items()} == {
        "face": ["hog"],
        "audio": ["egemaps"],
    }
    assert slice_["embeddings"]["face"]["hog"]["kind"] == "hog_stats"
    assert set(slice_["unimodal"]) == {"face_mlp", "audio_lin"}
    assert {"media", "scene", "face", "transcripts"} <= set(slice_)
    files = {p.name for p in export.rglob("*") if p.is_file()}
    assert not {f for f in files if f.endswith((".pkl", ".pt", ".pickle"))}
    assert json.loads((export / "metrics.json").read_text())["val"]["mf1"] == 0.5


@pytest.mark.slow
def test_prediction_through_the_export_equals_the_runs_own(trained, tmp_path):
    """The same inputs through the exported models give the run's test predictions."""
    folder, raw, export = trained
    tables = []
    for name, modality in (("face_mlp", "face"), ("audio_lin", "audio")):
        out = tmp_path / f"{name}.parquet"
        scores = embed_with_unimodal(
            export, name, [raw[modality]], folder / "manifest.parquet", out
        )
        assert len(scores) == (28 if modality == "face" else 27)
        tables.append(out)
    missing = read_embeddings(tables[1])
    assert not missing.available[missing.index()["test01"]]
    frame = predict_new_videos(export, tables, folder / "manifest.parquet", tmp_path / "p.csv")
    assert list(pd.read_csv(tmp_path / "p.csv").columns) == list(frame.columns)
    run = read_predictions(folder / "ensemble.parquet")
    run_proba = dict(zip(run["video_id"], proba_matrix(run)[:, 1], strict=True))
    test = frame[frame["video_id"].str.startswith(("val", "test"))]
    assert len(test) == 12
    for row in test.itertuples():  # val and test embeddings come from the full models
        assert row.prob_ah == pytest.approx(run_proba[row.video_id], abs=1e-5), row.video_id
    assert (frame["label"] == (frame["prob_ah"] > 0.5).astype(int)).all()
    one = frame.set_index("video_id").loc["test01"]
    assert one["available_modalities"] == "face" and one["missing"] == "audio: no audio track"
    assert frame.set_index("video_id").loc["test02", "available_modalities"] == "face;audio"


@pytest.mark.slow
@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda r: r["models"][0].update(name="../../somewhere"),
            "models[0].name: expected a plain name",
        ),
        (
            lambda r: r.update(prior=[float("nan"), 1.0]),
            "prior: expected two probabilities adding up to 1",
        ),
        (lambda r: r.update(prior=[0.9, 0.9]), "prior: expected two probabilities adding up to 1"),
        (lambda r: r.update(seeds=[3, "4"]), "seeds: expected a non-empty list of integers"),
        (lambda r: r.update(seeds=[3, 99]), "fusion/seed99 is missing from the export"),
        (lambda r: r["models"][1].update(kind="svm"), "models[1].kind: not a unimodal model kind"),
        (lambda r: r.update(run="../x"), "run: expected a plain name"),
    ],
)
def test_a_tampered_export_is_refused_before_anything_reads_it(trained, tmp_path, edit, message):
    """An export comes from elsewhere: every field is checked, and every problem named."""
    _, _, export = trained
    copy = tmp_path / "copy"
    shutil.copytree(export, copy)
    record = json.loads((copy / "ensemble.json").read_text())
    edit(record)
    (copy / "ensemble.json").write_text(json.dumps(record))
    write_files_json(copy)  # listed with its hash: the content itself is checked too
    with pytest.raises(ConfigError) as caught:
        read_export(copy)
    assert message in str(caught.value) and str(copy / "ensemble.json") in str(caught.value)


@pytest.mark.slow
def test_an_exports_config_and_folders_are_validated(trained, tmp_path):
    _, _, export = trained
    copy = tmp_path / "copy"
    shutil.copytree(export, copy)
    config = yaml.safe_load((copy / "config.yaml").read_text())
    config["face"]["n_frames"] = -5
    config["face"]["detector"] = {"kind": "haar", "cascade": "/etc/passwd"}
    config["media"]["audio_sample_rate"] = 0
    (copy / "config.yaml").write_text(yaml.safe_dump(config))
    shutil.rmtree(copy / "unimodal" / "audio_lin")
    write_files_json(copy)
    with pytest.raises(ConfigError) as caught:
        read_export(copy)
    message = str(caught.value)
    for expected in (
        "face.n_frames: -5 is less than the minimum of 1",
        "media.audio_sample_rate: 0 is less than the minimum of 8000",
        "unimodal/audio_lin is missing from the export (or is a link)",
    ):
        assert expected in message, expected


@pytest.mark.slow
def test_a_late_fusion_exports_and_predicts_new_videos_as_its_run_does(trained, tmp_path):
    """A late fusion reads the log-odds the exported unimodal models give new videos."""
    folder, raw, _ = trained
    tables = [folder / "unimodal" / m / "embeddings.parquet" for m in ("face_mlp", "audio_lin")]
    run = tmp_path / "late"
    train_fusion_seed(
        False, {"method": "logreg"}, 42, tables, folder / "labels.parquet", SeedOutputs.under(run)
    )
    ensemble([run / "predictions.parquet"], tmp_path / "late_ensemble.parquet")
    settings = load_settings(
        {
            "embeddings": EMBEDDINGS,
            "unimodal": {"face_mlp": FACE, "audio_lin": AUDIO},
            "evaluation": {"folds": 2},
            "fusion": {
                "seeds": [42],
                "runs": {
                    "late": {"models": ["face_mlp", "audio_lin"], "params": {"method": "logreg"}}
                },
                "submission": "late",
            },
            "search": {},
        }
    )
    export = export_ensemble(
        "late",
        export_plan(settings, "late"),
        unimodal_folders=[folder / "unimodal" / m / "model" for m in ("face_mlp", "audio_lin")],
        seed_folders=[run / "model"],
        labels_path=folder / "labels.parquet",
        metrics_path=folder / "metrics.json",
        out=tmp_path / "export" / "late",
    )
    new_tables = []
    for name, modality in (("face_mlp", "face"), ("audio_lin", "audio")):
        out = tmp_path / f"{name}.parquet"
        embed_with_unimodal(export, name, [raw[modality]], folder / "manifest.parquet", out)
        new_tables.append(out)
    frame = predict_new_videos(export, new_tables, folder / "manifest.parquet", tmp_path / "p.csv")
    own = read_predictions(tmp_path / "late_ensemble.parquet")
    own_proba = dict(zip(own["video_id"], proba_matrix(own)[:, 1], strict=True))
    heldout = frame[frame["video_id"].str.startswith(("val", "test"))]
    assert len(heldout) == 12
    for row in heldout.itertuples():  # val and test log-odds come from the full models
        assert row.prob_ah == pytest.approx(own_proba[row.video_id], abs=1e-5), row.video_id
