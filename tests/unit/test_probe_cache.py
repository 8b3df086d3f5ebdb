"""Probing in parallel and the probe cache: the manifest is the same with or without them."""

import logging
import math
import os
import threading
import time
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ahrec.corpus.formats import read_corpus
from ahrec.corpus.manifest import build_manifest
from ahrec.corpus.probe_cache import (
    CACHE_SCHEMA,
    MAX_ENTRIES,
    ProbeCache,
    ProbeStats,
    file_key,
    probe_videos,
)
from ahrec.io import content_digest
from ahrec.media.probe import VideoInfo, probe_video
from tests.audio_only import make_audio
from tests.media_factory import make_video, replace_in_place

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


@pytest.mark.slow
def test_parallel_probing_gives_the_serial_manifest(corpus):
    serial = build(corpus, workers=1)
    parallel = build(corpus, workers=4)
    pd.testing.assert_frame_equal(serial, parallel)
    assert serial["readable"].sum() == 4  # the probe really ran: broken.mp4 alone unreadable


@pytest.mark.slow
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


@pytest.mark.slow
def test_a_changed_file_is_probed_again(corpus, tmp_path):
    cache_path = tmp_path / "probes.parquet"
    first = build(corpus, cache=ProbeCache(cache_path))
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
    # both are hashed again; the touched one holds the same bytes: its probe is reused
    assert probe.calls == [os.path.realpath(rewritten)]
    assert stats.hashed == 2 and stats.same_content == 1 and stats.probed == 1
    assert stats.reused == 3
    row = manifest.set_index("video_path").loc["Videos/P2/V1/c.mp4"]
    assert row["duration"] == pytest.approx(2.0, abs=0.1)
    changed = manifest["digest"] != first["digest"]
    assert list(manifest.loc[changed, "video_path"]) == ["Videos/P2/V1/c.mp4"]
    pd.testing.assert_frame_equal(manifest, build(corpus))


@pytest.mark.slow
def test_a_same_size_edit_with_its_mtime_put_back_is_hashed_and_probed_again(corpus, tmp_path):
    """A recording without sound replaced by one with sound, same size, same mtime."""
    cache_path = tmp_path / "probes.parquet"
    root = Path(corpus["root"])
    silent = root / "Videos/P1/V1/b.mp4"
    with open(silent, "ab") as handle:  # room for the version with sound
        handle.write(b"\0" * 20_000)
    first = build(corpus, cache=ProbeCache(cache_path)).set_index("video_path")
    assert not first.loc["Videos/P1/V1/b.mp4", "has_audio"]
    replace_in_place(silent, make_video(tmp_path / "sound.mp4", seconds=0.8, audio=True))

    probe, stats = CountingProbe(), ProbeStats()
    again = build(corpus, cache=ProbeCache(cache_path), probe=probe, stats=stats)
    again = again.set_index("video_path")
    assert probe.calls == [os.path.realpath(silent)] and stats.hashed == 1
    row = again.loc["Videos/P1/V1/b.mp4"]
    assert row["has_audio"] and row["digest"] == content_digest(silent)
    assert row["digest"] != first.loc["Videos/P1/V1/b.mp4", "digest"]
    unchanged = again.index != "Videos/P1/V1/b.mp4"
    assert (again.loc[unchanged, "digest"] == first.loc[unchanged, "digest"]).all()


@pytest.mark.slow
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


@pytest.mark.slow
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


@pytest.mark.slow
def test_progress_is_logged(corpus, caplog):
    with caplog.at_level(logging.INFO):
        probe_videos(
            [Path(corpus["root"]) / f"Videos/P1/V1/{n}.mp4" for n in "ab"], workers=1, log_every_s=0
        )
    assert "identified 1/2 files" in caplog.text
    assert "2 probes run, 0 reused from the cache" in caplog.text


def cache_rows(cache_path: Path) -> list[dict]:
    return pq.read_table(cache_path).to_pylist()


def write_rows(cache_path: Path, rows: list[dict], schema: pa.Schema = CACHE_SCHEMA) -> None:
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), cache_path)


@pytest.mark.slow
def test_an_unchanged_cache_is_not_written_again(corpus, tmp_path):
    cache_path = tmp_path / "probes.parquet"
    build(corpus, cache=ProbeCache(cache_path))
    written = cache_path.stat().st_mtime_ns
    time.sleep(0.02)
    stats = ProbeStats()
    build(corpus, cache=ProbeCache(cache_path), stats=stats)
    assert stats.reused == 5 and cache_path.stat().st_mtime_ns == written
    # a changed stat with the same bytes: hashed, probe reused, the new stat written
    touched = Path(corpus["root"]) / "Videos/P3/V1/d.mp4"
    os.utime(touched, ns=(1, 1))
    stats = ProbeStats()
    build(corpus, cache=ProbeCache(cache_path), stats=stats)
    assert stats.same_content == 1 and stats.probed == 0
    assert cache_path.stat().st_mtime_ns != written
    stats = ProbeStats()
    build(corpus, cache=ProbeCache(cache_path), stats=stats)
    assert stats.reused == 5 and stats.hashed == 0


