"""The results table in the paper's layout: every system's MF1, with its uncertainty.

Per system and labelled split: MF1 with a 95% participant-bootstrap interval
(resamples shared by every system, so comparisons are paired); for multi-seed
runs the mean and standard deviation of the single seeds beside the
ensemble; in CV selection the folds' mean MF1 and interval; for every fusion
and ablation row the paired difference on test against the best unimodal
model (chosen by the selection score, never by test) and against the
reference run, with its interval and p-value; and, on a demo corpus, each
system's ceiling: the MF1 of the Bayes-optimal reading of the cues planted
in its modalities, and how much of it the system recovers.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ahrec.evaluation.bootstrap import Difference, paired_difference, seed_spread
from ahrec.evaluation.scores import Scorer, labelled, with_truth
from ahrec.evaluation.settings import CalibrationSettings, EvaluationSettings
from ahrec.io import write_csv
from ahrec.metrics import macro_f1
from ahrec.training.predictions import COLUMNS as PREDICTION_COLUMNS
from ahrec.training.predictions import read_predictions

LOG = logging.getLogger(__name__)

EVALUATED = ("val", "test")
TABLE_COLUMNS = [
    "id",
    "system",
    "kind",
    "modality",
    "models",
    "val_mf1",
    "val_low",
    "val_high",
    "test_mf1",
    "test_low",
    "test_high",
    "average_mf1",
    "cv_mf1",
    "cv_low",
    "cv_high",
    "seeds_val_mean",
    "seeds_val_std",
    "seeds_test_mean",
    "seeds_test_std",
    "vs_best_unimodal",
    "vs_best_unimodal_low",
    "vs_best_unimodal_high",
    "vs_best_unimodal_p",
    "vs_reference",
    "vs_reference_low",
    "vs_reference_high",
    "vs_reference_p",
    "ceiling_test",
    "recovered_test",
]
# Probability metrics on test (x 100), each with its interval; Brier and ECE also after the
# system's calibration map (fitted on its validation or out-of-fold predictions).
PROBABILITY_COLUMNS = [
    f"test_{name}{suffix}"
    for name in ("auroc", "ap", "brier", "ece", "brier_calibrated", "ece_calibrated")
    for suffix in ("", "_low", "_high")
]
TABLE_COLUMNS += PROBABILITY_COLUMNS
# A ceiling: per video, the prediction of the Bayes-optimal reading of the planted cues
# of these modalities (None: not a demo corpus, no ceiling known).
CeilingFn = Callable[[Sequence[str]], np.ndarray]


def _percent(value: float | None, digits: int = 2) -> float | None:
    return None if value is None or value != value else round(100.0 * value, digits)


def results_table(
    rows: Sequence[Mapping[str, Any]],
    manifest: pd.DataFrame,
    out: str | Path,
    settings: EvaluationSettings | None = None,
    reference: str | None = None,
    ceiling: CeilingFn | None = None,
    out_json: str | Path | None = None,
    calibration: CalibrationSettings | None = None,
) -> pd.DataFrame:
    """One row per system (``rows`` from ``table_rows``); also the comparisons in words (JSON).

    ``reference`` is the run the fusion rows are compared with (the
    submitted one). The best unimodal model is the one with the best
    selection score (CV MF1 in cv selection, validation MF1 otherwise).
    """
    settings = settings or EvaluationSettings()
    calibration = calibration or CalibrationSettings()
    scorer = Scorer(manifest, settings)
    frames = {
        row["id"]: with_truth(read_predictions(row["predictions"]), manifest).reset_index(drop=True)
        for row in rows
    }
    estimates = {
        (row["id"], split): scorer.estimate(frames[row["id"]], split)
        for row in rows
        for split in EVALUATED
    }
    cv = {row["id"]: scorer.cv(frames[row["id"]]) for row in rows}

    def selection(row_id: int) -> float:
        score = cv[row_id]["mf1"] if cv[row_id] else estimates[(row_id, "val")].value
        return -1.0 if score is None else score

    unimodal = [row for row in rows if row["kind"] == "unimodal"]
    best = max(unimodal, key=lambda row: selection(row["id"])) if unimodal else None
    reference_row = _reference_row(rows, reference)
    records, sentences = [], []
    calibrated: dict[str, Any] = {}
    for row in rows:
        frame = frames[row["id"]]
        val, test = estimates[(row["id"], "val")], estimates[(row["id"], "test")]
        record: dict[str, Any] = {k: row[k] for k in ("id", "system", "kind", "modality", "models")}
        for split, estimate in (("val", val), ("test", test)):
            record[f"{split}_mf1"] = _percent(estimate.value)
            record[f"{split}_low"] = _percent(estimate.low)
            record[f"{split}_high"] = _percent(estimate.high)
        if val.value is not None and test.value is not None:
            record["average_mf1"] = _percent((val.value + test.value) / 2)
        if cv[row["id"]]:
            record.update(
                cv_mf1=_percent(cv[row["id"]]["mf1"]),
                cv_low=_percent(cv[row["id"]]["low"]),
                cv_high=_percent(cv[row["id"]]["high"]),
            )
        if row.get("seeds"):
            record.update(_seed_spread(row["seeds"], manifest))
        if row["kind"] != "unimodal":
            for name, other in (("vs_best_unimodal", best), ("vs_reference", reference_row)):
                if other is None or other["id"] == row["id"]:
                    continue
                difference = paired_difference(
                    test, estimates[(other["id"], "test")], settings.level
                )
                record.update(_difference(name, difference))
                sentence = _sentence(row, other, difference, settings.level, name)
                if sentence:
                    sentences.append(sentence)
        probability, after = _probability_columns(frame, manifest, scorer, settings, calibration)
        record.update(probability)
        if reference_row is not None and row["id"] == reference_row["id"]:
            calibrated = after
        if ceiling is not None:
            modalities = str(row["modality"]).split("+")
            bound = scorer.estimate(frame, "test", ceiling(modalities))
            if bound.value is not None and test.value is not None:
                record["ceiling_test"] = _percent(bound.value)
                record["recovered_test"] = _percent(
                    test.value / bound.value if bound.value else None, 1
                )
        records.append(record)
    table = pd.DataFrame(records, columns=TABLE_COLUMNS)
    write_csv(table, out)
    summary = {
        "best_unimodal": best["system"] if best else None,
        "reference": reference_row["system"] if reference_row else None,
        "selection": settings.selection,
        "bootstrap": {
            "resamples": settings.bootstrap,
            "seed": settings.bootstrap_seed,
            "level": settings.level,
        },
        "comparisons": sentences,
        "calibration": calibrated or None,
    }
    if out_json is not None:
        Path(out_json).write_text(json.dumps(summary, indent=2) + "\n")
    LOG.info(
        "results table:\n%s",
        table[["id", "system", "val_mf1", "test_mf1", "test_low", "test_high"]].to_string(
            index=False
        ),
    )
    LOG.info("paired comparisons on test:\n  %s", "\n  ".join(sentences) or "none")
    return table


def _probability_columns(
    frame: pd.DataFrame,
    manifest: pd.DataFrame,
    scorer: Scorer,
    settings: EvaluationSettings,
    calibration: CalibrationSettings,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A row's probability metrics on test, before and after its own calibration map.

    The map is fitted on the rows selection reads (validation, or out of
    fold), with their labels only: ``selection_rows`` never returns a test row.
    Also, for the reference run, the paired change in ECE and Brier on test.
    """
    from ahrec.evaluation.calibration import fit_system_calibration

    values: dict[str, Any] = {}
    before = scorer.probability(frame, "test", bins=calibration.bins)
    fitted = fit_system_calibration(
        frame[PREDICTION_COLUMNS], manifest[["video_id", "label"]], settings, calibration
    )
    mapped = fitted.apply(frame["proba_1"].to_numpy(np.float64))
    after = scorer.probability(frame, "test", mapped, bins=calibration.bins)
    estimates = {**before, **{f"{k}_calibrated": after[k] for k in ("brier", "ece")}}
    for name, estimate in estimates.items():
        values[f"test_{name}"] = _percent(estimate.value)
        values[f"test_{name}_low"] = _percent(estimate.low)
        values[f"test_{name}_high"] = _percent(estimate.high)
    summary: dict[str, Any] = {"map": fitted.to_dict()}
    for name in ("ece", "brier"):
        change = paired_difference(after[name], before[name], settings.level)
        summary[name] = {
            "before": _percent(before[name].value),
            "before_interval": [_percent(before[name].low), _percent(before[name].high)],
            "after": _percent(after[name].value),
            "after_interval": [_percent(after[name].low), _percent(after[name].high)],
            "change": _percent(change.value),
            "change_interval": [_percent(change.low), _percent(change.high)],
            "change_p": None if change.p_value is None else round(change.p_value, 4),
        }
    return values, summary


