"""BAH split files, CSV manifests and lists of new videos: the formats real corpora come in."""

import logging
from pathlib import Path

import pytest
import yaml

from ahrec.corpus.bah import parse_split_line, read_bah_corpus, read_split_file
from ahrec.corpus.csv_manifest import read_csv_manifest
from ahrec.corpus.manifest import build_manifest, validate_records
from ahrec.corpus.new_videos import MEDIA_SUFFIXES, read_new_videos, skipped_lines
from ahrec.corpus.records import participant_from_path, resolve_inside, shard_for, video_id_for
from ahrec.errors import CorpusError
from tests.audio_only import make_audio
from tests.media_factory import make_video

SPLITS = {"train": "train.txt", "val": "val.txt", "test": "test.txt"}


def touch(root: Path, relative: str) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")
    return path


def test_line_is_split_on_the_first_two_commas_only():
    line = "Videos/P1/Visite_1/a b, c.mp4,1,Well, I guess, maybe"
    # a comma inside the path cannot be told apart: BAH paths have none, transcripts do
    assert parse_split_line("Videos/P1/x.mp4,1,Well, I guess, maybe") == (
        "Videos/P1/x.mp4",
        "1",
        "Well, I guess, maybe",
    )
    assert parse_split_line("v.mp4,0,") == ("v.mp4", "0", "")
    assert parse_split_line("v.mp4,0") == ("v.mp4", "0", "")
    assert parse_split_line("no commas here") is None
    assert parse_split_line(line)[0] == "Videos/P1/Visite_1/a b"


def test_bah_reader_handles_spaces_suffixes_bom_crlf_and_blank_lines(tmp_path):
    paths = [
        "Videos/P001/Visite_1/P001_Question_1_2024-03-05_14-22-10_Video.mp4",
        "Videos/P 002/Visite_1/P 002_Question_2_2024-03-05_14-22-10_Video-DESKTOP-7F3K.mp4",
    ]
    for p in paths:
        touch(tmp_path, p)
    content = (
        f"\ufeff{paths[0]},1,Um, I am not sure, honestly\r\n\r\n{paths[1]},0,Yes, definitely\r\n"
    )
    (tmp_path / "train.txt").write_bytes(content.encode("utf-8"))
    records, problems = read_split_file(tmp_path / "train.txt", tmp_path, "train")
    assert problems == []
    assert [r.video_path for r in records] == paths
    assert [r.label for r in records] == [1, 0]
    assert records[0].transcript == "Um, I am not sure, honestly"
    assert [r.participant for r in records] == ["P001", "P 002"]
    assert records[1].path == tmp_path / paths[1]
    assert records[0].source == f"{tmp_path / 'train.txt'}:1"
    assert records[1].source.endswith("train.txt:3")
    assert [r.list_order for r in records] == [0, 1]


def test_bad_lines_each_get_a_message_with_file_and_line(tmp_path):
    touch(tmp_path, "Videos/P1/a.mp4")
    (tmp_path / "val.txt").write_text(
        "Videos/P1/a.mp4,2,text\njust a path\n../outside.mp4,1,escape\nVideos/P1/a.mp4,,no label\n"
    )
    records, problems = read_split_file(tmp_path / "val.txt", tmp_path, "val")
    assert records == []
    assert len(problems) == 4
    assert "val.txt:1: label must be 0 (no A/H) or 1 (A/H), got '2'" in problems[0]
    assert "val.txt:2: expected '<video path>,<label 0|1>,<transcript>'" in problems[1]
    assert "val.txt:3: path '../outside.mp4' is outside the corpus root" in problems[2]
    assert "val.txt:4: label must be" in problems[3]


def test_hidden_test_list_ignores_placeholder_labels(tmp_path):
    touch(tmp_path, "Videos/P9/h.mp4")
    (tmp_path / "hidden.txt").write_text("Videos/P9/h.mp4,-1,\n")
    records, problems = read_split_file(tmp_path / "hidden.txt", tmp_path, "hidden", labelled=False)
    assert problems == []
    assert records[0].label is None and records[0].split == "hidden"


