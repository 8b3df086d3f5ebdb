"""The stage benchmark runs every media and embedding stage and reports positive figures.

Timings are not asserted (they depend on the machine); only that each stage ran on the
videos it should and that its figures are there.
"""

import json

import pytest

from ahrec.config import load_config
from ahrec.reporting.stage_benchmark import BASELINE, REPO, main, plan_stages
from tests.media_factory import make_video

pytestmark = pytest.mark.slow


@pytest.fixture
def tiny_corpus(tmp_path):
    """Two videos in the BAH layout; the second has no transcript, so ASR runs on it."""
    root = tmp_path / "corpus"
    make_video(root / "Videos/P1/Visite_1/a.mp4", seconds=1.0, face=True)
    make_video(root / "Videos/P2/Visite_1/b.mp4", seconds=1.2, face=True)
    (root / "train.txt").write_text("Videos/P1/Visite_1/a.mp4,1,Well, maybe, I guess\n")
    (root / "val.txt").write_text("Videos/P2/Visite_1/b.mp4,0,\n")
    (root / "test.txt").write_text("")
    return root


def test_every_stage_is_reported_with_positive_figures(tiny_corpus, tmp_path, capsys):
    out = tmp_path / "work"
    report = tmp_path / "bench.json"
    code = main(["--corpus", str(tiny_corpus), "--out", str(out), "--json", str(report)])
    table = capsys.readouterr().out
    assert code == 0

    expected = [stage.label for stage in plan_stages(load_config(REPO / "config.yaml"))]
    assert expected[0] == BASELINE and any(label.startswith("embed ") for label in expected)
    rows = {
        line.split("|")[1].strip(): line for line in table.splitlines() if line.startswith("| ")
    }
    assert set(expected) <= set(rows)
    assert "2 videos, " in table

    figures = json.loads(report.read_text())
    stages = {s["stage"]: s for s in figures["stages"]}
    assert list(stages) == expected
    for label, stage in stages.items():
        assert stage["ok"], label
        for key in ("videos", "video_seconds", "wall_s", "baseline_s"):
            assert stage[key] > 0, (label, key)
        for key in ("videos_per_s", "video_seconds_per_s", "decode_ratio"):
            assert stage[key] > 0, (label, key)
        if label != BASELINE:
            assert stage["peak_rss_mb"] > 0, label
    assert stages["scene frames"]["videos"] == 2
    # only the video without a corpus transcript goes through speech recognition
    assert stages["transcripts"]["videos"] == 1
    assert "ASR (pocketsphinx) on the 1 of 2 videos" in stages["transcripts"]["note"]
    assert (out / "embeddings/scene/motion.parquet").is_file()  # --out keeps the files