def _reference_row(rows: Sequence[Mapping[str, Any]], run: str | None) -> Mapping[str, Any] | None:
    """The reference run's ensemble row (its seed row when it has a single seed)."""
    mine = [row for row in rows if run is not None and row.get("run") == run]
    return next((r for r in mine if r["kind"] == "ensemble"), mine[0] if mine else None)


def _seed_spread(seed_predictions: Sequence[str], manifest: pd.DataFrame) -> dict[str, Any]:
    """Mean and standard deviation of the single seeds' MF1 per split."""
    frames = [with_truth(read_predictions(p), manifest) for p in seed_predictions]
    values: dict[str, Any] = {}
    for split in EVALUATED:
        scores = []
        for frame in frames:
            rows = labelled(frame, split)
            if len(rows):
                scores.append(
                    macro_f1(rows["label"].astype(int).to_numpy(), rows["prediction"].to_numpy())
                )
        mean, std = seed_spread(scores) if scores else (None, None)
        values[f"seeds_{split}_mean"] = _percent(mean)
        values[f"seeds_{split}_std"] = _percent(std)
    return values


def _difference(name: str, difference: Difference) -> dict[str, Any]:
    return {
        name: _percent(difference.value),
        f"{name}_low": _percent(difference.low),
        f"{name}_high": _percent(difference.high),
        f"{name}_p": None if difference.p_value is None else round(difference.p_value, 4),
    }


