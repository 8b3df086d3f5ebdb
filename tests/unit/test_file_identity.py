"""A file is what it contains: content digests, stat keys and the manifest's rerun trigger."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import pytest

from ahrec.corpus import bah
from ahrec.corpus.identity import (
    corpus_files,
    corpus_fingerprint,
    file_key,
    listing_fingerprint,
    stat_key,
)
from ahrec.io import content_digest
from tests.media_factory import edit_in_place

SPLITS = {"train": "train.txt", "val": "val.txt", "test": "test.txt"}


def test_the_content_digest_is_the_sha256_of_the_bytes(tmp_path):
    path = tmp_path / "a.bin"
    path.write_bytes(os.urandom(3 << 20))  # more than one chunk
    assert content_digest(path) == hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_same_size_edit_with_its_mtime_put_back_changes_the_stat_key(tmp_path):
    path = tmp_path / "a.mp4"
    path.write_bytes(b"recording" * 100)
    key, digest = stat_key(path), content_digest(path)
    assert stat_key(path) == key  # reading changes nothing
    edit_in_place(path)
    assert stat_key(path) != key and content_digest(path) != digest


def test_links_share_a_file_key_and_non_files_have_none(tmp_path):
    video = tmp_path / "store" / "x.mp4"
    video.parent.mkdir()
    video.write_bytes(b"x" * 10)
    link = tmp_path / "link.mp4"
    link.symlink_to(video)
    assert file_key(link) == file_key(video) and file_key(video)[0] == str(video.resolve())
    assert file_key(tmp_path) is None and file_key(tmp_path / "missing.mp4") is None
    assert stat_key("/dev/null") is None


def test_the_listing_fingerprint_sees_edits_whatever_the_mtime(tmp_path):
    paths = [tmp_path / f"{name}.mp4" for name in "abc"]
    for path in paths:
        path.write_bytes(path.name.encode() * 50)
    first = listing_fingerprint(paths)
    assert listing_fingerprint(paths) == first
    edit_in_place(paths[1])
    second = listing_fingerprint(paths)
    assert second != first
    paths[2].unlink()
    assert listing_fingerprint(paths) not in (first, second)
    assert listing_fingerprint(paths[:2]) != listing_fingerprint(paths[1::-1])  # order counts


def bah_corpus(root: Path) -> dict:
    for name in ("a", "b", "c"):
        (root / "Videos" / "P1").mkdir(parents=True, exist_ok=True)
        (root / "Videos" / "P1" / f"{name}.mp4").write_bytes(name.encode() * 100)
    (root / "Videos/P1/b.yaml").write_text("chunks:\n  - text: hello\n")
    (root / "train.txt").write_text("Videos/P1/a.mp4,1,listed words\nVideos/P1/b.mp4,0,\n")
    (root / "val.txt").write_text("Videos/P1/c.mp4,0,text\n")
    (root / "test.txt").write_text("")
    return {"type": "bah", "root": str(root), "split_files": SPLITS}


def test_a_corpus_fingerprint_covers_its_videos_and_their_transcript_files(tmp_path, monkeypatch):
    corpus = bah_corpus(tmp_path)

    def never(path):
        raise AssertionError(f"{path} read while planning")

    monkeypatch.setattr(bah, "transcript_from_yaml", never)  # stat only, no YAML parsed
    root = tmp_path / "Videos/P1"
    names = ["a.mp4", "b.mp4", "b.yaml", "c.mp4"]
    assert corpus_files(corpus) == [str(root / name) for name in names]
    first = corpus_fingerprint(corpus)
    assert corpus_fingerprint(corpus) == first
    edit_in_place(root / "c.mp4")
    second = corpus_fingerprint(corpus)
    assert second != first
    edit_in_place(root / "b.yaml", offset=2)  # a transcript edited in place
    assert corpus_fingerprint(corpus) not in (first, second)


def test_the_demo_has_no_fingerprint_and_an_unreadable_corpus_a_fixed_one(tmp_path):
    assert corpus_fingerprint({"type": "demo"}) is None
    broken = {"type": "bah", "root": str(tmp_path), "split_files": SPLITS}
    (tmp_path / "train.txt").write_text("no label here\n")
    assert corpus_fingerprint(broken) == "unreadable"
    assert corpus_fingerprint({"type": "nonsense"}) == "unreadable"


@pytest.mark.parametrize("size", [0, 1, (1 << 20) - 1, 1 << 20, (1 << 20) + 1])
def test_digests_at_chunk_boundaries(tmp_path, size):
    path = tmp_path / "f"
    path.write_bytes(b"\x5a" * size)
    assert content_digest(path) == hashlib.sha256(b"\x5a" * size).hexdigest()


@pytest.mark.slow
def test_snakemake_reruns_the_manifest_and_one_media_job_for_a_same_size_edit(tmp_path):
    """The manifest's identity param: a recording edited in place, its mtime put back, is
    probed and extracted again; an untouched corpus plans nothing."""
    from tests.e2e.workflow import executed_jobs, planned_jobs, snakemake, write_config
    from tests.media_factory import make_video

    corpus = tmp_path / "corpus"
    rows = ["video_path,split,label,participant,transcript"]
    for index, split in enumerate(["train", "train", "val", "test"]):
        make_video(corpus / f"Videos/P{index}/v.mp4", seconds=0.5, audio=index != 1, seed=index)
        rows.append(f"Videos/P{index}/v.mp4,{split},{index % 2},,words {index}")
    silent = corpus / "Videos/P1/v.mp4"
    with open(silent, "ab") as handle:  # room for the version with sound
        handle.write(b"\0" * 20_000)
    (corpus / "corpus.csv").write_text("\n".join(rows) + "\n")
    work = tmp_path / "run"
    work.mkdir()
    write_config(work, {"corpus": {"type": "csv", "manifest": str(corpus / "corpus.csv")}})
    targets = [f"results/media/audio/shards/shard-{s}.json" for s in (0, 1)]
    snakemake(work, *targets)
    assert planned_jobs(work, *targets) == {}

    before = silent.stat()
    sound = make_video(tmp_path / "sound.mp4", seconds=0.5, audio=True, seed=1).read_bytes()
    time.sleep(0.02)
    with open(silent, "r+b") as handle:
        handle.write(sound + b"\0" * (before.st_size - len(sound)))
    os.utime(silent, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert planned_jobs(work, *targets)["manifest"] == 1  # (a dry run cannot know the rest)
    done = snakemake(work, *targets)
    assert executed_jobs(done.stdout + done.stderr) == {"manifest": 1, "audio": 1}
    from ahrec.corpus.manifest import read_manifest
    from ahrec.media.audio import read_wav

    manifest = read_manifest(work / "results/manifest.parquet").set_index("video_path")
    assert manifest.loc["Videos/P1/v.mp4", "has_audio"]
    logs = sorted((work / "results/logs/audio").glob("*.log"), key=lambda p: p.stat().st_mtime)
    assert ": 1 to extract, " in logs[-1].read_text()  # that video only
    video_id = manifest.loc["Videos/P1/v.mp4", "video_id"]
    assert read_wav(work / f"results/media/audio/{video_id}.wav")[0].size > 0  # its sound
    assert planned_jobs(work, *targets) == {}

    def extracted() -> list[str]:
        return [
            p.read_text().split(" videos: ")[1].split(",")[0] for p in sorted(logs_dir.glob("*"))
        ]

    logs_dir = work / "results/logs/audio"
    snakemake(work, *targets, "--forcerun", "audio")  # reruns the jobs, reuses the files
    assert extracted() == ["0 to extract", "0 to extract"]
    snakemake(work, *targets, "--config", "media={extract_again: 1}")
    assert sum(int(n.split()[0]) for n in extracted()) == 4  # every video again
