"""Explanations against a known answer: the demo corpus's planted cues.

Each demo modality shows a cue pointing to one class, agreeing with the
label with a known reliability, and ``demo_cues.csv`` records where each
cue points. Where exactly one (observable) modality's cue agrees with the
submitted run's label for a video, that modality is the only evidence for
the call, so a faithful explanation should name it: its contribution should
be the largest towards the label, and masking it should move the
probability towards the other class. A modality the video lacks must
contribute nothing. Shares come with a participant-bootstrap interval.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ahrec.evaluation.bootstrap import _percentile_interval, participant_resamples


@dataclass(frozen=True)
class Share:
    """How many of ``n`` videos (of ``participants``) pass, and the share's interval."""

    hits: int
    n: int
    participants: int
    value: float | None
    low: float | None
    high: float | None

    def text(self) -> str:
        if self.value is None:
            return "no such videos"
        return (
            f"{100 * self.value:.1f}% [{100 * self.low:.1f}, {100 * self.high:.1f}] "
            f"({self.hits} of {self.n} videos, {self.participants} participants)"
        )


def bootstrap_share(
    passed: Sequence[bool] | np.ndarray,
    participants: Sequence[str],
    resamples: int = 2000,
    seed: int = 0,
    level: float = 0.95,
) -> Share:
    """The share of videos that pass, with a percentile interval over participant resamples.

    Where every video passes (or none does), every resample gives the same
    share and the percentile interval collapses to a point, which would read
    as certainty from a dozen videos; the open end is then the exact
    (Clopper-Pearson) binomial bound at the same level instead.
    """
    hits = np.asarray(passed, dtype=float)
    who = [str(p) for p in participants]
    if not len(hits):
        return Share(0, 0, 0, None, None, None)
    drawn = participant_resamples(who, resamples, seed)
    index = {p: j for j, p in enumerate(drawn.participants)}
    weights = drawn.counts[:, [index[p] for p in who]].astype(float)
    totals = weights.sum(axis=1)
    samples = np.where(totals > 0, (weights @ hits) / np.where(totals > 0, totals, 1), np.nan)
    low, high = _percentile_interval(samples, level)
    tail = (1 - level) / 2
    if hits.sum() == len(hits):
        low = min(low, tail ** (1 / len(hits)))
    elif hits.sum() == 0:
        high = max(high, 1 - tail ** (1 / len(hits)))
    return Share(int(hits.sum()), len(hits), len(set(who)), float(hits.mean()), low, high)


def _cue_agreement(explanations: pd.DataFrame, cues: pd.DataFrame):
    """The explanations joined with the cues; per video and modality, whether its cue is
    observable and whether it agrees with the run's label."""
    modalities = [
        c.removeprefix("contribution_") for c in explanations if c.startswith("contribution_")
    ]
    frame = explanations.merge(cues, on="video_path", suffixes=("", "_truth"))
    present = np.stack([frame[f"{m}_cue_present"].astype(int) == 1 for m in modalities], axis=1)
    agree = np.stack(
        [frame[f"{m}_cue"].astype(int) == frame["label"].astype(int) for m in modalities], axis=1
    )
    return frame, modalities, present, agree & present


def _lone(
    frame: pd.DataFrame, modalities: list[str], lone: np.ndarray, column: str
) -> pd.DataFrame:
    """Rows where ``lone`` marks exactly one modality, that modality and its contribution
    towards the label (positive: it pushed towards the label)."""
    rows = frame[lone.sum(axis=1) == 1].copy()
    which = lone[lone.sum(axis=1) == 1].argmax(axis=1)
    rows[column] = [modalities[j] for j in which]
    sign = np.where(rows["label"].astype(int) == 1, 1.0, -1.0)
    toward = rows[[f"contribution_{m}" for m in modalities]].to_numpy(float) * sign[:, None]
    rows["_toward"] = [toward[i, j] for i, j in enumerate(which)]
    rows["_lowest"] = [modalities[j] for j in toward.argmin(axis=1)] if len(rows) else []
    return rows