def _sentence(
    row: Mapping[str, Any],
    other: Mapping[str, Any],
    difference: Difference,
    level: float,
    name: str,
) -> str | None:
    """One comparison in words: the difference, its interval, p, and whether it is significant."""
    if difference.value is None:
        return None
    role = "the best unimodal model" if name == "vs_best_unimodal" else "the reference run"
    verdict = (
        "significantly better"
        if difference.significant and difference.value > 0
        else "significantly worse"
        if difference.significant
        else "not significantly different"
    )
    return (
        f"{row['system']} vs {role} ({other['system']}): {100 * difference.value:+.1f} points on test, "
        f"{round(100 * level)}% interval [{100 * difference.low:+.1f}, {100 * difference.high:+.1f}], "
        f"p = {difference.p_value:.3f}: {verdict}"
    )


def results_table_file(
    rows: Sequence[Mapping[str, Any]],
    manifest_path: str | Path,
    out: str | Path,
    out_json: str | Path,
    settings: EvaluationSettings | None = None,
    reference: str | None = None,
    demo_cues: str | Path | None = None,
    cue_reliability: float | Mapping[str, float] | None = None,
    calibration: CalibrationSettings | None = None,
) -> pd.DataFrame:
    """The table step: ``demo_cues`` (a demo corpus's planted cues) adds every system's ceiling."""
    from ahrec.corpus.manifest import read_manifest

    settings = settings or EvaluationSettings()
    manifest = read_manifest(manifest_path)
    ceiling = None
    if demo_cues is not None and cue_reliability is not None:
        ceiling = demo_ceiling(manifest, demo_cues, cue_reliability, settings)
    return results_table(rows, manifest, out, settings, reference, ceiling, out_json, calibration)


def demo_ceiling(
    manifest: pd.DataFrame,
    demo_cues: str | Path,
    reliability: float | Mapping[str, float],
    settings: EvaluationSettings,
) -> CeilingFn:
    """Per video (in video-id order, as predictions are), the Bayes-optimal guess from the planted cues.

    The prior is the training labels' share of A/H (train, or train + val in
    CV selection): what a model could know before seeing a video. A video
    listed after the demo was generated (a user's own, added to a list) has no
    planted cue: the best guess for it is the prior's.
    """
    from ahrec.demo.ceilings import ceiling_predictions, read_demo_cues

    cues = read_demo_cues(demo_cues).set_index("video_path")
    ordered = manifest.sort_values("video_id")
    planted = ordered["video_path"].isin(cues.index).to_numpy()
    if not planted.all():
        missing = sorted(ordered.loc[~planted, "video_path"])
        LOG.warning(
            "%s: no planted cues for %d listed videos (e.g. %s): their ceiling is the prior's guess",
            demo_cues,
            len(missing),
            missing[0],
        )
    cues = cues.loc[ordered.loc[planted, "video_path"]].reset_index()
    pool = ("train", "val") if settings.cv else ("train",)
    known = manifest[manifest["split"].isin(pool) & manifest["label"].notna()]
    prior = float(known["label"].astype(int).mean()) if len(known) else 0.5

    def ceiling(modalities: Sequence[str]) -> np.ndarray:
        guesses = np.full(len(ordered), int(prior > 0.5), dtype=int)
        guesses[planted] = ceiling_predictions(cues, modalities, reliability, prior)
        return guesses

    return ceiling
