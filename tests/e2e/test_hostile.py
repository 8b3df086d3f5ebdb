"""The workflow on a hostile corpus, and what it does with each problem.

Media problems (corrupt, truncated, empty, mute, silent, faceless, short,
long, odd, portrait, odd names) must not stop the run: the affected
modalities are marked unavailable with a reason, the fusion masks them, and
every test-list entry gets exactly one row in the submission. Split-file
problems must stop the run with one message naming the file, the line and the
fix.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from ahrec.corpus.bah import parse_split_line, read_text_lines
from ahrec.corpus.formats import read_corpus
from ahrec.corpus.manifest import build_manifest, read_manifest
from ahrec.embeddings.table import read_embeddings
from ahrec.errors import CorpusError
from tests.e2e.workflow import snakemake, write_config
from tests.hostile import FATAL_LINES, add_hostile_videos, copy_corpus

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture(scope="module")
def hostile_run(default_run, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("hostile-run")
    corpus = copy_corpus(default_run / "results" / "demo_corpus", workdir / "corpus")
    cases = add_hostile_videos(corpus)
    # the submitted run alone: what the tests read is the media, embeddings and its fusion
    write_config(workdir, {"corpus": {"type": "bah", "root": str(corpus)}}, runs=["fusion_proto"])
    snakemake(workdir)
    return workdir, corpus, {case.name: case for case in cases}


def listed(corpus: Path, split: str) -> list[str]:
    return [
        parse_split_line(line)[0]
        for line in read_text_lines(corpus / f"{split}.txt")
        if line.strip()
    ]


def test_every_test_entry_gets_exactly_one_row(hostile_run):
    workdir, corpus, _ = hostile_run
    submission = pd.read_csv(workdir / "results" / "submission.csv")
    assert list(submission["video_path"]) == listed(corpus, "test")  # unicode, quotes, dashes kept
    assert submission["label"].isin([0, 1]).all()
    assert submission[["prob_no_ah", "prob_ah"]].notna().all().all()


def test_manifest_keeps_and_reports_unreadable_videos(hostile_run):
    workdir, _, cases = hostile_run
    manifest = read_manifest(workdir / "results" / "manifest.parquet").set_index("video_path")
    for case in cases.values():
        row = manifest.loc[case.video_path]
        assert bool(row["readable"]) == case.expect_readable, case.name
    assert "empty file" in manifest.loc[cases["zero-length"].video_path, "problem"]
    assert not manifest.loc[cases["no audio track"].video_path, "has_audio"]
    assert manifest.loc[cases["59.94 fps"].video_path, "fps"] == pytest.approx(59.94, abs=0.01)
    assert (
        manifest.loc[cases["portrait"].video_path, "height"]
        > manifest.loc[cases["portrait"].video_path, "width"]
    )
    report = pd.read_csv(workdir / "results" / "manifest_report.csv")
    issues = report.groupby("video_path")["issue"].apply(" | ".join)
    assert issues[cases["corrupt"].video_path].startswith("unreadable")
    assert "no audio track" in issues[cases["no audio track"].video_path]
    assert "no transcript" in issues[cases["silent audio"].video_path]  # empty transcript field
    assert "no transcript" in issues[cases["59.94 fps"].video_path]  # no transcript field at all


def test_unusable_media_become_unavailable_rows_with_reasons(hostile_run):
    workdir, _, cases = hostile_run
    results = workdir / "results"
    ids = read_manifest(results / "manifest.parquet").set_index("video_path")["video_id"]

    def row(table: str, case: str) -> tuple[bool, str | None]:
        embeddings = read_embeddings(results / "embeddings" / f"{table}.parquet")
        i = embeddings.index()[ids[cases[case].video_path]]
        return bool(embeddings.available[i]), embeddings.reasons[i]

    for table in ("scene/motion", "face/hog", "audio/egemaps"):
        available, reason = row(table, "corrupt")
        assert not available and "unreadable" in reason, table
        assert not row(table, "zero-length")[0], table
    assert row("audio/egemaps", "no audio track") == (False, "no audio track")
    assert row("face/hog", "no face")[0]  # whole frames stand in...
    availability = pd.read_csv(results / "availability.csv")
    no_face = availability[
        (availability["video_path"] == cases["no face"].video_path)
        & (availability["modality"] == "face")
    ]
    assert (no_face["reason"] == "no face found: whole frames used").all()  # ...and it is said
    for case in (
        "very short",
        "long",
        "odd rate and size",
        "portrait",
        "truncated",
        "unicode",
        "leading dash",
    ):
        for table in ("scene/motion", "face/hog"):
            assert row(table, case)[0], (case, table)
    assert row("text/minilm", "corrupt")[0]  # the listed transcript still counts
    available, reason = row("text/minilm", "silent audio")
    assert not available and "silent" in reason  # no transcript and nothing to recognise


def test_fused_predictions_use_what_remains(hostile_run):
    workdir, _, cases = hostile_run
    results = workdir / "results"
    ids = read_manifest(results / "manifest.parquet").set_index("video_path")["video_id"]
    ensemble = pd.read_parquet(
        results / "fusion" / "fusion_proto" / "ensemble" / "predictions.parquet"
    )
    ensemble = ensemble.set_index("video_id")
    corrupt = ensemble.loc[ids[cases["corrupt"].video_path]]
    assert corrupt["available"]  # the corrupt video still has its listed transcript: text alone
    assert ensemble["available"].all()


@pytest.mark.parametrize("case", FATAL_LINES, ids=[c[0] for c in FATAL_LINES])
def test_bad_split_lines_stop_with_file_line_and_fix(default_run, tmp_path, case):
    _, line, expected = case
    corpus = copy_corpus(default_run / "results" / "demo_corpus", tmp_path / "corpus")
    existing = listed(corpus, "test")[0]
    lines = [line for line in read_text_lines(corpus / "test.txt") if line.strip()]
    lines.append(line.format(video=existing))
    (corpus / "test.txt").write_text("\n".join(lines) + "\n")
    config = {
        "type": "bah",
        "root": str(corpus),
        "split_files": {s: f"{s}.txt" for s in ("train", "val", "test")},
    }
    with pytest.raises(CorpusError) as caught:
        build_manifest(read_corpus(config), n_shards=2)
    message = str(caught.value)
    assert expected in message
    assert f"test.txt:{len(lines)}" in message  # the file and the line


def test_participant_in_two_splits_is_refused(default_run, tmp_path):
    corpus = copy_corpus(default_run / "results" / "demo_corpus", tmp_path / "corpus")
    train_video = listed(corpus, "train")[0]
    participant = train_video.split("/")[1]
    leaked = f"Videos/{participant}/Visite_1/{participant}_Question_9_leak.mp4"
    (corpus / leaked).write_bytes((corpus / train_video).read_bytes())
    with open(corpus / "test.txt", "a") as handle:
        handle.write(f"{leaked},1,leak\n")
    config = {
        "type": "bah",
        "root": str(corpus),
        "split_files": {s: f"{s}.txt" for s in ("train", "val", "test")},
    }
    with pytest.raises(
        CorpusError, match=f"participant '{participant}' appears in more than one split"
    ):
        build_manifest(read_corpus(config), n_shards=2)


def test_a_bad_corpus_stops_the_workflow_with_the_message(default_run, tmp_path):
    corpus = copy_corpus(default_run / "results" / "demo_corpus", tmp_path / "corpus")
    with open(corpus / "val.txt", "a") as handle:
        handle.write("../../etc/passwd,1,escape\n")
    workdir = tmp_path / "run"
    workdir.mkdir()
    write_config(workdir, {"corpus": {"type": "bah", "root": str(corpus)}})
    with pytest.raises(AssertionError) as caught:
        snakemake(workdir, "--until", "manifest")
    assert "val.txt:3: path '../../etc/passwd' is outside the corpus root" in str(caught.value)