def single_agreeing(explanations: pd.DataFrame, cues: pd.DataFrame) -> pd.DataFrame:
    """The videos where exactly one observable cue of the run's modalities agrees with the label.

    Columns added: ``agreeing`` (that modality), ``is_top`` (it has the
    largest contribution towards the label), ``moves`` (masking it moves
    P(A/H) towards the other class), ``participant``.
    """
    frame, modalities, _, agree = _cue_agreement(explanations, cues)
    rows = _lone(frame, modalities, agree, "agreeing")
    rows["is_top"] = rows["top_modality"].fillna("") == rows["agreeing"]
    rows["moves"] = rows["_toward"] > 0
    return rows


def single_disagreeing(explanations: pd.DataFrame, cues: pd.DataFrame) -> pd.DataFrame:
    """The mirror check, on many more videos: every observable cue but one agrees with the label
    (at least one agrees). ``is_lowest``: the dissenting modality pushes hardest away from the
    label; ``moves``: masking it moves P(A/H) towards the label."""
    frame, modalities, present, agree = _cue_agreement(explanations, cues)
    dissent = present & ~agree
    rows = _lone(frame, modalities, dissent & (agree.sum(axis=1) >= 1)[:, None], "dissenting")
    rows["is_lowest"] = rows["_lowest"] == rows["dissenting"]
    rows["moves"] = rows["_toward"] < 0
    return rows


def model_readings(results: str | Path) -> pd.DataFrame:
    """Per video (rows) and modality (columns): the label the submitted run's own unimodal
    model of that modality predicts, from ``table.csv`` (the reference row's models)."""
    import json

    results = Path(results)
    table = pd.read_csv(results / "table.csv")
    reference = json.loads((results / "table.json").read_text())["reference"]
    ids = [
        int(i) for i in str(table.loc[table["system"] == reference, "models"].iloc[0]).split(",")
    ]
    readings = {}
    for _, row in table[table["id"].isin(ids)].iterrows():
        frame = pd.read_parquet(results / "unimodal" / row["models"] / "predictions.parquet")
        readings[row["modality"]] = frame.set_index("video_id")["prediction"]
    return pd.DataFrame(readings)


def read_explanations(path: str | Path) -> pd.DataFrame:
    """An ``explanations.csv`` as the check reads it (an empty cell is missing)."""
    return pd.read_csv(
        path, keep_default_na=False, na_values=[""], dtype={"missing_modalities": "string"}
    )