def test_timestamped_yaml_fills_a_missing_transcript(tmp_path):
    video = touch(tmp_path, "Videos/P1/Visite_1/q.mp4")
    chunks = {
        "chunks": [
            {"timestamp": [0.0, 1.2], "text": "Well, maybe.", "label": 1},
            {"timestamp": [1.4, 2.0], "text": "I don't know.", "label": 0},
        ]
    }
    video.with_suffix(".yaml").write_text(yaml.safe_dump(chunks))
    (tmp_path / "test.txt").write_text("Videos/P1/Visite_1/q.mp4,1,\n")
    records, _ = read_split_file(tmp_path / "test.txt", tmp_path, "test")
    assert records[0].transcript == "Well, maybe. I don't know."
    assert records[0].transcript_source == "yaml"
    records, _ = read_split_file(
        tmp_path / "test.txt", tmp_path, "test", timestamped_transcripts=False
    )
    assert records[0].transcript is None


def test_read_bah_corpus_collects_problems_of_all_files(tmp_path):
    (tmp_path / "train.txt").write_text("a.mp4,x,\n")
    (tmp_path / "val.txt").write_text("")
    with pytest.raises(CorpusError) as caught:
        read_bah_corpus(tmp_path, SPLITS)
    message = str(caught.value)
    assert "2 problems in the corpus" in message
    assert "train.txt:1: label must be" in message
    assert "test.txt: split file not found" in message


def test_csv_manifest(tmp_path):
    touch(tmp_path, "clips/-dash 'quoted' é.mp4")
    touch(tmp_path, "clips/b.mp4")
    (tmp_path / "m.csv").write_text(
        "video_path,split,label,participant,transcript\n"
        '"clips/-dash \'quoted\' é.mp4",train,1,alice,"Hmm, well, maybe"\n'
        "clips/b.mp4,test,,bob,\n"
    )
    records = read_csv_manifest(tmp_path / "m.csv")
    assert [r.participant for r in records] == ["alice", "bob"]
    assert records[0].transcript == "Hmm, well, maybe"
    assert records[1].label is None and records[1].transcript is None
    assert records[0].path == tmp_path / "clips/-dash 'quoted' é.mp4"


def test_csv_manifest_errors(tmp_path):
    (tmp_path / "m.csv").write_text("path,split\nx.mp4,train\n")
    with pytest.raises(CorpusError, match="missing column"):
        read_csv_manifest(tmp_path / "m.csv")
    (tmp_path / "m.csv").write_text("video_path,split,label\nx.mp4,dev,1\ny.mp4,train,yes\n")
    with pytest.raises(CorpusError) as caught:
        read_csv_manifest(tmp_path / "m.csv")
    assert "m.csv:2: split must be one of" in str(caught.value)
    assert "m.csv:3: label must be 0, 1 or empty" in str(caught.value)


def test_ids_are_stable_safe_and_distinct():
    a = video_id_for("Videos/P1/Visite_1/P1_Question_1 (copy).mp4")
    assert a == video_id_for("Videos/P1/Visite_1/P1_Question_1 (copy).mp4")
    assert a.startswith("P1_Question_1_copy-")
    assert all(c.isalnum() or c in "_-" for c in a)
    # 64 bits of hash (16 hex digits) after the readable stem
    digest = a.rsplit("-", 1)[1]
    assert len(digest) == 16 and int(digest, 16) >= 0
    assert video_id_for("--rm -rf.mp4")[0].isalnum()
    assert video_id_for("a/x.mp4") != video_id_for("b/x.mp4")
    shards = {shard_for(video_id_for(f"v{i}.mp4"), 4) for i in range(50)}
    assert shards == {0, 1, 2, 3}


def test_participant_and_root_escape():
    assert participant_from_path("Videos/P007/Visite_1/x.mp4") == "P007"
    assert participant_from_path("alice/x.mp4") == "alice"
    assert participant_from_path("bob_q1.mp4") == "bob"
    root = Path("/data/corpus")
    assert resolve_inside(root, "Videos/a/../b.mp4") == root / "Videos/b.mp4"
    assert resolve_inside(root, "../etc/passwd") is None
    assert resolve_inside(root, "Videos/../../x.mp4") is None
    assert resolve_inside(root, "/etc/passwd") is None


