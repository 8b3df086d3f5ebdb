"""An export is data, never code: one test per way an export could reach outside itself.

A tiny real export (untrained models, saved by the library's own savers and
exported by ``export_ensemble``) is tampered with in one way per test: every
change is refused by ``read_export`` with a ConfigError naming the file, in
bounded time, without reading through a link. Resolving ``package:`` never
imports anything.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from pathlib import Path

import pytest
import yaml

from ahrec.config import load_settings
from ahrec.errors import ConfigError, ModelLoadError
from ahrec.evaluation.calibration import CalibrationMap
from ahrec.fusion.model import load_fusion_model
from ahrec.models import resolve_model_location
from ahrec.predict import files as export_files
from ahrec.predict.export import read_export
from ahrec.predict.files import FILES_JSON, SNAKEMAKE_MARKER, verify_export, write_files_json
from ahrec.predict.plan import PredictBatches
from ahrec.unimodal.base import load_unimodal
from tests.exports import build_export, export_config, export_saved, save_models

BILLION_LAUGHS = (
    "a: &a [x, x, x, x, x, x, x, x, x]\n"
    "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
    "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
    "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
    "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
    "f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
    "g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]\n"
    "media: [*g, *g, *g, *g, *g, *g, *g, *g, *g]\n"
)


def settings_for(asr_model: str | None = None):
    return load_settings(export_config(asr_model))


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """An export of untrained models (what matters here is the files, not the weights)."""
    return build_export(tmp_path_factory.mktemp("built"))


@pytest.fixture
def export(built, tmp_path) -> Path:
    """A fresh copy of the valid export to tamper with."""
    copy = tmp_path / "export"
    shutil.copytree(built, copy)
    return copy


def refused(folder: Path, *expected: str, seconds: float = 5.0) -> str:
    """read_export's message; it must name every expected text and come quickly."""
    started = time.perf_counter()
    with pytest.raises(ConfigError) as caught:
        read_export(folder)
    assert time.perf_counter() - started < seconds
    message = str(caught.value)
    assert len(message) < 20_000
    for text in expected:
        assert text in message, (text, message)
    return message


def edit_json(path: Path, change) -> None:
    record = json.loads(path.read_text())
    change(record)
    path.write_text(json.dumps(record))


# --- a valid export ----------------------------------------------------------------


def test_a_valid_export_lists_every_file_and_round_trips(export):
    listed = json.loads((export / FILES_JSON).read_text())["files"]
    on_disk = sorted(
        p.relative_to(export).as_posix()
        for p in export.rglob("*")
        if p.is_file() and p.name != FILES_JSON
    )
    assert sorted(e["path"] for e in listed) == on_disk
    assert all(len(e["sha256"]) == 64 and e["size"] >= 0 for e in listed)
    assert "unimodal/face_mlp/weights.safetensors" in on_disk
    ensemble = read_export(export)
    assert [m.name for m in ensemble.models] == ["face_mlp", "audio_lin"]
    model = load_unimodal(ensemble.unimodal_folder("face_mlp"))
    assert model.embedding_dim == 6
    fusion = load_fusion_model(ensemble.seed_folder(3))
    assert fusion.modalities == ["face", "audio"]


def test_snakemakes_directory_markers_are_left_out_and_let_be(tmp_path):
    """Snakemake marks every directory output (the model folders, the export itself) with an
    empty ``.snakemake_timestamp``: the copy leaves it out, and an empty one is no problem."""
    source = tmp_path / "source"
    source.mkdir()
    settings = settings_for()
    save_models(source, settings)
    for folder in ("face_mlp", "audio_lin", "seed3"):
        (source / folder / SNAKEMAKE_MARKER).touch()
    out = export_saved(source, settings, tmp_path / "export" / "tiny")
    assert not list(out.rglob(SNAKEMAKE_MARKER))
    (out / SNAKEMAKE_MARKER).touch()  # what Snakemake does once the export job is done
    (out / "unimodal" / "face_mlp" / SNAKEMAKE_MARKER).touch()
    assert [m.name for m in read_export(out).models] == ["face_mlp", "audio_lin"]
    (out / SNAKEMAKE_MARKER).write_text("not a marker")
    refused(out, f"{out / SNAKEMAKE_MARKER}: not listed in {FILES_JSON}")


