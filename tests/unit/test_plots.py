"""The report's figures: the numbers behind them, and files that open, with or without labels."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ahrec.corpus.manifest import write_manifest
from ahrec.devtools.manifests import manifest_frame as complete_manifest
from ahrec.evaluation.evaluate import evaluate
from ahrec.evaluation.table import TABLE_COLUMNS
from ahrec.reporting import plots
from ahrec.reporting.html import results_table_html
from ahrec.reporting.steps import plot_availability, plot_resources, plot_results
from ahrec.reporting.summaries import (
    Curves,
    availability_counts,
    confusion_counts,
    curves,
    seed_scores,
    short_reason,
    with_labels,
)
from ahrec.training.predictions import predictions_frame, write_predictions

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
REPO = Path(__file__).resolve().parents[2]


# --- fixtures ---------------------------------------------------------------


def manifest_frame(test_labels: bool = True) -> pd.DataFrame:
    """4 train, 6 val, 4 test videos; labels alternate 0/1 (test ones null when asked)."""
    rows = []
    for split, n in (("train", 4), ("val", 6), ("test", 4)):
        for i in range(n):
            label = i % 2 if split != "test" or test_labels else None
            rows.append(
                {
                    "video_id": f"{split}{i}",
                    "video_path": f"Videos/P{split}{i}/q.mp4",
                    "split": split,
                    "label": label,
                    "participant": f"P{split}{i}",
                    "list_order": i,
                }
            )
    return complete_manifest(rows)


def predictions(manifest: pd.DataFrame, wrong: set[str], confidence: float = 0.8) -> pd.DataFrame:
    """Each video predicted right (P = confidence on its true class) except those in ``wrong``.

    Unlabelled videos are predicted as class 1.
    """
    ids = list(manifest["video_id"])
    proba = np.zeros((len(ids), 2), np.float32)
    for i, (video_id, label) in enumerate(zip(ids, manifest["label"], strict=True)):
        truth = 1 if pd.isna(label) else int(label)
        guess = 1 - truth if video_id in wrong else truth
        proba[i, guess] = confidence
        proba[i, 1 - guess] = 1 - confidence
    available = np.ones(len(ids), bool)
    return predictions_frame(ids, list(manifest["split"]), proba, available, ["m"] * len(ids))


def svg_texts(path) -> list[str]:
    """The strings drawn in a matplotlib SVG (text is drawn as paths, each with its string as a comment)."""
    return re.findall(r"<!-- (.*?) -->", path.read_text())


def assert_svg(path) -> None:
    root = ET.parse(path).getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert float(root.get("width").removesuffix("pt")) > 100


def write_run(tmp_path, manifest: pd.DataFrame, seeds=(42, 7, 9)) -> dict:
    """Seed and ensemble predictions of one fusion run on disk, as report_runs() describes them."""
    manifest_path = tmp_path / "manifest.parquet"
    write_manifest(manifest, manifest_path)
    run = {"run": "fusion_proto", "label": "Fusion with prototypes", "seeds": {}}
    wrong_by_seed = {42: {"val0"}, 7: {"val0", "val1"}, 9: set()}
    for seed in seeds:
        path = tmp_path / f"seed{seed}.parquet"
        write_predictions(predictions(manifest, wrong_by_seed[seed]), path)
        run["seeds"][seed] = str(path)
    ensemble = tmp_path / "ensemble.parquet"
    write_predictions(predictions(manifest, {"val0", "test1"}), ensemble)
    run["ensemble"] = str(ensemble)
    return {"manifest": manifest_path, "run": run}


def results_table(tmp_path, test: bool = True):
    """A results table as the table step writes it (intervals, a paired difference, a ceiling)."""
    rows = [
        (1, "Face + MLP", "unimodal", "face", "face_mlp", 70.0, 60.0),
        (2, "Text + MLP", "unimodal", "text", "text_minilm", 75.0, 55.0),
        (3, "Fusion (seed 42)", "fusion", "face+text", "1, 2", 80.0, 65.0),
        (4, "Fusion, ensemble of 3 seeds", "ensemble", "face+text", "1, 2", 82.5, 70.0),
        (5, "Ablation: face (seed 42)", "ablation", "face", "1", 71.0, 58.0),
    ]
    frame = pd.DataFrame(
        rows, columns=["id", "system", "kind", "modality", "models", "val_mf1", "test_mf1"]
    )
    frame = frame.reindex(columns=TABLE_COLUMNS)
    for split in ("val", "test"):
        frame[f"{split}_low"] = frame[f"{split}_mf1"] - 8.0
        frame[f"{split}_high"] = frame[f"{split}_mf1"] + 6.0
    frame.loc[3, ["seeds_test_mean", "seeds_test_std"]] = [66.0, 2.5]
    frame.loc[
        2,
        ["vs_best_unimodal", "vs_best_unimodal_low", "vs_best_unimodal_high", "vs_best_unimodal_p"],
    ] = [
        -5.0,
        -12.0,
        2.0,
        0.21,
    ]
    frame["ceiling_test"] = 90.0
    frame["recovered_test"] = (100 * frame["test_mf1"] / 90.0).round(1)
    if not test:
        frame[
            [
                c
                for c in TABLE_COLUMNS
                if c.startswith(("test_", "vs_", "ceiling", "recovered", "seeds_test"))
            ]
        ] = None
    frame["average_mf1"] = (frame["val_mf1"] + frame["test_mf1"]) / 2 if test else None
    path = tmp_path / "table.csv"
    frame.to_csv(path, index=False)
    (tmp_path / "table.json").write_text(
        json.dumps(
            {
                "comparisons": [
                    "Fusion (seed 42) vs the best unimodal model (Text + MLP): not significantly different"
                ]
            }
        )
    )
    return path


# --- numbers ----------------------------------------------------------------


def test_confusion_counts_follow_the_manifest_labels():
    manifest = manifest_frame()
    frame = with_labels(predictions(manifest, {"val0", "val3", "val5"}), manifest)
    counts = confusion_counts(frame, "val")
    # val labels 0,1,0,1,0,1; val0 (true 0) -> 1, val3 and val5 (true 1) -> 0
    assert counts.tolist() == [[2, 1], [2, 1]]
    assert counts.sum() == 6
    assert confusion_counts(frame, "test").tolist() == [[2, 0], [0, 2]]


def test_no_test_labels_gives_no_confusion_and_no_curves():
    manifest = manifest_frame(test_labels=False)
    frame = with_labels(predictions(manifest, set()), manifest)
    assert confusion_counts(frame, "test") is None
    assert curves(frame, "test") == "no labels"
    assert isinstance(curves(frame, "val"), Curves)


def test_labels_come_from_the_manifest_not_the_predictions():
    manifest = manifest_frame()
    table = predictions(manifest, set())
    table["split"] = "train"  # a prediction table's split is not trusted
    frame = with_labels(table, manifest)
    assert confusion_counts(frame, "val").sum() == 6


def test_curves_of_perfect_and_one_class_splits():
    manifest = manifest_frame()
    frame = with_labels(predictions(manifest, set()), manifest)
    result = curves(frame, "val")
    assert isinstance(result, Curves)
    assert result.roc_auc == pytest.approx(1.0)
    assert result.average_precision == pytest.approx(1.0)
    assert (result.n, result.positives) == (6, 3)
    one_class = frame[~((frame["split"] == "val") & (frame["label"] == 1))]
    assert curves(one_class, "val") == "one class only"


def test_seed_scores_equal_the_metrics_step():
    manifest = manifest_frame()
    members = {
        ("run", "seed1"): predictions(manifest, {"val0"}),
        ("run", "seed2"): predictions(manifest, {"val0", "val1", "test2"}),
        ("run", "ensemble"): predictions(manifest, set()),
    }
    scores = seed_scores([{"run": "run", "label": "Run"}], members, manifest)
    assert len(scores) == 6  # 3 members x (val, test)
    for (_, member), frame in members.items():
        metrics = evaluate(frame, manifest)
        for split in ("val", "test"):
            row = scores[(scores["member"] == member) & (scores["split"] == split)]
            assert row["mf1"].item() == pytest.approx(100 * metrics[f"{split}_mf1"], abs=0.01)
    assert scores.loc[scores["member"] == "ensemble", "mf1"].tolist() == [100.0, 100.0]


def test_seed_scores_skip_a_split_without_labels():
    manifest = manifest_frame(test_labels=False)
    members = {("run", "seed1"): predictions(manifest, set())}
    scores = seed_scores([{"run": "run"}], members, manifest)
    assert scores["split"].tolist() == ["val"]


def availability_frame() -> pd.DataFrame:
    rows = []
    for split, n in (("train", 5), ("test", 3)):
        for i in range(n):
            video = f"{split}{i}"
            audio_reason = "no audio track" if (split, i) in {("train", 0), ("test", 2)} else None
            face_reason = "no face found: whole frames used" if (split, i) == ("train", 1) else None
            text_reason = "no transcript and silent audio" if (split, i) == ("test", 0) else None
            if (split, i) == ("train", 4):
                audio_reason = "unreadable: moov atom not found"
            for modality, encoder, reason, available in (
                ("audio", "egemaps", audio_reason, audio_reason is None),
                ("face", "hog", face_reason, True),
                ("text", "minilm", text_reason, text_reason is None),
            ):
                rows.append((video, f"{video}.mp4", split, modality, encoder, available, reason))
    columns = ["video_id", "video_path", "split", "modality", "encoder", "available", "reason"]
    return pd.DataFrame(rows, columns=columns)


def test_availability_counts_per_split_and_reason():
    counts = availability_counts(availability_frame())
    assert counts["split"].drop_duplicates().tolist() == ["train", "test"]  # split order
    indexed = counts.set_index(["split", "modality", "status"])["videos"]
    assert indexed[("train", "audio", "no audio track")] == 1
    assert indexed[("train", "audio", "unreadable")] == 1  # the detail after ":" is dropped
    assert indexed[("train", "audio", "available")] == 3
    assert indexed[("test", "audio", "no audio track")] == 1
    assert indexed[("test", "text", "no transcript and silent audio")] == 1
    assert indexed[("train", "face", "no face found")] == 1
    stand_in = counts[(counts["status"] == "no face found")]
    assert stand_in["available"].all()  # whole frames stood in: not lost
    lost = counts[~counts["available"]].groupby("split")["videos"].sum()
    assert lost.to_dict() == {"test": 2, "train": 2}
    # every video of every table is counted once
    totals = counts.groupby(["split", "modality"])["videos"].sum()
    assert set(totals.loc["train"]) == {5} and set(totals.loc["test"]) == {3}


def test_short_reason():
    assert short_reason("unreadable: no video stream") == "unreadable"
    assert short_reason(None) == "" and short_reason(float("nan")) == ""


# --- figures ----------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("test_labels", [True, False])
def test_plot_results_writes_every_figure(tmp_path, test_labels):
    data = write_run(tmp_path, manifest_frame(test_labels=test_labels))
    table = results_table(tmp_path, test=test_labels)
    out = tmp_path / "plots"
    plot_results(
        table,
        tmp_path / "table.json",
        data["manifest"],
        [data["run"]],
        out / "table.html",
        out / "mf1.svg",
        out / "seeds.svg",
        [out / "confusion" / "fusion_proto.svg"],
        [out / "curves" / "fusion_proto.svg"],
    )
    for name in ("mf1", "seeds", "confusion/fusion_proto", "curves/fusion_proto"):
        assert_svg(out / f"{name}.svg")
    confusion = svg_texts(out / "confusion" / "fusion_proto.svg")
    assert "val (n = 6, 5 correct)" in confusion  # the ensemble got val0 wrong
    curves_text = svg_texts(out / "curves" / "fusion_proto.svg")
    seeds = svg_texts(out / "seeds.svg")
    if test_labels:
        assert "test (n = 4, 3 correct)" in confusion
        assert any(t.startswith("test (n = 4): AUC") for t in curves_text)
        assert "no labels" not in seeds
    else:
        assert confusion.count("no labels") == 1  # the test panel only
        assert "test: no labels" in curves_text
        assert "no labels" in seeds  # the test panel
        assert "Validation MF1 per system (no test labels)" in svg_texts(out / "mf1.svg")
    page = (out / "table.html").read_text()
    assert page.count("<tr>") == 6  # header + 5 systems
    assert "Ablation: face (seed 42)" in page and ">ablation<" in page
    assert ("n/a" in page) is not test_labels
    assert "Paired comparisons on test" in page and "not significantly different" in page
    mf1 = svg_texts(out / "mf1.svg")
    if test_labels:
        assert "Test MF1 per system" in mf1 and "ceiling (planted cues)" in mf1
        assert "validation MF1" in mf1  # the selection score's markers


def test_results_table_html_marks_the_best_and_escapes(tmp_path):
    table = pd.read_csv(results_table(tmp_path))
    table.loc[0, "system"] = "Face <HOG> & MLP"
    page = results_table_html(table, pd.Series(["unimodal"] * 5))
    assert "Face &lt;HOG&gt; &amp; MLP" in page
    assert '<td class="num best">82.50 <small>[74.5, 88.5]</small></td>' in page  # best val MF1
    assert '<td class="num best">70.00 <small>[62.0, 76.0]</small></td>' in page  # best test MF1
    assert "66.0 &plusmn; 2.5" in page  # the ensemble's seeds
    assert "-5.0 <small>[-12.0, +2.0], p=0.210</small>" in page  # not significant: no star
    assert "90.0 (78%)" in page  # the ensemble's ceiling and recovered share
    table.loc[1, ["ceiling_test", "recovered_test"]] = [0.0, None]  # a ceiling of 0: no share
    assert '<td class="num">0.0</td>' in results_table_html(table, pd.Series(["unimodal"] * 5))
    # the probability metrics, where the table has them, with their intervals
    table.loc[0, ["test_auroc", "test_auroc_low", "test_auroc_high"]] = [81.2, 70.1, 90.3]
    table.loc[0, ["test_ece", "test_ece_low", "test_ece_high"]] = [12.5, 8.0, 17.0]
    table.loc[0, ["test_ece_calibrated", "test_ece_calibrated_low", "test_ece_calibrated_high"]] = [
        4.5,
        2.0,
        8.0,
    ]
    page = results_table_html(table, pd.Series(["unimodal"] * 5), title="Results")
    assert "<h1>Results</h1>" in page and "Test AUROC [95% CI]" in page
    assert "81.2 <small>[70.1, 90.3]</small>" in page
    assert "12.5 <small>[8.0, 17.0]</small> &rarr; 4.5 <small>[2.0, 8.0]</small>" in page


def test_figures_save_as_png_too(tmp_path):
    counts = np.array([[3, 1], [0, 4]])
    out = plots.confusion_matrices({"val": counts, "test": None}, "run", tmp_path / "c.png")
    data = out.read_bytes()
    assert data.startswith(PNG_SIGNATURE)
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert width > 300 and height > 200
    with pytest.raises(ValueError, match="svg or .png"):
        plots.confusion_matrices({"val": counts}, "run", tmp_path / "c.pdf")


def test_svg_is_byte_identical_on_a_rerun(tmp_path):
    counts = np.array([[3, 1], [0, 4]])
    first = plots.confusion_matrices({"val": counts}, "run", tmp_path / "a.svg").read_bytes()
    second = plots.confusion_matrices({"val": counts}, "run", tmp_path / "b.svg").read_bytes()
    assert first == second


def test_seed_spread_without_multi_seed_runs(tmp_path):
    out = plots.seed_spread(
        pd.DataFrame(columns=["run", "member", "split", "mf1"]), [], tmp_path / "s.svg"
    )
    assert svg_texts(out).count("no fusion run has several seeds") == 2


def test_plot_availability(tmp_path):
    path = tmp_path / "availability.csv"
    availability_frame().to_csv(path, index=False)
    counts = plot_availability(path, tmp_path / "availability.svg")
    assert_svg(tmp_path / "availability.svg")
    texts = svg_texts(tmp_path / "availability.svg")
    assert "train (5 videos)" in texts and "test (3 videos)" in texts
    assert "no face found (stand-in used)" in texts and "unreadable" in texts
    assert " 2 lost" in texts  # train audio: no audio track + unreadable
    assert int(counts["videos"].sum()) == 8 * 3


def test_plot_availability_of_an_empty_table(tmp_path):
    path = tmp_path / "availability.csv"
    path.write_text("video_id,video_path,split,modality,encoder,available,reason\n")
    plot_availability(path, tmp_path / "a.svg")
    assert "no embedding tables" in svg_texts(tmp_path / "a.svg")


def test_plot_resources_from_benchmark_files(tmp_path):
    header = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"
    folder = tmp_path / "benchmarks"
    for rule, job, seconds, rss in (
        ("fusion", "r/seed1", 4.0, 900.0),
        ("fusion", "r/seed2", 6.0, 950.0),
        ("faces", "shard-0", 12.5, 240.0),
    ):
        path = folder / rule / f"{job}.tsv"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            header + f"{seconds}\t0:00:0{int(seconds) % 10}\t{rss}\t0\t0\t0\t0\t0\t50\t1.0\n"
        )
    summary = plot_resources(folder, tmp_path / "resources.svg")
    assert summary.loc["fusion", "jobs"] == 2 and summary.loc["fusion", "total_s"] == 10.0
    assert summary.loc["fusion", "peak_rss_mb"] == 950.0
    texts = svg_texts(tmp_path / "resources.svg")
    assert " 10.0 s, 2 job(s)" in texts and " 950 MB" in texts


def test_plot_resources_without_benchmarks(tmp_path):
    plot_resources(tmp_path / "missing", tmp_path / "r.svg")
    assert "no benchmark files" in svg_texts(tmp_path / "r.svg")


def test_every_report_caption_exists():
    rules = (REPO / "rules" / "report.smk").read_text()
    captions = set(re.findall(r'"\.\./report/(\w+\.rst)"', rules))
    assert len(captions) == 10
    for caption in captions:
        assert (REPO / "report" / caption).read_text().strip()
    assert 'report: "report/workflow.rst"' in (REPO / "Snakefile").read_text()
    assert (REPO / "report" / "workflow.rst").read_text().strip()