def test_bytes_that_are_not_utf8_name_the_file_and_line(tmp_path):
    touch(tmp_path, "Videos/P1/a.mp4")
    (tmp_path / "train.txt").write_bytes(b"Videos/P1/a.mp4,1,fine\nVideos/P1/b\xff.mp4,1,x\n")
    (tmp_path / "val.txt").write_bytes(b"Videos/P1/a.mp4,0,caf\xe9\r\n")
    (tmp_path / "test.txt").write_text("")
    with pytest.raises(CorpusError) as caught:
        read_bah_corpus(tmp_path, SPLITS)
    assert caught.value.problems == [  # every list checked, one message each
        f"{tmp_path / 'train.txt'}:2: not valid UTF-8 (byte 0xff in 'Videos/P1/b\\xff.mp4,1,x'); "
        "save the file as UTF-8, and rename files whose names are not",
        f"{tmp_path / 'val.txt'}:1: not valid UTF-8 (byte 0xe9 in 'Videos/P1/a.mp4,0,caf\\xe9'); "
        "save the file as UTF-8, and rename files whose names are not",
    ]
    (tmp_path / "m.csv").write_bytes(b"video_path,split\nVideos/P1/a.mp4,test\nb\xff.mp4,test\n")
    with pytest.raises(CorpusError, match=r"m\.csv:3: not valid UTF-8 \(byte 0xff in 'b\\xff"):
        read_csv_manifest(tmp_path / "m.csv")


def one_problem(caught: pytest.ExceptionInfo[CorpusError]) -> str:
    assert len(caught.value.problems) == 1, caught.value.problems
    return caught.value.problems[0]


def test_a_huge_field_is_echoed_bounded_and_on_one_line(tmp_path):
    (tmp_path / "train.txt").write_text("a.mp4," + "1" * 10_000 + ",text\n")
    with pytest.raises(CorpusError) as caught:
        read_bah_corpus(tmp_path, {"train": "train.txt"})
    problem = one_problem(caught)
    assert problem.startswith(f"{tmp_path / 'train.txt'}:1: label must be 0 (no A/H) or 1 (A/H)")
    assert f"got '{'1' * 80}'...;" in problem
    assert len(problem) - len(str(tmp_path)) < 200 and "\n" not in problem

    # a quoted CSV cell or column name may hold a line break: it is shown escaped
    (tmp_path / "m.csv").write_text(
        'video_path,split,"bad\ncolumn"\na.mp4,"' + "w\n" * 5_000 + '"\n'
    )
    with pytest.raises(CorpusError) as caught:
        read_csv_manifest(tmp_path / "m.csv", tmp_path)
    unknown, split = caught.value.problems
    assert unknown.startswith(f"{tmp_path / 'm.csv'}:1: unknown column(s) 'bad\\ncolumn'; ")
    assert split.startswith(f"{tmp_path / 'm.csv'}:") and "split must be one of" in split
    assert "got '" + "w\\n" * 40 + "'..." in split
    for problem in (unknown, split):
        assert len(problem) - len(str(tmp_path)) < 200 and "\n" not in problem


def test_a_path_too_long_for_the_system_names_the_line(tmp_path):
    long_path = "a/" * 3000 + "x.mp4"  # over PATH_MAX (4,096) on Linux and macOS
    (tmp_path / "train.txt").write_text(f"ok.mp4,0\n{long_path},1\n")
    with pytest.raises(CorpusError) as caught:  # the transcript beside it is looked up
        read_bah_corpus(tmp_path, {"train": "train.txt"})
    problem = one_problem(caught)
    assert problem.startswith(f"{tmp_path / 'train.txt'}:2: cannot look up the video 'a/a/")
    assert "(path too long for this system)" in problem
    assert len(problem) < 1_000 and "\n" not in problem

    # without transcripts to look up, the manifest's check names the line
    records = read_bah_corpus(tmp_path, {"train": "train.txt"}, timestamped_transcripts=False)
    problems = validate_records(records, required_splits=())
    too_long = [p for p in problems if ":2:" in p]
    assert len(too_long) == 1, problems
    assert too_long[0].startswith(
        f"{tmp_path / 'train.txt'}:2: cannot look up the video (path too long for this system): "
    )
    assert len(too_long[0]) < 1_000


# --- audio-only recordings in every list, and what a folder leaves out ------------------


def _audio_corpus(root: Path) -> None:
    """Two videos for train and val, and test recordings that are audio only."""
    make_video(root / "Videos/P1/V1/a.mp4", seconds=0.6)
    make_video(root / "Videos/P2/V1/b.mp4", seconds=0.6, seed=2)
    for suffix in (".wav", ".flac", ".mp3", ".m4a"):
        make_audio(root / f"Videos/P3/V1/call{suffix}")


AUDIO_TEST = [f"Videos/P3/V1/call{s}" for s in (".wav", ".flac", ".mp3", ".m4a")]