def test_local_model_folders_are_copied_in_without_code(tmp_path, built):
    """A local model the configuration names travels inside the export, code left out."""
    local = tmp_path / "whisper-local"
    local.mkdir()
    (local / "config.json").write_text('{"model_type": "whisper"}')
    (local / "modeling_evil.py").write_text("raise SystemExit('ran')\n")
    settings = settings_for(asr_model=str(local))
    source = built.parent.parent  # the fixture's folder
    out = export_saved(source, settings, tmp_path / "exported", metrics=False)
    slice_ = yaml.safe_load((out / "config.yaml").read_text())
    assert slice_["transcripts"]["asr"]["model"] == "models/transcripts_asr"
    assert (out / "models" / "transcripts_asr" / "config.json").is_file()
    assert not list(out.rglob("*.py"))
    ensemble = read_export(out)
    resolved = Path(ensemble.config["transcripts"]["asr"]["model"])
    assert resolved == (out / "models" / "transcripts_asr").resolve()


# --- files.json: unlisted, changed, linked, oversized ------------------------------------


def test_a_file_not_listed_is_refused(export):
    (export / "unimodal" / "face_mlp" / "__init__.py").write_text("open('/tmp/x', 'w')\n")
    (export / "tests_shipped.py").write_text("raise SystemExit\n")
    refused(
        export,
        f"{export / 'unimodal/face_mlp/__init__.py'}: not listed in {FILES_JSON}",
        f"{export / 'tests_shipped.py'}: not listed",
    )


def test_code_is_refused_even_when_listed(export):
    (export / "helper.py").write_text("print('ran')\n")
    write_files_json(export)
    refused(export, "helper.py is code; an export holds data only")


def test_a_changed_file_is_refused(export):
    weights = export / "unimodal" / "face_mlp" / "weights.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF  # same size, other content
    weights.write_bytes(bytes(data))
    refused(export, f"{weights}: its content does not match its SHA-256")
    weights.write_bytes(bytes(data) + b"\0")
    refused(export, f"{weights}: {len(data) + 1:,} bytes, but {FILES_JSON} lists {len(data):,}")


def test_a_listed_file_that_is_missing_is_refused(export):
    (export / "metrics.json").unlink()
    refused(export, f"{export / 'metrics.json'}: listed in {FILES_JSON} but missing")


def test_a_link_to_dev_zero_is_refused_without_reading_it(export):
    record = export / "unimodal" / "face_mlp" / "model.json"
    record.unlink()
    record.symlink_to("/dev/zero")
    refused(export, f"{record}: is a symbolic link", seconds=2.0)


def test_weights_linked_to_a_file_outside_are_refused(export, tmp_path):
    weights = export / "unimodal" / "audio_lin" / "weights.safetensors"
    outside = tmp_path / "outside.safetensors"
    shutil.move(weights, outside)
    weights.symlink_to(outside)  # the same bytes: only the link gives it away
    refused(export, f"{weights}: is a symbolic link")
    weights.unlink()
    os.link(outside, weights)
    refused(export, f"{weights}: is a hard link")


def test_a_linked_folder_and_a_fifo_are_refused(export, tmp_path):
    shutil.rmtree(export / "fusion" / "seed3")
    (export / "fusion" / "seed3").symlink_to(tmp_path)
    os.mkfifo(export / "pipe")
    refused(
        export,
        f"{export / 'fusion/seed3'}: is a symbolic link",
        f"{export / 'pipe'}: is not a regular file",
        seconds=2.0,
    )


def test_oversized_files_are_refused(export, monkeypatch):
    edit_json(export / FILES_JSON, lambda r: r["files"][0].update(size=10**12))
    refused(export, "more than the 8,589,934,592 a file of an export may hold")
    write_files_json(export)
    monkeypatch.setattr(export_files, "MAX_EXPORT_BYTES", 1000)
    refused(export, "more than the 1,000 allowed")


def test_an_export_without_files_json_is_refused(export):
    (export / FILES_JSON).unlink()
    refused(export, f"{export / FILES_JSON}:1: no such file; this export has no list")


# --- JSON and YAML: bounded loaders and the options classes --------------------------------


def test_aliases_in_the_exports_config_are_refused_quickly(export):
    (export / "config.yaml").write_text(BILLION_LAUGHS)
    write_files_json(export)
    message = refused(export, "config.yaml:1: YAML anchors and aliases", seconds=2.0)
    assert len(message) < 2000


