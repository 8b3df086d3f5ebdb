"""A tiny real exported ensemble, for the tests that tamper with one.

Untrained models (what those tests check is the files, not the weights),
saved by the library's own savers and exported by ``export_ensemble``: the
export safety tests and the export fuzzing start from the same folder.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ahrec.config import Settings, load_settings
from ahrec.devtools.manifests import manifest_frame
from ahrec.evaluation.calibration import CalibrationMap, write_calibration
from ahrec.fusion.model import FusionModel, save_fusion_model
from ahrec.predict.export import export_ensemble, export_plan
from ahrec.training.labels import training_labels
from ahrec.unimodal.base import build_unimodal

RUN = "tiny"
MODELS = {"face_mlp": 8, "audio_lin": 5}  # name -> embedding width
FUSION_DIMS = {"face": 6, "audio": 5}
SEED = 3


def export_config(asr_model: str | None = None) -> dict[str, Any]:
    """Two unimodal models and one prototype fusion run (and a local ASR model, if named)."""
    config: dict[str, Any] = {
        "embeddings": {
            "face": {"hog": {"kind": "hog_stats"}},
            "audio": {"egemaps": {"kind": "opensmile"}},
        },
        "unimodal": {
            "face_mlp": {"modality": "face", "kind": "mlp", "embedding": "hog", "hidden": [8, 6]},
            "audio_lin": {"modality": "audio", "kind": "linear", "embedding": "egemaps"},
        },
        "fusion": {
            "seeds": [SEED],
            "defaults": {"d": 16, "heads": 2, "k": 2},
            "runs": {RUN: {"models": list(MODELS), "prototypes": True}},
            "submission": RUN,
        },
        "search": {},
    }
    if asr_model:
        config["transcripts"] = {"asr": {"kind": "whisper", "model": asr_model}}
    return config


def save_models(folder: Path, settings: Settings) -> None:
    """The run's models, training labels and metrics under ``folder``, as the workflow saves them."""
    rows = [
        {
            "video_id": f"{split}{p}",
            "split": split,
            "participant": f"{split}{p}",
            "label": p % 2,
            "video_path": f"{split}/{p}.mp4",
            "list_order": p,
        }
        for split in ("train", "val")
        for p in range(4)
    ]
    training_labels(manifest_frame(rows)).to_parquet(folder / "labels.parquet", index=False)
    for name, dim in MODELS.items():
        spec = settings.unimodal[name]
        build_unimodal(spec.kind, spec.options, dim, "cpu").save(folder / name)
    params = settings.runs[RUN].params
    save_fusion_model(
        FusionModel(FUSION_DIMS, params, True), folder / f"seed{SEED}", FUSION_DIMS, params, True
    )
    (folder / "metrics.json").write_text('{"val": {"mf1": 0.5}}')
    write_calibration(CalibrationMap(method="temperature", a=0.5), folder / "calibration.json")


def export_saved(source: Path, settings: Settings, out: Path, metrics: bool = True) -> Path:
    """Export the models ``save_models`` wrote under ``source`` to ``out``."""
    return export_ensemble(
        RUN,
        export_plan(settings, RUN),
        unimodal_folders=[source / name for name in MODELS],
        seed_folders=[source / f"seed{SEED}"],
        labels_path=source / "labels.parquet",
        metrics_path=source / "metrics.json" if metrics else None,
        out=out,
        calibration_path=source / "calibration.json",
    )


def build_export(folder: Path) -> Path:
    """A valid export at ``folder/export/tiny`` (models saved beside it, under ``folder``)."""
    settings = load_settings(export_config())
    save_models(folder, settings)
    return export_saved(folder, settings, folder / "export" / RUN)
