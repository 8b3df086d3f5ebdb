"""Probing in parallel and the probe cache: the manifest is the same with or without them."""

import logging
import os
import threading
from pathlib import Path

import pandas as pd
import pytest

from ahrec.corpus.formats import read_corpus
from ahrec.corpus.manifest import build_manifest
from ahrec.corpus.probe_cache import ProbeCache, ProbeStats, file_key, probe_videos
from ahrec.media.probe import VideoInfo, probe_video
from tests.media_factory import make_video

SPLITS = {"train": "train.txt", "val": "val.txt", "test": "test.txt"}


class CountingProbe:
    """The real ffprobe probe, counting the files it was run on (thread-safe)."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.lock = threading.Lock()

    def __call__(self, path: Path) -> VideoInfo:
        with self.lock:
            self.calls.append(os.path.realpath(path))
        return probe_video(path)


@pytest.fixture()
def corpus(tmp_path):
    root = tmp_path / "corpus"
    make_video(root / "Videos/P1/V1/a.mp4", seconds=0.6)
    make_video(root / "Videos/P1/V1/b.mp4", seconds=0.8, audio=False)
    make_video(root / "Videos/P2/V1/c.mp4", seconds=1.0)
    make_video(root / "Videos/P3/V1/d.mp4", seconds=0.4, width=64, height=48)
    (root / "Videos/P3/V1/broken.mp4").write_bytes(b"not a video" * 20)
    lists = {
        "train": ["Videos/P1/V1/a.mp4,1,maybe", "Videos/P1/V1/b.mp4,0,yes"],
        "val": ["Videos/P2/V1/c.mp4,0,sure"],
        "test": ["Videos/P3/V1/d.mp4,1,", "Videos/P3/V1/broken.mp4,0,hmm"],
    }
    for split, lines in lists.items():
        (root / f"{split}.txt").write_text("".join(f"{line}\n" for line in lines))
    return {"type": "bah", "root": str(root), "split_files": SPLITS, "hidden_test": None}


def build(corpus, workers=1, cache=None, probe=probe_video, stats=None):
    return build_manifest(
        read_corpus(corpus), n_shards=3, probe=probe, workers=workers, cache=cache, stats=stats
    )


def test_parallel_probing_gives_the_serial_manifest(corpus):
    serial = build(corpus, workers=1)
    parallel = build(corpus, workers=4)
    pd.testing.assert_frame_equal(serial, parallel)
    assert serial["readable"].sum() == 4  # the probe really ran: broken.mp4 alone unreadable


def test_second_build_reuses_every_probe_and_gives_the_same_manifest(corpus, tmp_path):
    cache_path = tmp_path / "results/cache/probes.parquet"
    uncached = build(corpus)
    first_probe, first = CountingProbe(), ProbeStats()
    with_cache = build(
        corpus, workers=2, cache=ProbeCache(cache_path), probe=first_probe, stats=first
    )
    assert len(first_probe.calls) == 5 and first.probed == 5 and first.reused == 0
    assert cache_path.is_file()
    assert [p.name for p in cache_path.parent.iterdir()] == ["probes.parquet"]  # no temp left

    second_probe, second = CountingProbe(), ProbeStats()
    again = build(corpus, workers=2, cache=ProbeCache(cache_path), probe=second_probe, stats=second)
    assert second_probe.calls == [] and second.probed == 0 and second.reused == 5
    pd.testing.assert_frame_equal(uncached, with_cache)
    pd.testing.assert_frame_equal(uncached, again)


def test_a_changed_file_is_probed_again(corpus, tmp_path):
    cache_path = tmp_path / "probes.parquet"
    build(corpus, cache=ProbeCache(cache_path))
    root = Path(corpus["root"])
    touched = root / "Videos/P1/V1/a.mp4"
    stat = touched.stat()
    os.utime(touched, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    rewritten = root / "Videos/P2/V1/c.mp4"
    before = rewritten.stat().st_mtime_ns
    make_video(rewritten, seconds=2.0)  # new content, new length
    os.utime(rewritten, ns=(before + 2_000_000_000, before + 2_000_000_000))

    probe, stats = CountingProbe(), ProbeStats()
    manifest = build(corpus, cache=ProbeCache(cache_path), probe=probe, stats=stats)
    assert sorted(probe.calls) == sorted(os.path.realpath(p) for p in (touched, rewritten))
    assert stats.probed == 2 and stats.reused == 3
    row = manifest.set_index("video_path").loc["Videos/P2/V1/c.mp4"]
    assert row["duration"] == pytest.approx(2.0, abs=0.1)
    pd.testing.assert_frame_equal(manifest, build(corpus))


@pytest.mark.parametrize(
    "content",
    [b"", b"PAR1 this is not parquet at all", b"\x00" * 100],
    ids=["empty", "text", "zeros"],
)
def test_a_corrupt_cache_is_ignored_with_a_warning(corpus, tmp_path, caplog, content):
    cache_path = tmp_path / "probes.parquet"
    cache_path.write_bytes(content)
    probe, stats = CountingProbe(), ProbeStats()
    with caplog.at_level(logging.WARNING):
        manifest = build(corpus, cache=ProbeCache(cache_path), probe=probe, stats=stats)
    assert "unreadable" in caplog.text and str(cache_path) in caplog.text
    assert stats.probed == 5
    pd.testing.assert_frame_equal(manifest, build(corpus))
    # replaced by a valid cache, which the next build uses
    stats = ProbeStats()
    build(corpus, cache=ProbeCache(cache_path), stats=stats)
    assert stats.reused == 5 and stats.probed == 0


def test_links_to_one_file_share_one_probe(tmp_path):
    video = make_video(tmp_path / "store/x.mp4", seconds=0.4)
    first, second = tmp_path / "a/link.mp4", tmp_path / "b/other name.mp4"
    for link in (first, second):
        link.parent.mkdir(parents=True)
        link.symlink_to(video)
    assert file_key(first) == file_key(second) == file_key(video)
    cache_path = tmp_path / "probes.parquet"
    probe = CountingProbe()
    infos, stats = probe_videos([first, second], probe, workers=2, cache=ProbeCache(cache_path))
    assert probe.calls == [str(video.resolve())] and stats.shared == 1
    assert infos[0] == infos[1] and infos[0].readable
    # another listing of the same file (a prediction batch) finds it in the cache
    probe = CountingProbe()
    infos, stats = probe_videos([video], probe, cache=ProbeCache(cache_path))
    assert probe.calls == [] and stats.reused == 1


def test_a_new_probe_version_invalidates_the_cache(corpus, tmp_path):
    cache_path = tmp_path / "probes.parquet"
    build(corpus, cache=ProbeCache(cache_path, version="1; old ffprobe"))
    stats = ProbeStats()
    build(corpus, cache=ProbeCache(cache_path, version="2; new ffprobe"), stats=stats)
    assert stats.probed == 5 and stats.reused == 0


def test_transient_failures_are_not_cached(tmp_path):
    video = make_video(tmp_path / "x.mp4", seconds=0.4)
    cache_path = tmp_path / "probes.parquet"

    def timing_out(path: Path) -> VideoInfo:
        return VideoInfo(readable=False, problem="ffprobe did not finish within 300 s")

    probe_videos([video], timing_out, cache=ProbeCache(cache_path))
    probe = CountingProbe()
    infos, _ = probe_videos([video], probe, cache=ProbeCache(cache_path))
    assert len(probe.calls) == 1 and infos[0].readable


def test_progress_is_logged(corpus, caplog):
    with caplog.at_level(logging.INFO):
        probe_videos(
            [Path(corpus["root"]) / f"Videos/P1/V1/{n}.mp4" for n in "ab"], workers=1, log_every_s=0
        )
    assert "probed 1/2 files" in caplog.text
    assert "2 probes run, 0 reused from the cache" in caplog.text