def test_aliases_anywhere_in_the_export_are_refused(export):
    (export / "unimodal" / "face_mlp" / "notes.yaml").write_text(BILLION_LAUGHS)
    write_files_json(export)
    refused(export, "notes.yaml:1: YAML anchors and aliases", seconds=2.0)


def test_the_calibration_map_travels_and_a_hostile_one_is_refused(export):
    assert read_export(export).calibration == CalibrationMap(method="temperature", a=0.5)
    (export / "calibration.json").write_text('{"method": "platt", "a": -3, "b": 0}')
    write_files_json(export)
    refused(export, "calibration.json: a: expected a positive slope")
    (export / "calibration.json").unlink()  # an export made before maps were exported
    write_files_json(export)
    assert read_export(export).calibration.method == "none"


def test_deep_json_is_refused(export):
    (export / "metrics.json").write_text("[" * 100_000 + "]" * 100_000)
    write_files_json(export)
    refused(export, "metrics.json:1: nested")


@pytest.mark.parametrize(
    ("where", "change", "message"),
    [
        ("unimodal/face_mlp", lambda r: r["spec"].update(dropout=7), "spec.dropout: must be below"),
        (
            "unimodal/face_mlp",
            lambda r: r["spec"].update(lr=float("nan")),
            "spec.lr: expected a finite number",
        ),
        (
            "unimodal/face_mlp",
            lambda r: r["spec"].update(hiden=[4]),
            "spec: unknown option 'hiden'",
        ),
        (
            "unimodal/face_mlp",
            lambda r: r["spec"].update(hidden=[8] * 100_000),
            "spec.hidden: at most 64 values, got 100,000",
        ),
        (
            "unimodal/audio_lin",
            lambda r: r["info"].update(input_dim=10**9),
            "info.input_dim: expected an integer from 1",
        ),
        ("unimodal/audio_lin", lambda r: r.update(kind="mlp"), "kind: holds a 'mlp' model"),
        ("fusion/seed3", lambda r: r["params"].update(d=10**9), "params.d: must be at most 8192"),
        (
            "fusion/seed3",
            lambda r: r["params"].update(layers=10**6),
            "params.layers: must be at most 64",
        ),
        ("fusion/seed3", lambda r: r["params"].update(dropout=7), "params.dropout: must be below"),
        (
            "fusion/seed3",
            lambda r: r["params"].update(lr=float("nan")),
            "params.lr: expected a finite number",
        ),
        (
            "fusion/seed3",
            lambda r: r["input_dims"].update(face=10**12),
            "input_dims: expected a mapping",
        ),
    ],
)
def test_model_json_goes_through_the_options_classes(export, where, change, message):
    path = export / where / "model.json"
    edit_json(path, change)
    write_files_json(export)
    refused(export, f"{path}: {message}")


def test_out_of_bounds_model_json_is_refused_by_the_loaders_too(export):
    """Loading a model folder (outside any export) checks the same bounds."""
    path = export / "fusion" / "seed3" / "model.json"
    edit_json(path, lambda r: r["params"].update(d=10**9))
    with pytest.raises(ConfigError, match=r"params\.d: must be at most 8192"):
        load_fusion_model(export / "fusion" / "seed3")
    path = export / "unimodal" / "face_mlp" / "model.json"
    edit_json(path, lambda r: r["spec"].update(hidden=[65536, 65536]))
    with pytest.raises(ConfigError, match="describes a network of .* values, but weights"):
        load_unimodal(export / "unimodal" / "face_mlp")


@pytest.mark.parametrize("backbone", ["/etc", "../../../somewhere", "a/../../b", ""])
def test_a_backbone_outside_the_model_folder_is_refused(export, backbone):
    path = export / "unimodal" / "face_mlp" / "model.json"
    edit_json(path, lambda r: r["info"].update(backbone=backbone))
    write_files_json(export)
    refused(export, f"{path}: info.backbone: expected the name of a folder beside model.json")


