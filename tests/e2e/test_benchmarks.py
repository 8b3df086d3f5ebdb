"""The benchmark scripts run the workflow itself and report positive figures for every stage.

Timings are not asserted (they depend on the machine); only that each stage ran the
jobs it should and that its figures are there.
"""

import json
import sys
from pathlib import Path

import pytest

from ahrec.embeddings.kinds import ENCODERS
from tests.media_factory import make_video

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "benchmarks"))

import media_embeddings  # noqa: E402

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture
def tiny_corpus(tmp_path):
    """Three videos in the BAH layout; one has no transcript, so speech recognition runs on it."""
    root = tmp_path / "corpus"
    make_video(root / "Videos/P1/Visite_1/a.mp4", seconds=1.0, face=True)
    make_video(root / "Videos/P2/Visite_1/b.mp4", seconds=1.2, face=True)
    make_video(root / "Videos/P3/Visite_1/c.mp4", seconds=1.1, face=True)
    (root / "train.txt").write_text(
        "Videos/P1/Visite_1/a.mp4,1,Well, maybe, I guess\nVideos/P3/Visite_1/c.mp4,0,Yes I do\n"
    )
    (root / "val.txt").write_text("Videos/P2/Visite_1/b.mp4,0,\n")
    (root / "test.txt").write_text("")
    return root


def test_media_benchmark_reports_every_stage_of_the_workflow(tiny_corpus, tmp_path, capsys):
    report = tmp_path / "bench.json"
    code = media_embeddings.main(
        [
            "--workdir", str(tmp_path / "work"),
            "--corpus", str(tiny_corpus),
            "--configfile", str(REPO / ".test" / "config.yaml"),
            "--json", str(report),
        ]
    )  # fmt: skip
    table = capsys.readouterr().out
    assert code == 0 and "3 videos" in table
    figures = json.loads(report.read_text())
    stages = {row["stage"]: row for row in figures["stages"]}
    # every media and embedding rule of the workflow ran, with its real job count
    assert set(stages) == {media_embeddings.BASELINE, *media_embeddings.STAGES}
    assert stages["scene_frames"]["jobs"] == stages["audio"]["jobs"] == 2  # one per shard
    assert stages["faces"]["jobs"] == 2 and stages["embed_tfidf"]["jobs"] == 1  # shards: 2
    for name, row in stages.items():
        assert row["wall_s"] > 0 and row["videos_per_s"] > 0, name
        if name != media_embeddings.BASELINE:
            assert row["peak_rss_mb"] > 0, name
        assert f"| {name} |" in table


def test_encoder_benchmark_times_every_neural_encoder(tmp_path, capsys):
    import encoders

    report = tmp_path / "encoders.json"
    code = encoders.main(
        ["--size", "tiny", "--device", "cpu", "--videos", "2", "--seconds", "1", "--network",
         "--json", str(report)]
    )  # fmt: skip
    assert code == 0
    rows = json.loads(report.read_text())
    neural = [name for name, row in ENCODERS.rows.items() if row.neural]  # the kind table's
    assert [row["encoder"] for row in rows] == neural
    for row in rows:
        assert row["encode_videos_per_s"] > 0 and row["network_videos_per_s"] > 0, row
        assert row["per_call"] >= 1 and row["encode_cpu_s_per_video"] > 0, row
    assert "videos/s" in capsys.readouterr().out
