"""Configurations and outputs that cannot hurt the user: where results go, sane bounds, safe CSVs."""

import pandas as pd
import pytest

from ahrec.config import validate_config
from ahrec.errors import ConfigError
from ahrec.io import defuse, restore, write_csv


@pytest.mark.parametrize(
    ("results", "message"),
    [
        ("", "results: must name an output folder"),
        (".", "results: must name an output folder"),
        ("/", "is a system folder"),
        ("/etc", "is a system folder"),
        ("/usr/local/results", "is a system folder"),
        ("../elsewhere", "climbs out of the working directory"),
    ],
)
def test_results_must_be_a_folder_of_the_users_own(results, message):
    with pytest.raises(ConfigError, match=message):
        validate_config({"results": results})


def test_absolute_results_folders_the_user_names_are_fine():
    assert validate_config({"results": "/data/ah/results"})["results"] == "/data/ah/results"
    assert validate_config({"results": "out/run1"})["results"] == "out/run1"


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"shards": 20000}, "shards: 20000 is greater than the maximum of 2048"),
        (
            {"scene": {"n_frames": 100000}},
            "scene.n_frames: 100000 is greater than the maximum of 256",
        ),
        (
            {"face": {"crop_size": 50000}},
            "face.crop_size: 50000 is greater than the maximum of 1024",
        ),
        (
            {"media": {"audio_sample_rate": 0}},
            "media.audio_sample_rate: 0 is less than the minimum of 8000",
        ),
        (
            {"media": {"max_seconds": 0}},
            "media.max_seconds: 0 is less than or equal to the minimum of 0",
        ),
        ({"evaluation": {"bootstrap": 10}}, "evaluation.bootstrap: must be at least 100"),
        ({"evaluation": {"selection": "cv", "folds": 1}}, "selection: cv needs at least 2 folds"),
    ],
)
def test_values_have_sane_bounds(config, message):
    with pytest.raises(ConfigError, match=message):
        validate_config(config)


@pytest.mark.parametrize(
    "path",
    ['=HYPERLINK("x")', "+1", "-rm", "@SUM(A1)", "\tx", "'quoted", "Videos/P1/a.mp4", "a=b"],
)
def test_csv_cells_are_defused_and_restored_byte_for_byte(path, tmp_path):
    frame = pd.DataFrame({"video_path": [path], "label": [1]})
    write_csv(frame, tmp_path / "s.csv")
    written = pd.read_csv(tmp_path / "s.csv", keep_default_na=False, dtype=str)["video_path"][0]
    assert restore(written) == path
    assert not written.startswith(("=", "+", "-", "@", "\t"))
    assert (written == path) is (defuse(path) == path)  # only formula-like cells change


@pytest.mark.parametrize(
    "results",
    ["//etc", "//", "///", "/./etc", "/etc/../etc", "/etc/", "//etc//", "/usr/./local", "//tmp"],
)
def test_results_is_compared_in_canonical_form(results):
    """Linux reads //etc as /etc and /./etc too: each spelling of a system folder is one."""
    with pytest.raises(ConfigError, match=r"results: .* is a system folder"):
        validate_config({"results": results})


def test_results_through_a_link_to_a_system_folder_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "out").symlink_to("/etc")
    with pytest.raises(ConfigError, match=r"results: 'out' leads to the system folder /etc"):
        validate_config({"results": "out"})
    with pytest.raises(ConfigError, match=r"is a system folder \(it is /etc/ah\)"):
        validate_config({"results": str(tmp_path / "out" / "ah")})
    (tmp_path / "mine").mkdir()
    assert validate_config({"results": "mine/run"})["results"] == "mine/run"


SEED_MAX = 2**32 - 1