# --- model locations ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("/etc", "points outside the export"),
        ("../outside", "points outside the export"),
        ("models/../../x", "points outside the export"),
        ("~/models/whisper", "points outside the export"),
        ("package:os.path/x", "is not a usable model location"),
        ("package:json/../../etc", "is not a usable model location"),
        ("some thing!", "is neither in the export nor a hub id"),
    ],
)
def test_model_locations_outside_the_export_are_refused(export, value, message):
    config = yaml.safe_load((export / "config.yaml").read_text())
    config["transcripts"]["asr"] = {"kind": "whisper", "model": value}
    (export / "config.yaml").write_text(yaml.safe_dump(config))
    write_files_json(export)
    text = refused(export, f"config.yaml: transcripts.asr.model: {value!r} {message}")
    assert "hub id (org/name)" in text


def test_hub_ids_packages_and_the_exports_own_folders_are_accepted(export, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = yaml.safe_load((export / "config.yaml").read_text())
    for value, expected in (
        ("openai/whisper-tiny", "openai/whisper-tiny"),
        ("package:json/x", "package:json/x"),
        ("unimodal/face_mlp", str((export / "unimodal" / "face_mlp").resolve())),
    ):
        config["transcripts"]["asr"] = {"kind": "whisper", "model": value}
        (export / "config.yaml").write_text(yaml.safe_dump(config))
        write_files_json(export)
        assert read_export(export).config["transcripts"]["asr"]["model"] == expected
    (tmp_path / "openai" / "whisper-tiny").mkdir(parents=True)  # would shadow the hub id
    config["transcripts"]["asr"]["model"] = "openai/whisper-tiny"
    (export / "config.yaml").write_text(yaml.safe_dump(config))
    write_files_json(export)
    refused(export, "is not in the export but names a local path here")


def test_a_broken_export_fails_only_its_own_batch(export, built, tmp_path):
    (export / "stray.py").write_text("")
    videos = tmp_path / "videos"
    videos.mkdir()
    settings = load_settings(
        {
            "predict": {
                "bad": {"videos": str(videos), "ensemble": str(export)},
                "good": {"videos": str(videos), "ensemble": str(built)},
            }
        }
    )
    batches = PredictBatches(settings, "results")
    assert batches.problem("good") is None
    assert [m.name for m in batches.models("good")] == ["face_mlp", "audio_lin"]
    problem = batches.problem("bad")
    assert problem.startswith("predict.bad: ") and "stray.py: not listed" in problem
    assert batches.models("bad") == ()
    assert batches.unless_broken("bad", "m.parquet") == []
    assert batches.unless_broken("good", "m.parquet") == ["m.parquet"]


def test_verify_export_refuses_a_folder_that_is_not_an_export(tmp_path):
    with pytest.raises(ConfigError, match="not an exported ensemble"):
        verify_export(tmp_path)


# --- package: never imports ----------------------------------------------------------------


@pytest.fixture
def noisy_package(tmp_path, monkeypatch):
    """A package whose import writes a marker file (as a module with import-time effects would)."""
    root = tmp_path / "site"
    marker = tmp_path / "marker"
    package = root / "noisy_pkg"
    (package / "sub").mkdir(parents=True)
    (package / "weights").mkdir()
    effect = f"open({str(marker)!r}, 'w').write('imported')\n"
    (package / "__init__.py").write_text(effect)
    (package / "sub" / "__init__.py").write_text(effect)
    monkeypatch.syspath_prepend(str(root))
    yield package, marker
    for name in [n for n in sys.modules if n.startswith("noisy_pkg")]:
        del sys.modules[name]


def test_a_dotted_package_location_is_refused_without_importing(noisy_package):
    _, marker = noisy_package
    for value in (
        "package:noisy_pkg.sub/weights",
        "package:noisy_pkg.sub",
        "package:",
        "package:1x",
    ):
        with pytest.raises(ModelLoadError, match="not a top-level module name; accepted forms"):
            resolve_model_location(value)
    assert not marker.exists()


def test_a_top_level_package_resolves_without_running_it(noisy_package):
    package, marker = noisy_package
    assert resolve_model_location("package:noisy_pkg/weights") == str(package / "weights")
    assert resolve_model_location("package:noisy_pkg") == str(package)
    with pytest.raises(ModelLoadError, match="must stay inside the package"):
        resolve_model_location("package:noisy_pkg/../..")
    with pytest.raises(ModelLoadError, match="not installed"):
        resolve_model_location("package:no_such_pkg_here/x")
    assert not marker.exists()
    assert "noisy_pkg" not in sys.modules
