"""Edit config.yaml (or the corpus) after a full run: exactly the dependent jobs rerun.

Every rule's params hold the slice of config it reads, so Snakemake's params
rerun trigger reruns what an edit touches and nothing else. Config edits are
checked with dry runs (the plan Snakemake would execute); adding a video is
run for real, because the manifest is a checkpoint whose new jobs a dry run
cannot see.
"""

from __future__ import annotations

import subprocess

import pandas as pd
import pytest

from ahrec.corpus.bah import parse_split_line, read_text_lines
from ahrec.corpus.manifest import read_manifest
from ahrec.corpus.records import video_id_for
from tests.e2e.workflow import (
    ENSEMBLE_RUNS,
    copy_run,
    edit_config,
    executed_jobs,
    lean_copy,
    planned_jobs,
    snakemake,
)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

AUDIO_TEXT_SCENE_RULES = {
    "audio",
    "transcripts",
    "transcripts_table",
    "scene_frames",
    "embed_scene",
    "embed_audio",
    "embed_text",
    "embed_tfidf",
}


MEDIA_KINDS = (("scene_frames", "npz"), ("face_frames", "npz"), ("audio", "wav"))


def test_untouched_rerun_plans_nothing(default_run, tmp_path):
    assert planned_jobs(copy_run(default_run, tmp_path / "run")) == {}


def test_fusion_hyperparameter_edit_reruns_only_that_run(default_run, tmp_path):
    workdir = copy_run(default_run, tmp_path / "run")
    edit_config(workdir, {"fusion": {"runs": {"fusion": {"params": {"dropout": 0.25}}}}})
    seeds = 2  # the tiny run's fusion.seeds
    assert planned_jobs(workdir) == {
        "fusion_seed": seeds,
        "fusion_predict": seeds,
        "fusion_ensemble": 1,
        "evaluate_fusion": 2,  # the table reports the first seed and the ensemble
        "select_run": 1,  # the choice of the submitted run sees every run's predictions
        "table": 1,
        "submission": 1,
        "calibrate": 1,  # that run's calibration map
        "explain": 1,  # reads every run's models (which one is submitted is known at run time)
        "plot_results": 1,  # the report's figures of the table and the ensembles
        "plot_calibration": 1,  # every system's reliability diagram
        "plot_explanations": 1,
        "plot_resources": 1,  # comes after the table and the submission
    }


def test_face_setting_edit_reruns_the_face_chain_only(default_run, tmp_path):
    workdir = copy_run(default_run, tmp_path / "run")
    edit_config(workdir, {"face": {"n_frames": 12}})
    plan = planned_jobs(workdir)
    assert plan["face_frames"] == 2  # the face frames of every shard (so every video)...
    assert plan["faces"] == 2 and plan["embed_face"] == 2  # ...and the face chain rerun
    assert plan["unimodal"] == plan["unimodal_predict"] == 1  # face_mlp only
    assert plan["evaluate_unimodal"] == 1
    assert not AUDIO_TEXT_SCENE_RULES & set(plan), plan  # ...but scene, audio and text do not
    # the runs that fuse the face model, their ensembles, the search, table, submission
    # fusion, proto, tfidf x2, 6 ablations, tuned, the two late fusions
    assert plan["fusion_seed"] == plan["fusion_predict"] == 2 + 2 + 1 + 1 + 6 + 2 + 2
    assert {"search", "table", "submission"} <= set(plan)


def test_scene_setting_edit_leaves_the_face_chain_alone(default_run, tmp_path):
    workdir = copy_run(default_run, tmp_path / "run")
    edit_config(workdir, {"scene": {"n_frames": 8}})
    plan = planned_jobs(workdir, "embeddings")
    assert plan["scene_frames"] == 2 and plan["embed_scene"] == 2  # one job per shard
    face_audio = {"face_frames", "faces", "embed_face", "audio", "embed_audio", "transcripts"}
    assert not face_audio & set(plan), plan


def test_corpus_and_media_edit_together_plans_from_the_rebuilt_manifest(default_run, tmp_path):
    """A changed corpus list reruns the manifest checkpoint while media jobs wait on it."""
    workdir = copy_run(default_run, tmp_path / "run")
    test_list = workdir / "results" / "demo_corpus" / "test.txt"
    test_list.write_text(test_list.read_text() + "\n")  # same videos, a newer list
    edit_config(workdir, {"face": {"n_frames": 12}})
    plan = planned_jobs(workdir)
    # the jobs that read the manifest (the face chain's among them) are planned once it is
    # rebuilt: a dry run lists the checkpoint and the jobs waiting on it, and does not crash
    assert plan["manifest"] == 1 and plan["unimodal"] == 6, plan