def pooled_inputs(
    folders: Sequence[str | Path],
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The explanations, planted cues and model readings of several finished demo runs, as one.

    One corpus's test split holds only a dozen or two videos where exactly
    one cue agrees with the call, too few for a tight interval; several
    corpora of the same recipe (the fusion family's) hold more. Video ids,
    paths and participants get their folder's position as a prefix, so
    corpora that reuse names stay apart and the bootstrap draws each
    corpus's participants as separate people.
    """
    from ahrec.demo.ceilings import read_demo_cues

    frames, cue_frames, reading_frames = [], [], []
    for i, folder in enumerate(map(Path, folders)):
        tag = f"c{i}/"
        frame = read_explanations(folder / "explanations.csv")
        cues = read_demo_cues(folder / "demo_corpus" / "demo_cues.csv")
        readings = model_readings(folder)
        frame["video_id"] = tag + frame["video_id"].astype(str)
        frame["video_path"] = tag + frame["video_path"].astype(str)
        cues["video_path"] = tag + cues["video_path"].astype(str)
        cues["participant"] = tag + cues["participant"].astype(str)
        readings.index = [tag + str(v) for v in readings.index]
        frames.append(frame)
        cue_frames.append(cues)
        reading_frames.append(readings)
    return (
        pd.concat(frames, ignore_index=True),
        pd.concat(cue_frames, ignore_index=True),
        pd.concat(reading_frames),
    )


def calibration_change(
    frame: pd.DataFrame, cues: pd.DataFrame, resamples: int = 2000, seed: int = 0
) -> dict[str, dict[str, Any]]:
    """ECE and Brier score (x 100) of the explained videos before and after the calibration map.

    Read from ``explanations.csv`` itself (``prob_ah_uncalibrated`` and the
    calibrated ``prob_ah``) against the planted labels, so it also works on
    ``pooled_inputs``: each corpus's videos keep the map fitted on that
    corpus's validation split. Paired participant-bootstrap intervals, with
    the table's resamples and seed, so one corpus gives table.json's figures.
    """
    from ahrec.evaluation.bootstrap import paired_difference
    from ahrec.evaluation.probability import bootstrap_probability

    joined = frame.merge(cues, on="video_path", suffixes=("", "_truth"))
    truth = joined["label_truth"].astype(int).to_numpy()
    who = joined["participant"].astype(str).to_numpy()
    drawn = participant_resamples(who, resamples, seed)
    before = bootstrap_probability(truth, joined["prob_ah_uncalibrated"], who, drawn)
    after = bootstrap_probability(truth, joined["prob_ah"], who, drawn)

    def percent(value: float | None) -> float | None:
        return None if value is None else round(100 * value, 2)

    summary = {}
    for name in ("ece", "brier"):
        change = paired_difference(after[name], before[name])
        summary[name] = {
            "before": percent(before[name].value),
            "before_interval": [percent(before[name].low), percent(before[name].high)],
            "after": percent(after[name].value),
            "after_interval": [percent(after[name].low), percent(after[name].high)],
            "change": percent(change.value),
            "change_interval": [percent(change.low), percent(change.high)],
            "change_p": None if change.p_value is None else round(change.p_value, 4),
        }
    summary["videos"] = {"n": len(joined), "participants": len(set(who))}
    return summary


def check_explanations(
    explanations: str | Path | pd.DataFrame,
    demo_cues: str | Path | pd.DataFrame,
    table_json: str | Path | None = None,
    readings: pd.DataFrame | None = None,
) -> dict[str, Any]:
    """The known-answer figures of a demo run's ``explanations.csv`` (and its calibration).

    ``explanations`` and ``demo_cues``: the files, or frames already read
    (``pooled_inputs``). ``readings`` (``model_readings``) adds, for the
    single-agreeing videos, whether the top modality's own unimodal model
    called the video's label: where the run went against three cues, its
    other models misread theirs, and an explanation faithful to the models
    names one of those."""
    import json

    from ahrec.demo.ceilings import read_demo_cues

    frame = (
        explanations if isinstance(explanations, pd.DataFrame) else read_explanations(explanations)
    )
    cues = demo_cues if isinstance(demo_cues, pd.DataFrame) else read_demo_cues(demo_cues)
    rows = single_agreeing(frame, cues)
    dissenting = single_disagreeing(frame, cues)
    modalities = [c.removeprefix("contribution_") for c in frame if c.startswith("contribution_")]
    missing = frame["missing_modalities"].fillna("").astype(str)
    lacking = []
    for i, names in enumerate(missing):
        for m in filter(None, names.split(";")):
            lacking.append(abs(float(frame.iloc[i][f"contribution_{m}"])))
    result: dict[str, Any] = {
        "videos": len(frame),
        "modalities": modalities,
        "single_agreeing": len(rows),
        "per_modality": rows["agreeing"].value_counts().to_dict(),
        "top": bootstrap_share(rows["is_top"], rows["participant"]),
        "moves": bootstrap_share(rows["moves"], rows["participant"]),
        "chance": 1.0 / len(modalities) if modalities else None,
        "single_dissenting": len(dissenting),
        "lowest": bootstrap_share(dissenting["is_lowest"], dissenting["participant"]),
        "dissent_moves": bootstrap_share(dissenting["moves"], dissenting["participant"]),
        "videos_lacking_a_modality": int((missing != "").sum()),
        "largest_missing_contribution": max(lacking) if lacking else 0.0,
        "mean_abs_contribution": {
            m: float(frame[f"contribution_{m}"].abs().mean()) for m in modalities
        },
    }
    # the degenerate videos: a modality whose cue the video does not show (no face, silence,
    # no transcript) should add little even where it is not masked
    joined = frame.merge(cues, on="video_path", suffixes=("", "_truth"))
    unseen = {}
    for m in modalities:
        shown = joined[f"{m}_cue_present"].astype(int) == 1
        size = joined[f"contribution_{m}"].abs()
        if (~shown).any():
            unseen[m] = (float(size[~shown].mean()), int((~shown).sum()), float(size[shown].mean()))
    result["cue_not_shown"] = unseen
    if readings is not None and len(rows):
        # per video and modality: whether that modality's own model called the run's label
        calls = (
            readings.loc[rows["video_id"], modalities].to_numpy().astype(int)
            == rows["label"].astype(int).to_numpy()[:, None]
        )
        column = {m: j for j, m in enumerate(modalities)}
        at = np.arange(len(rows))
        top = rows["top_modality"].fillna("")
        read = np.array(
            [bool(m) and bool(calls[i, column[m]]) for i, m in zip(at, top, strict=True)]
        )
        result["top_reads_label"] = bootstrap_share(read, rows["participant"])
        # and the agreeing modality's own: where it called the label too, the miss is
        # the fusion weighing another model that misread its cue towards the label more
        own = calls[at, [column[m] for m in rows["agreeing"]]]
        result["agreeing_reads_label"] = bootstrap_share(own, rows["participant"])
        # the check's premise is that the agreeing modality is the only evidence for the
        # call. Where another model misread its cue towards the label too, the fusion had
        # two or more models calling the label and cannot tell which read its cue right;
        # an explanation faithful to the fusion may name any of them, and naming one at
        # random scores ``caller_bound`` on average
        count = calls.sum(axis=1)
        holds = own & (count == 1)
        result["premise_holds"] = bootstrap_share(
            rows["is_top"].to_numpy()[holds], rows["participant"].to_numpy()[holds]
        )
        result["caller_bound"] = float(np.mean(np.where(own, 1.0 / np.maximum(count, 1), 0.0)))
        result["other_callers"] = int((own & (count > 1)).sum())
        # the same check against what the models read: exactly one modality's own
        # model called the run's label
        agreed = (
            readings.loc[frame["video_id"], modalities].to_numpy()
            == frame["label"].to_numpy()[:, None]
        )
        lone = frame[agreed.sum(axis=1) == 1]
        which = [modalities[j] for j in agreed[agreed.sum(axis=1) == 1].argmax(axis=1)]
        result["single_model_agreeing"] = bootstrap_share(
            lone["top_modality"].fillna("").to_numpy() == np.asarray(which, dtype=object),
            lone["video_path"].map(cues.set_index("video_path")["participant"]),
        )
        # how well each model reads its own planted cue, over every explained video that
        # shows it: the rate at which the misreads above arise
        result["reads_own_cue"] = {}
        for m in modalities:
            shown = joined[joined[f"{m}_cue_present"].astype(int) == 1]
            if len(shown):
                calls = readings.loc[shown["video_id"], m].to_numpy().astype(int)
                result["reads_own_cue"][m] = float((calls == shown[f"{m}_cue"].astype(int)).mean())
        missed = ~rows["is_top"].to_numpy()
        result["missed_top_reads_label"] = (
            int(read[missed].sum()),
            int(missed.sum()),
        )
    if table_json is not None:
        result["calibration"] = json.loads(Path(table_json).read_text()).get("calibration")
    if "prob_ah_uncalibrated" in frame:
        result["calibration_explained"] = calibration_change(frame, cues)
    return result


def report(result: dict[str, Any]) -> str:
    """The figures in words (what docs/measurements.md quotes)."""
    lines = [
        f"{result['videos']} videos explained; {result['single_agreeing']} with exactly one "
        f"agreeing cue ({', '.join(f'{k} {v}' for k, v in sorted(result['per_modality'].items()))})",
        f"  that modality has the largest contribution towards the label: {result['top'].text()}"
        f" (chance {100 * result['chance']:.0f}%)"
        if result["chance"]
        else "",
        f"  masking it moves P(A/H) towards the other class: {result['moves'].text()}",
        f"  the agreeing modality's own unimodal model called the label: "
        f"{result['agreeing_reads_label'].text()}"
        if "agreeing_reads_label" in result
        else "",
        f"  the top modality's own unimodal model called the label: {result['top_reads_label'].text()}"
        f"; where the agreeing modality was not the top one, {result['missed_top_reads_label'][0]}"
        f" of {result['missed_top_reads_label'][1]}"
        if "top_reads_label" in result
        else "",
        f"  the agreeing modality's model was the only one to call the label on "
        f"{result['premise_holds'].n} of them; there it is the top one: "
        f"{result['premise_holds'].text()}; on {result['other_callers']} another model misread "
        f"its cue towards the label too, and naming one of the models that called the label at "
        f"random would score {100 * result['caller_bound']:.1f}% over all of them"
        if "premise_holds" in result
        else "",
        "  each model's call equals its own planted cue on: "
        + ", ".join(f"{m} {100 * v:.1f}%" for m, v in result["reads_own_cue"].items())
        if "reads_own_cue" in result
        else "",
        f"exactly one modality's own model called the label: that modality is the top one: "
        f"{result['single_model_agreeing'].text()}"
        if "single_model_agreeing" in result
        else "",
        f"{result['single_dissenting']} videos with exactly one dissenting cue (the others agree)",
        f"  that modality pushes hardest away from the label: {result['lowest'].text()}",
        f"  masking it moves P(A/H) towards the label: {result['dissent_moves'].text()}",
        f"  {result['videos_lacking_a_modality']} videos lack a modality; largest |contribution| of "
        f"a missing modality: {result['largest_missing_contribution']:.3g}",
        "  degenerate videos, mean |contribution| of the modality whose cue they do not show "
        "(vs where shown): "
        + ", ".join(
            f"{m} {a:.3f} ({n} videos; {b:.3f})" for m, (a, n, b) in result["cue_not_shown"].items()
        ),
        "  mean |contribution|: "
        + ", ".join(f"{m} {v:.3f}" for m, v in result["mean_abs_contribution"].items()),
    ]
    calibration = result.get("calibration")
    if calibration:
        lines.append("the table's reference run (table.json):")
        lines += _calibration_lines(calibration)
        lines.append(
            f"  map: {calibration['map']['method']}, a = {calibration['map']['a']:.3f}, "
            f"b = {calibration['map']['b']:.3f}"
        )
    explained = result.get("calibration_explained")
    if explained:
        lines.append(
            f"the explained run, from explanations.csv ({explained['videos']['n']} videos, "
            f"{explained['videos']['participants']} participants):"
        )
        lines += _calibration_lines(explained)
    return "\n".join(line for line in lines if line)


def _calibration_lines(calibration: dict[str, Any]) -> list[str]:
    lines = []
    for name in ("ece", "brier"):
        c = calibration[name]
        lines.append(
            f"  {name.upper()} x 100 on test: {c['before']:.2f} {c['before_interval']} -> "
            f"{c['after']:.2f} {c['after_interval']}; change {c['change']:+.2f} "
            f"{c['change_interval']} (p = {c['change_p']})"
        )
    return lines
