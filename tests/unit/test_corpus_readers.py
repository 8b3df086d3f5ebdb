"""BAH split files and CSV manifests: the formats real corpora come in."""

from pathlib import Path

import pytest
import yaml

from ahrec.corpus.bah import parse_split_line, read_bah_corpus, read_split_file
from ahrec.corpus.csv_manifest import read_csv_manifest
from ahrec.corpus.records import participant_from_path, resolve_inside, shard_for, video_id_for
from ahrec.errors import CorpusError

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