def media_files(workdir):
    """Every per-video media file of the run, with its modification time."""
    media = workdir / "results" / "media"
    return {
        str(p.relative_to(media)): p.stat().st_mtime_ns
        for kind in ("scene_frames", "face_frames", "audio")
        for p in (media / kind).glob("*.*")
        if p.suffix in (".npz", ".wav")
    }


def trained_files(workdir):
    """What the training jobs wrote (models, selections, training predictions), with dates."""
    results = workdir / "results"
    files = [
        *results.glob("unimodal/*/fit/*.parquet"),
        *results.glob("unimodal/*/selection.json"),
        *results.glob("unimodal/*/model/*"),
        *results.glob("fusion/*/seed*/fit/predictions.parquet"),
        *results.glob("fusion/*/seed*/model/*"),
        *results.glob("search/*/best.yaml"),
        results / "labels" / "training.parquet",
    ]
    return {str(p.relative_to(results)): p.stat().st_mtime_ns for p in files if p.is_file()}


def test_adding_one_test_video_recomputes_its_shard_and_retrains_nothing(default_run, tmp_path):
    # every unimodal model, and the fusion runs with seed ensembles (every seed predicts)
    workdir = lean_copy(default_run, tmp_path / "run", ENSEMBLE_RUNS)
    trained = trained_files(workdir)
    assert len([f for f in trained if f.endswith("best.yaml")]) == 1, trained
    before = media_files(workdir)
    assert len(before) == 3 * 8
    corpus = workdir / "results" / "demo_corpus"
    test_list = corpus / "test.txt"
    lines = [line for line in read_text_lines(test_list) if line.strip()]
    source, label, transcript = parse_split_line(lines[0])
    new_path = "Videos/P099/Visite_1/P099_Question_1_2024-05-01_10-00-00_Video.mp4"
    (corpus / new_path).parent.mkdir(parents=True)
    # another recording of the same answer: the same streams, other bytes (a byte copy of a
    # test video is refused as one recording listed twice)
    subprocess.run(
        ["ffmpeg", "-loglevel", "error", "-i", str(corpus / source), "-c", "copy"]
        + ["-metadata", "comment=P099", str(corpus / new_path)],
        check=True,
    )
    test_list.write_text("\n".join([*lines, f"{new_path},{label},{transcript}"]) + "\n")
    result = snakemake(workdir, "embeddings")
    jobs = executed_jobs(result.stdout + result.stderr)
    manifest = read_manifest(workdir / "results" / "manifest.parquet")
    assert len(manifest) == 9
    media = (jobs["scene_frames"], jobs["face_frames"], jobs["audio"])
    assert media == (1, 1, 1)  # the new video's shard's media jobs...
    after = media_files(workdir)
    new = {f"{kind}/{video_id_for(new_path)}.{ext}" for kind, ext in MEDIA_KINDS}
    assert set(after) - set(before) == new, set(after) - set(before)
    assert {f: after[f] for f in before} == before  # ...which extracted the new video only
    for rule in ("faces", "embed_scene", "embed_face", "embed_audio", "embed_text", "transcripts"):
        assert jobs[rule] == 1, (rule, jobs)  # the new video's shard only
    # TF-IDF is one table fitted on the training split: it is recomputed as a whole
    assert jobs.get("embed_tfidf", 0) == 1
    assert planned_jobs(workdir, "embeddings") == {}
    # the rest of the run: the new test video is predicted; no model is trained again
    result = snakemake(workdir)
    jobs = executed_jobs(result.stdout + result.stderr)
    retrained = {"training_labels", "unimodal", "fusion_seed", "search"} & set(jobs)
    assert not retrained, jobs
    seeds = len(list((workdir / "results" / "fusion").glob("*/seed*/model")))
    assert jobs["unimodal_predict"] == 6 and jobs["fusion_predict"] == seeds, jobs
    assert trained_files(workdir) == trained  # every model file is the one trained before
    submission = pd.read_csv(workdir / "results" / "submission.csv")
    assert new_path in set(submission["video_path"]) and len(submission) == 3