# One wrong value per row: the ConfigError names its key, and no other error escapes.
WRONG_VALUES = [
    ({"shards": 4.0}, "shards: 4.0 is not of type 'integer'"),
    ({"shards": True}, "shards: True is not of type 'integer'"),
    ({"shards": -3}, "shards: -3 is less than the minimum"),
    ({"shards": 10**30}, "shards: 1000000000000000000000000000000 is greater than the maximum"),
    ({"results": "out{x}"}, "results: 'out{x}' holds a brace"),
    ({"results": "a\nb"}, "results: 'a\\nb' holds a control character"),
    ({"results": "a/../.."}, "climbs out of the working directory"),
    ({"media": {"min_seconds": float("nan")}}, "media.min_seconds: expected a finite number"),
    ({"media": {"max_seconds": float("inf")}}, "media.max_seconds: expected a finite number"),
    ({"media": {"jpeg_quality": 95.0}}, "media.jpeg_quality: 95.0 is not of type 'integer'"),
    ({"corpus": {"seed": 2**64}}, "corpus.seed: must be at most 4294967295, got 1844674407"),
    ({"corpus": {"seed": -1}}, "corpus.seed: must be at least 0, got -1"),
    ({"corpus": {"max_seconds": float("nan")}}, "corpus.max_seconds: expected a finite number"),
    ({"corpus": {"folder": "/etc/ah"}}, "corpus.folder: '/etc/ah' is a system folder"),
    ({"corpus": {"folder": "a{b}"}}, "corpus.folder: 'a{b}' holds a brace"),
    ({"fusion": {"seeds": [2**64]}}, "fusion.seeds.0: 18446744073709551616 is greater"),
    ({"fusion": {"seeds": [1.5]}}, "fusion.seeds.0: 1.5 is not of type 'integer'"),
    ({"fusion": {"seeds": [True]}}, "fusion.seeds.0: True is not of type 'integer'"),
    (
        {"fusion": {"runs": {"r": {"models": ["face_mlp"], "seeds": [SEED_MAX + 1]}}}},
        f"fusion.runs.r.seeds: expected a non-empty list of integers from 0 to {SEED_MAX}",
    ),
    (
        {"fusion": {"runs": {"r": {"models": [["x"]]}}}},
        "fusion.runs.r.models: expected a non-empty",
    ),
    ({"fusion": {"runs": {"r": {"models": [{"a": 1}]}}}}, "fusion.runs.r.models: expected"),
    ({"fusion": {"runs": {"r": {"models": ["x"], "params": 4}}}}, "fusion.runs.r.params: expected"),
    ({"fusion": {"defaults": {"d": 10**9}}}, "fusion.defaults.d: must be at most 8192"),
    ({"fusion": {"defaults": {"layers": 10**6}}}, "fusion.defaults.layers: must be at most 64"),
    ({"fusion": {"defaults": {"dropout": 7}}}, "fusion.defaults.dropout: must be below 1.0"),
    ({"fusion": {"defaults": {"lr": float("nan")}}}, "fusion.defaults.lr: expected a finite"),
    ({"fusion": {"defaults": {"epochs": True}}}, "fusion.defaults.epochs: expected an integer"),
    (
        {"fusion": {"defaults": {"epochs": 2**70}}},
        "fusion.defaults.epochs: must be at most 10000",
    ),
    (
        {"search": {"s": {"run": "r", "sampler_seed": 2**64}}},
        "search.s.sampler_seed: must be at most 4294967295",
    ),
    (
        {"search": {"s": {"run": "r", "seeds": [2**32]}}},
        "search.s.seeds: must be at most 4294967295",
    ),
    ({"search": {"s": {"run": "r", "space": 4.0}}}, "search.s.space: expected a mapping"),
    ({"search": {"s": {"run": "r", "space": "x"}}}, "search.s.space: expected a mapping"),
    (
        {"search": {"s": {"run": "r", "space": {"d": [64, 10**9]}}}},
        "search.s.space.d: must be at most 8192",
    ),
    (
        {"search": {"s": {"run": "r", "space": {"k": {"low": 4.0, "high": 16}}}}},
        "search.s.space.k.low: expected an integer",
    ),
    (
        {"search": {"s": {"run": "r", "space": {"dropout": {"low": 0.1, "high": float("nan")}}}}},
        "search.s.space.dropout.high: expected a finite number",
    ),
    ({"evaluation": {"fold_seed": 2**64}}, "evaluation.fold_seed: must be at most 4294967295"),
    ({"evaluation": {"bootstrap_seed": -1}}, "evaluation.bootstrap_seed: must be at least 0"),
    ({"unimodal": {"m": {"modality": [], "kind": "mlp"}}}, "unimodal.m"),
    (
        {"unimodal": {"m": {"modality": "face", "kind": "mlp", "embedding": "hog", "seed": 2**64}}},
        "unimodal.m.seed: must be at most 4294967295",
    ),
    (
        {"unimodal": {"m": {"modality": "face", "kind": "mlp", "embedding": "hog", "epochs": 4.0}}},
        "unimodal.m.epochs: expected an integer, got 4.0",
    ),
]


@pytest.mark.parametrize(("config", "message"), WRONG_VALUES)
def test_every_wrong_value_is_one_message_naming_its_key(config, message):
    base = {
        "embeddings": {"face": {"hog": {"kind": "hog_stats"}}},
        "unimodal": {"face_mlp": {"modality": "face", "kind": "mlp", "embedding": "hog"}},
        "fusion": {"runs": {"r": {"models": ["face_mlp"]}}},
    }
    for key, value in config.items():
        base[key] = {**base[key], **value} if isinstance(value, dict) and key in base else value
    with pytest.raises(ConfigError) as error:
        validate_config(base)
    assert message in str(error.value)
    assert len(str(error.value)) < 2000