@pytest.mark.parametrize("kind", ["bah", "csv", "new videos: csv", "new videos: folder"])
def test_every_list_takes_audio_only_recordings(tmp_path, kind):
    _audio_corpus(tmp_path)
    required: tuple[str, ...] = ("train", "val")
    if kind == "bah":
        (tmp_path / "train.txt").write_text("Videos/P1/V1/a.mp4,1,x\n")
        (tmp_path / "val.txt").write_text("Videos/P2/V1/b.mp4,0,y\n")
        (tmp_path / "test.txt").write_text("".join(f"{p},1,\n" for p in AUDIO_TEST))
        records = read_bah_corpus(tmp_path, SPLITS)
    elif kind == "csv":
        lines = ["video_path,split,label", "Videos/P1/V1/a.mp4,train,1", "Videos/P2/V1/b.mp4,val,0"]
        lines += [f"{p},test,1" for p in AUDIO_TEST]
        (tmp_path / "corpus.csv").write_text("\n".join(lines) + "\n")
        records = read_csv_manifest(tmp_path / "corpus.csv")
    elif kind == "new videos: csv":
        (tmp_path / "list.csv").write_text("video_path\n" + "\n".join(AUDIO_TEST) + "\n")
        records, required = read_new_videos(tmp_path / "list.csv"), ()
    else:
        records, required = read_new_videos(tmp_path / "Videos/P3"), ()
    manifest = build_manifest(records, n_shards=1, workers=2, required_splits=required)
    audio = manifest[manifest["video_path"].str.contains("call")].set_index("video_path")
    assert sorted(audio.index) == sorted(
        p.removeprefix("Videos/P3/") if "folder" in kind else p for p in AUDIO_TEST
    )
    assert audio["readable"].all() and audio["has_audio"].all(), audio
    assert not audio["has_video"].any() and audio["problem"].isna().all()


def test_a_folder_logs_every_file_it_leaves_out_and_why(tmp_path, caplog):
    for name in ("a.mp4", "call.WAV", "sub/memo.m4a", "notes.txt", "README", ".DS_Store",
                 "._a.mp4", ".cache/x.mp4", "sub/scan.pdf", "sub/take.3gp"):  # fmt: skip
        touch(tmp_path, name)
    (tmp_path / "elsewhere").symlink_to(tmp_path / "sub", target_is_directory=True)
    with caplog.at_level(logging.INFO, logger="ahrec.corpus.new_videos"):
        records = read_new_videos(tmp_path)
    assert [r.video_path for r in records] == ["a.mp4", "call.WAV", "sub/memo.m4a", "sub/take.3gp"]
    lines = [r.getMessage() for r in caplog.records]
    assert all(r.levelno == logging.INFO for r in caplog.records)  # files beside the videos
    assert lines == [
        f"{tmp_path}: 7 file(s) or folder(s) skipped, not predicted (recordings are "
        + ", ".join(MEDIA_SUFFIXES)
        + "):",
        "  skipped '.DS_Store': a hidden file",
        "  skipped '._a.mp4': a hidden file",
        "  skipped '.cache': a hidden folder, not searched",
        "  skipped 'README': no suffix: not a video or audio file",
        "  skipped 'elsewhere': a link to a folder, not followed",
        "  skipped 'notes.txt': '.txt' is not a video or audio suffix",
        "  skipped 'sub/scan.pdf': '.pdf' is not a video or audio suffix",
    ]


def test_many_skipped_files_are_named_up_to_a_limit_then_counted(tmp_path):
    ignored = [(f"page{n:03d}.pdf", "'.pdf' is not a video or audio suffix") for n in range(25)]
    ignored += [(".DS_Store", "a hidden file")]
    lines = skipped_lines(tmp_path, ignored, limit=20)
    assert len(lines) == 22 and lines[0].startswith(f"{tmp_path}: 26 file(s)")
    assert lines[1] == "  skipped 'page000.pdf': '.pdf' is not a video or audio suffix"
    assert lines[-1] == "  and 6 more (5 '.pdf' is not a video or audio suffix; 1 a hidden file)"
    assert skipped_lines(tmp_path, []) == []


def test_a_folder_without_recordings_says_what_it_looked_for(tmp_path):
    touch(tmp_path, "notes.txt")
    with pytest.raises(CorpusError) as caught:
        read_new_videos(tmp_path)
    (problem,) = caught.value.problems
    assert "no videos found" in problem and ".wav" in problem and ".m4a" in problem
    assert problem.endswith("; 1 skipped, listed in the log")
