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