@pytest.mark.slow
def test_cache_columns_of_other_types_are_ignored_with_a_warning(corpus, tmp_path, caplog):
    cache_path = tmp_path / "probes.parquet"
    build(corpus, cache=ProbeCache(cache_path))
    rows = cache_rows(cache_path)
    for row in rows:
        row["duration"] = str(row["duration"])  # right names, wrong types
        row["size"] = float(row["size"])
    schema = CACHE_SCHEMA.set(
        CACHE_SCHEMA.get_field_index("duration"), pa.field("duration", pa.string())
    ).set(CACHE_SCHEMA.get_field_index("size"), pa.field("size", pa.float64()))
    write_rows(cache_path, rows, schema)
    probe, stats = CountingProbe(), ProbeStats()
    with caplog.at_level(logging.WARNING):
        manifest = build(corpus, cache=ProbeCache(cache_path), probe=probe, stats=stats)
    assert "columns of another type: size is double, not int64" in caplog.text
    assert "duration is string, not double" in caplog.text
    assert stats.probed == 5
    pd.testing.assert_frame_equal(manifest, build(corpus))
    assert pq.read_schema(cache_path).field("duration").type == pa.float64()  # rewritten


INVALID = [
    ("duration", math.nan, "duration not finite and non-negative"),
    ("fps", -25.0, "fps not finite and non-negative"),
    ("duration", math.inf, "duration not finite and non-negative"),
    ("size", -1, "negative inode or size"),
    ("n_frames", -3, "negative n_frames"),
    ("digest", "not a digest", "digest not a SHA-256"),
    ("realpath", "relative/a.mp4", "realpath not absolute"),
    ("readable", None, "readable missing"),
    ("has_video", None, "has_video missing"),
    ("problem", None, "unreadable without a problem"),
]


@pytest.mark.slow
def test_invalid_cache_rows_are_dropped_with_a_warning(corpus, tmp_path, caplog):
    cache_path = tmp_path / "probes.parquet"
    build(corpus, cache=ProbeCache(cache_path))
    rows = cache_rows(cache_path)
    target = str((Path(corpus["root"]) / "Videos/P1/V1/a.mp4").resolve())
    broken = str((Path(corpus["root"]) / "Videos/P3/V1/broken.mp4").resolve())
    for number, (column, value, _) in enumerate(INVALID):
        # each broken once on a file that is not listed; NaN also on a listed one
        template = next(
            r for r in rows if r["realpath"] == (broken if column == "problem" else target)
        )
        rows.append({**template, "realpath": f"/elsewhere/{number}.mp4", column: value})
    next(r for r in rows if r["realpath"] == target)["duration"] = math.nan
    write_rows(cache_path, rows)
    probe, stats = CountingProbe(), ProbeStats()
    with caplog.at_level(logging.WARNING):
        manifest = build(corpus, cache=ProbeCache(cache_path), probe=probe, stats=stats)
    assert f"{len(INVALID) + 1} invalid entries dropped (" in caplog.text
    for _, _, reason in INVALID:
        assert reason in caplog.text
    assert "duration not finite and non-negative: 3" in caplog.text
    assert stats.reused == 4 and probe.calls == [target]
    pd.testing.assert_frame_equal(manifest, build(corpus))
    # written back without the bad rows: the next build warns no more
    assert len(cache_rows(cache_path)) == 5
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        build(corpus, cache=ProbeCache(cache_path))
    assert "invalid" not in caplog.text


@pytest.mark.slow
def test_the_cache_keeps_at_most_max_entries(tmp_path, monkeypatch):
    import ahrec.corpus.probe_cache as module

    monkeypatch.setattr(module, "MAX_ENTRIES", 3)
    videos = [make_video(tmp_path / f"v{i}.mp4", seconds=0.2, seed=i) for i in range(5)]
    cache_path = tmp_path / "probes.parquet"
    probe_videos(videos[:3], cache=ProbeCache(cache_path))
    probe_videos(videos[3:], cache=ProbeCache(cache_path))
    kept = {row["realpath"] for row in cache_rows(cache_path)}
    # the files of the last build first, then the others up to the cap
    assert len(kept) == 3 and {str(v.resolve()) for v in videos[3:]} <= kept
    assert MAX_ENTRIES == 1_000_000


def test_an_audio_only_probe_comes_back_from_the_cache_as_it_went_in(tmp_path):
    files = [make_audio(tmp_path / "call.m4a"), make_video(tmp_path / "v.mp4", seconds=0.4)]
    cache_path = tmp_path / "probes.parquet"
    fresh, _ = probe_videos(files, cache=ProbeCache(cache_path))
    assert [(i.readable, i.has_video, i.has_audio) for i in fresh] == [
        (True, False, True),
        (True, True, True),
    ]
    probe = CountingProbe()
    cached, stats = probe_videos(files, probe, cache=ProbeCache(cache_path))
    assert probe.calls == [] and stats.reused == 2
    assert cached == fresh  # has_video included


def test_a_cache_of_the_earlier_probe_format_is_replaced_without_a_warning(tmp_path, caplog):
    """A cache written before ``has_video`` existed is stale, not corrupt: every file is
    probed again (an audio-only file was unreadable then) and the cache rewritten."""
    video = make_video(tmp_path / "v.mp4", seconds=0.4)
    cache_path = tmp_path / "probes.parquet"
    probe_videos([video], cache=ProbeCache(cache_path))
    earlier = pq.read_table(cache_path).drop_columns(["has_video"])
    pq.write_table(earlier, cache_path)
    probe = CountingProbe()
    with caplog.at_level(logging.INFO, logger="ahrec.corpus.probe_cache"):
        infos, _ = probe_videos([video], probe, cache=ProbeCache(cache_path))
    assert len(probe.calls) == 1 and infos[0].has_video
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert "written by an earlier probe format (no has_video)" in caplog.text
    assert "has_video" in pq.read_schema(cache_path).names
