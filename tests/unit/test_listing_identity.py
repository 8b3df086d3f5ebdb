"""Identity is content: copies and hard links across splits and participants, video ids,
and the listing of a predict folder's whole tree."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from ahrec.corpus import records as records_module
from ahrec.corpus.bah import read_bah_corpus
from ahrec.corpus.manifest import validate_records
from ahrec.corpus.new_videos import listing_digest
from ahrec.corpus.records import ID_HASH_CHARS, video_id_for

SPLITS = {"train": "train.txt", "val": "val.txt", "test": "test.txt"}


def write(root: Path, relative: str, content: bytes) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


def corpus(root: Path, lists: dict[str, list[str]]) -> list:
    """A BAH-layout corpus of the given list lines (labels 0); the videos must exist."""
    for split, name in SPLITS.items():
        (root / name).write_text("".join(f"{path},0,text\n" for path in lists.get(split, [])))
    return read_bah_corpus(root, SPLITS)


@pytest.fixture()
def three(tmp_path):
    """Three participants with one distinct recording each (different sizes)."""
    write(tmp_path, "Videos/P1/V1/a.mp4", b"recording of P1" * 50)
    write(tmp_path, "Videos/P2/V1/b.mp4", b"recording of P2" * 60)
    write(tmp_path, "Videos/P3/V1/c.mp4", b"recording of P3" * 70)
    return tmp_path


def counting_digests(monkeypatch) -> list[str]:
    hashed: list[str] = []
    real = records_module.content_digest

    def digest(path):
        hashed.append(os.path.basename(path))
        return real(path)

    monkeypatch.setattr(records_module, "content_digest", digest)
    return hashed


# --- byte copies ---------------------------------------------------------------------


def test_a_byte_copy_of_a_train_video_in_test_names_both_listings(three, monkeypatch):
    hashed = counting_digests(monkeypatch)
    shutil.copyfile(three / "Videos/P1/V1/a.mp4", three / "Videos/P3/V1/copy.mp4")
    write(three, "Videos/P3/V1/same_size.mp4", b"x" * (15 * 50))  # same size, other bytes
    records = corpus(
        three,
        {
            "train": ["Videos/P1/V1/a.mp4"],
            "val": ["Videos/P2/V1/b.mp4"],
            "test": [
                "Videos/P3/V1/c.mp4",
                "Videos/P3/V1/same_size.mp4",
                "Videos/P3/V1/copy.mp4",
            ],
        },
    )
    problems = validate_records(records)
    assert problems == [
        f"{three / 'test.txt'}:3: the test video 'Videos/P3/V1/copy.mp4' holds the same bytes "
        f"as the train video 'Videos/P1/V1/a.mp4' listed at {three / 'train.txt'}:1: one "
        "recording in two splits leaks it between them; list it once, in one split"
    ]
    # only the files of equal size were hashed (b.mp4 and c.mp4 have sizes of their own)
    assert sorted(hashed) == ["a.mp4", "copy.mp4", "same_size.mp4"]


def test_a_byte_copy_within_a_split_is_a_duplicate_like_a_link(three):
    shutil.copyfile(three / "Videos/P3/V1/c.mp4", three / "Videos/P3/V1/again.mp4")
    (three / "Videos/P3/V1/link.mp4").symlink_to("c.mp4")
    records = corpus(
        three,
        {
            "train": ["Videos/P1/V1/a.mp4"],
            "val": ["Videos/P2/V1/b.mp4"],
            "test": ["Videos/P3/V1/c.mp4", "Videos/P3/V1/again.mp4", "Videos/P3/V1/link.mp4"],
        },
    )
    problems = validate_records(records)
    assert len(problems) == 2, problems
    assert problems[0].startswith(
        f"{three / 'test.txt'}:3: duplicate video 'Videos/P3/V1/link.mp4'"
    )
    assert problems[1] == (
        f"{three / 'test.txt'}:2: duplicate video 'Videos/P3/V1/again.mp4' (the same bytes as "
        f"'Videos/P3/V1/c.mp4', already listed at {three / 'test.txt'}:1); list each video once"
    )


def test_empty_and_distinct_files_are_not_copies(three, monkeypatch):
    hashed = counting_digests(monkeypatch)
    write(three, "Videos/P1/V1/empty.mp4", b"")
    write(three, "Videos/P3/V1/empty.mp4", b"")
    records = corpus(
        three,
        {
            "train": ["Videos/P1/V1/a.mp4", "Videos/P1/V1/empty.mp4"],
            "val": ["Videos/P2/V1/b.mp4"],
            "test": ["Videos/P3/V1/c.mp4", "Videos/P3/V1/empty.mp4"],
        },
    )
    assert validate_records(records) == []
    assert hashed == []  # no two files of one (non-zero) size: nothing read


# --- hard links ----------------------------------------------------------------------


def test_a_hard_link_into_another_participants_folder_is_caught_like_a_symlink(three):
    # P1's second recording, not listed, hard-linked into P3's folder and listed in test
    write(three, "Videos/P1/V2/unlisted.mp4", b"another recording of P1" * 40)
    os.link(three / "Videos/P1/V2/unlisted.mp4", three / "Videos/P3/V1/linked.mp4")
    lists = {
        "train": ["Videos/P1/V1/a.mp4"],
        "val": ["Videos/P2/V1/b.mp4"],
        "test": ["Videos/P3/V1/c.mp4", "Videos/P3/V1/linked.mp4"],
    }
    problems = validate_records(corpus(three, lists))
    assert problems == [
        f"participant 'P1' appears in more than one split: train ({three / 'train.txt'}:1), "
        f"test ({three / 'test.txt'}:2, a hard link to Videos/P1/V2/unlisted.mp4); "
        "splits must be participant-disjoint"
    ]
    # the same with a symbolic link, for comparison: the same check, the same words
    (three / "Videos/P3/V1/linked.mp4").unlink()
    (three / "Videos/P3/V1/linked.mp4").symlink_to("../../P1/V2/unlisted.mp4")
    (problem,) = validate_records(corpus(three, lists))
    assert "test (" in problem and "a link to Videos/P1/V2/unlisted.mp4" in problem


def test_a_hard_link_to_a_listed_video_of_another_participant_is_a_duplicate(three):
    os.link(three / "Videos/P1/V1/a.mp4", three / "Videos/P3/V1/linked.mp4")
    records = corpus(
        three,
        {
            "train": ["Videos/P1/V1/a.mp4"],
            "val": ["Videos/P2/V1/b.mp4"],
            "test": ["Videos/P3/V1/c.mp4", "Videos/P3/V1/linked.mp4"],
        },
    )
    (problem,) = validate_records(records)
    assert problem.startswith(
        f"{three / 'test.txt'}:2: duplicate video 'Videos/P3/V1/linked.mp4' "
        f"(already listed at {three / 'train.txt'}:1 as 'Videos/P1/V1/a.mp4'"
    )


def test_hard_links_within_a_participant_or_outside_the_corpus_pass(three, tmp_path_factory):
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    # a deduplicating store outside the corpus, and a second name in P3's own folder
    os.link(three / "Videos/P3/V1/c.mp4", elsewhere / "store-c.mp4")
    os.link(three / "Videos/P3/V1/c.mp4", three / "Videos/P3/V1/old-name.mp4")
    # a participant that no list names: no split can be shared with it
    write(three, "Videos/P7/V1/p7.mp4", b"recording of P7" * 30)
    os.link(three / "Videos/P7/V1/p7.mp4", three / "Videos/P2/V1/from-p7.mp4")
    records = corpus(
        three,
        {
            "train": ["Videos/P1/V1/a.mp4"],
            "val": ["Videos/P2/V1/b.mp4", "Videos/P2/V1/from-p7.mp4"],
            "test": ["Videos/P3/V1/c.mp4"],
        },
    )
    assert validate_records(records) == []


def test_no_folder_is_walked_without_unexplained_hard_links(three, monkeypatch):
    walked: list[str] = []
    real = os.scandir

    def scandir(path="."):
        walked.append(os.fspath(path))
        return real(path)

    monkeypatch.setattr(records_module.os, "scandir", scandir)
    os.link(three / "Videos/P1/V1/a.mp4", three / "Videos/P1/V1/a-listed-twice.mp4")
    records = corpus(
        three,
        {
            "train": ["Videos/P1/V1/a.mp4", "Videos/P1/V1/a-listed-twice.mp4"],
            "val": ["Videos/P2/V1/b.mp4"],
            "test": ["Videos/P3/V1/c.mp4"],
        },
    )
    (problem,) = validate_records(records)  # both names listed: the duplicate check's
    assert "duplicate video 'Videos/P1/V1/a-listed-twice.mp4'" in problem
    assert walked == []


# --- video ids -----------------------------------------------------------------------


def test_video_ids_carry_64_bits_of_hash():
    assert ID_HASH_CHARS * 4 >= 64
    ids = {video_id_for(f"Videos/P{i}/V1/Question_1.mp4") for i in range(2000)}
    assert len(ids) == 2000
    assert all(len(i.rsplit("-", 1)[1]) == ID_HASH_CHARS for i in ids)


def test_a_video_id_collision_names_both_files(three, monkeypatch):
    monkeypatch.setattr(records_module, "path_digest", lambda path: "0" * ID_HASH_CHARS)
    write(three, "Videos/P3/V2/b.mp4", b"a recording named like P2's" * 9)
    records = corpus(
        three,
        {
            "train": ["Videos/P1/V1/a.mp4"],
            "val": ["Videos/P2/V1/b.mp4"],
            "test": ["Videos/P3/V1/c.mp4", "Videos/P3/V2/b.mp4"],
        },
    )
    assert validate_records(records) == [
        f"{three / 'test.txt'}:2: 'Videos/P3/V2/b.mp4' gets the video id 'b-0000000000000000' "
        f"of 'Videos/P2/V1/b.mp4' (listed at {three / 'val.txt'}:1); rename one of the two files"
    ]


# --- a predict folder's whole tree ----------------------------------------------------


def test_the_listing_digest_follows_the_whole_tree(tmp_path):
    write(tmp_path, "new/a.mp4", b"a")
    write(tmp_path, "new/ward/bed/b.mp4", b"b")
    before = listing_digest(tmp_path / "new")
    write(tmp_path, "new/ward/bed/notes.txt", b"not a video")
    assert listing_digest(tmp_path / "new") == before
    write(tmp_path, "new/ward/bed/c.mp4", b"c")  # two levels down: the top folder's mtime
    added = listing_digest(tmp_path / "new")  # does not change
    assert added != before
    (tmp_path / "new/ward/bed/c.mp4").unlink()
    assert listing_digest(tmp_path / "new") == before
    (tmp_path / "new/ward/bed/b.mp4").unlink()
    assert listing_digest(tmp_path / "new") not in (before, added)
    write(tmp_path, "new/ward/bed/b.mp4", b"B, a replaced recording")
    assert listing_digest(tmp_path / "new") != before


def test_the_listing_digest_of_a_csv_list_sees_its_videos(tmp_path):
    write(tmp_path, "sub/a.mp4", b"a")
    (tmp_path / "list.csv").write_text("video_path\nsub/a.mp4\n")
    before = listing_digest(tmp_path / "list.csv")
    (tmp_path / "sub/a.mp4").unlink()
    assert listing_digest(tmp_path / "list.csv") != before
    (tmp_path / "list.csv").write_text("path\nsub/a.mp4\n")  # the job reports it
    assert listing_digest(tmp_path / "list.csv").startswith("unlisted:")
    assert listing_digest(tmp_path / "missing") == "missing"


@pytest.mark.slow
def test_a_video_added_or_removed_in_a_subfolder_rebuilds_the_batch(tmp_path):
    """Real Snakemake: the batch's manifest once, then dry runs after changes two levels down."""
    from tests.e2e.workflow import planned_jobs, snakemake, write_config
    from tests.media_factory import make_video

    make_video(tmp_path / "new" / "a.mp4", seconds=1.0, seed=1)
    make_video(tmp_path / "new" / "ward" / "bed" / "b.mp4", seconds=1.0, seed=2)
    write_config(tmp_path, {"predict": {"folder": {"videos": "new", "ensemble": "fusion_proto"}}})
    manifest = "results/predict/folder/manifest.parquet"
    snakemake(tmp_path, manifest)
    assert planned_jobs(tmp_path, manifest) == {}
    top = (tmp_path / "new").stat().st_mtime_ns
    shutil.copyfile(tmp_path / "new" / "a.mp4", tmp_path / "new" / "ward" / "bed" / "c.mp4")
    assert (tmp_path / "new").stat().st_mtime_ns == top  # what Snakemake sees of the input
    assert planned_jobs(tmp_path, manifest) == {"predict_manifest": 1}
    # removed below: the media jobs of the batch wait for the new manifest (no missing input)
    (tmp_path / "new" / "ward" / "bed" / "c.mp4").unlink()
    (tmp_path / "new" / "ward" / "bed" / "b.mp4").unlink()
    audio = "results/predict/folder/media/audio/shards/shard-0.json"
    assert planned_jobs(tmp_path, audio).get("predict_manifest") == 1
