"""A family of benchmark corpora, and the system x corpus table across them.

Why: a fusion tuned on one generated corpus can look fine there and not fuse
on the next one (issue 24). The family keeps the benchmark preset's recipe
(models, sampling, degenerate rates) and changes only what a new user would
not control: the generator's seed and the cues' reliability. Every member
runs the same candidate fusions, so a method is judged on corpora it was not
tuned on. ``benchmarks/fusion_family.py`` drives it.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from ahrec.devtools.runs import REPO

BENCHMARK_PRESET = REPO / "presets" / "benchmark.yaml"
PAPER_MODELS = ("face_mlp", "scene_linear", "audio_mamba", "text_tfidf_lr")
FIVE_SEEDS = [42, 43, 44, 45, 46]

# The candidates (issue 24): the paper's fusion as the preset submits it, the same
# Transformer on other inputs or without its prototype head, and the late fusions.
CANDIDATES: dict[str, dict[str, Any]] = {
    "fusion_proto": {
        "label": "Transformer + prototypes, embeddings (paper)",
        "prototypes": True,
    },
    "fusion": {"label": "Transformer, embeddings"},
    "proto_logodds": {
        "label": "Transformer + prototypes, log-odds",
        "prototypes": True,
        "params": {"inputs": "logodds"},
    },
    "proto_both": {
        "label": "Transformer + prototypes, embeddings + log-odds",
        "prototypes": True,
        "params": {"inputs": "both"},
    },
    "late_logreg": {
        "label": "Late fusion, logistic regression",
        "params": {"method": "logreg"},
        "seeds": [42],
    },
    "late_mean": {"label": "Late fusion, mean", "params": {"method": "mean"}, "seeds": [42]},
    # not run by default: whether masking for the explanations needs a model trained
    # with modalities missing (issue 23)
    "proto_moddrop": {
        "label": "Transformer + prototypes, embeddings, modality dropout 0.3",
        "prototypes": True,
        "params": {"modality_dropout": 0.3},
    },
}
DEFAULT_RUNS = [name for name in CANDIDATES if name != "proto_moddrop"]


@dataclass(frozen=True)
class Member:
    """One corpus of the family: the generator's seed and one cue reliability for all modalities."""

    seed: int
    reliability: float

    @property
    def name(self) -> str:
        return f"seed{self.seed}_r{self.reliability:g}"


def members(seeds: Iterable[int], reliabilities: Iterable[float]) -> list[Member]:
    return [Member(s, r) for s in seeds for r in reliabilities]


def member_config(
    member: Member,
    participants: int,
    runs: Sequence[str],
    submission: str = "late_logreg",
    preset: Path = BENCHMARK_PRESET,
) -> dict[str, Any]:
    """The benchmark preset with this member's corpus and the candidate runs (no paper table).

    ``participants`` split as the preset's (half train, a quarter each val
    and test); every other setting is the preset's, so what changes from
    member to member is the corpus only. The submitted run is the table's
    reference, which every other run is compared with: the late logistic
    regression, the yardstick.
    """
    unknown = [r for r in runs if r not in CANDIDATES]
    if unknown:
        raise ValueError(f"unknown candidate {unknown[0]!r}; known: {', '.join(CANDIDATES)}")
    if submission not in runs:
        raise ValueError(f"the submitted run {submission!r} is not among the candidates")
    if participants < 8 or participants % 4:
        raise ValueError(f"participants must be a multiple of 4, at least 8; got {participants}")
    config = yaml.safe_load(preset.read_text())
    corpus = config["corpus"]
    corpus.update(
        seed=member.seed,
        cue_reliability=member.reliability,
        participants=participants,
        split_participants={
            "train": participants // 2,
            "val": participants // 4,
            "test": participants // 4,
        },
    )
    fusion = config.setdefault("fusion", {})
    fusion["paper_runs"] = {}
    fusion["seeds"] = list(FIVE_SEEDS)
    fusion["runs"] = {
        name: {"models": list(PAPER_MODELS), **copy.deepcopy(CANDIDATES[name])} for name in runs
    }
    fusion["submission"] = submission
    return config


def write_member(workdir: Path, member: Member, **options: Any) -> Path:
    folder = workdir / member.name
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "config.yaml"
    text = yaml.safe_dump(member_config(member, **options), sort_keys=False)
    if not path.exists() or path.read_text() != text:  # an untouched config reruns nothing
        path.write_text(text)
    return folder


def write_explain_config(folder: Path, run: str) -> Path:
    """The member's config with ``run`` submitted, to explain that run's test videos.

    The family submits the late logistic regression so that its table
    compares every run with it; the known-answer check of the explanations
    (``benchmarks/explanations.py``) is about the run a user would submit.
    Built with this config, ``results/explanations.csv`` is that run's, and
    only the submitted-run choice and the explanations are redone.
    """
    config = yaml.safe_load((folder / "config.yaml").read_text())
    if run not in config["fusion"]["runs"]:
        raise ValueError(f"{run!r} is not among the member's runs")
    config["fusion"]["submission"] = run
    path = folder / "explain.yaml"
    text = yaml.safe_dump(config, sort_keys=False)
    if not path.exists() or path.read_text() != text:
        path.write_text(text)
    return path


def member_rows(
    member: Member, table: pd.DataFrame, bound: float | None = None
) -> list[dict[str, Any]]:
    """The family table's rows of one member: every system of its results/table.csv.

    The family submits the late logistic regression (``member_config``), so
    each row's ``vs_reference`` is its paired difference with that baseline:
    it becomes ``vs_late``. ``bound``: the member's ``linear_probes`` bound
    on the log-odds, when measured.
    """
    rows = []
    for record in table.to_dict("records"):
        row = {
            "corpus": member.name,
            "seed": member.seed,
            "reliability": member.reliability,
            "bound": bound,
            **{
                key: record.get(key)
                for key in (
                    "system",
                    "kind",
                    "val_mf1",
                    "test_mf1",
                    "test_low",
                    "test_high",
                    "ceiling_test",
                    "recovered_test",
                    "vs_best_unimodal",
                    "vs_best_unimodal_low",
                    "vs_best_unimodal_high",
                    "vs_best_unimodal_p",
                )
            },
        }
        for end in ("", "_low", "_high", "_p"):
            row[f"vs_late{end}"] = record.get(f"vs_reference{end}")
        rows.append(row)
    return rows


def family_table(
    tables: Mapping[Member, pd.DataFrame], bounds: Mapping[Member, float] | None = None
) -> pd.DataFrame:
    bounds = bounds or {}
    return pd.DataFrame(
        [row for m, t in tables.items() for row in member_rows(m, t, bounds.get(m))]
    )


def summary(family: pd.DataFrame, level_p: float = 0.05) -> pd.DataFrame:
    """Per system across the family: mean MF1, mean gap to the ceiling, worst gap, mean
    distance under the log-odds bound (where measured), on how many corpora it is
    significantly above (or below) the best unimodal model, and its mean difference with
    the late logistic regression and on how many corpora it is significantly below it."""
    fused = family.loc[family["kind"] != "unimodal"].copy()
    fused["gap"] = fused["ceiling_test"] - fused["test_mf1"]
    fused["to_bound"] = fused["bound"].astype(float) - fused["test_mf1"]
    fused["above_best"] = (fused["vs_best_unimodal_low"] > 0) & (
        fused["vs_best_unimodal_p"] < level_p
    )
    fused["below_best"] = fused["vs_best_unimodal_high"] < 0
    fused["below_late"] = fused["vs_late_high"] < 0
    grouped = fused.groupby("system", sort=False)
    return pd.DataFrame(
        {
            "corpora": grouped.size(),
            "mean_test_mf1": grouped["test_mf1"].mean().round(1),
            "mean_gap": grouped["gap"].mean().round(1),
            "worst_gap": grouped["gap"].max().round(1),
            "mean_under_bound": grouped["to_bound"].mean().round(1),
            "mean_vs_best": grouped["vs_best_unimodal"].mean().round(1),
            "sig_above_best": grouped["above_best"].sum().astype(int),
            "sig_below_best": grouped["below_best"].sum().astype(int),
            "mean_vs_late": grouped["vs_late"].mean().round(1),
            "sig_below_late": grouped["below_late"].sum().astype(int),
        }
    ).reset_index()


def interval(value: Any, low: Any, high: Any, signed: bool = False) -> str:
    if pd.isna(value):
        return ""
    form = "{:+.1f}" if signed else "{:.1f}"
    return f"{form.format(value)} [{form.format(low)}, {form.format(high)}]"


def markdown(family: pd.DataFrame) -> str:
    """The system x corpus table as docs/measurements.md shows it."""
    lines = [
        "| corpus | system | test MF1 [95% CI] | ceiling | recovered | vs best unimodal | vs late LR |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in family.to_dict("records"):
        lines.append(
            "| {} | {} | {} | {} | {} | {} | {} |".format(
                row["corpus"],
                row["system"],
                interval(row["test_mf1"], row["test_low"], row["test_high"]),
                "" if pd.isna(row["ceiling_test"]) else f"{row['ceiling_test']:.1f}",
                "" if pd.isna(row["recovered_test"]) else f"{row['recovered_test']:.0f}%",
                interval(
                    row["vs_best_unimodal"],
                    row["vs_best_unimodal_low"],
                    row["vs_best_unimodal_high"],
                    True,
                ),
                interval(row.get("vs_late"), row.get("vs_late_low"), row.get("vs_late_high"), True),
            )
        )
    return "\n".join(lines)


def linear_probes(results: Path, models: Sequence[str] = PAPER_MODELS) -> pd.DataFrame:
    """Where the signal goes: a logistic regression on each model's embedding vs its log-odds.

    Fitted on the training split's (out-of-fold) table rows and scored on the
    test split's (the final model's), per unimodal model and for all four side
    by side, beside each unimodal model's own test MF1. If a probe on the
    embeddings falls well under the same probe on the log-odds, the embedding
    a fusion reads carries less of the label than the model's own output
    (overfit to, or shifted from, the training videos' out-of-fold rows).
    The last row's ``bound_logodds`` is the same regression fitted on the
    test videos themselves: an optimistic bound on any weighting of the
    log-odds. Test labels are read here only: a diagnostic, never a selection.
    """
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from ahrec.corpus.manifest import read_manifest
    from ahrec.embeddings.table import read_embeddings
    from ahrec.metrics import macro_f1
    from ahrec.training.predictions import read_predictions

    manifest = read_manifest(results / "manifest.parquet").set_index("video_id")
    tables = {m: read_embeddings(results / "unimodal" / m / "embeddings.parquet") for m in models}
    ids = tables[models[0]].video_ids
    split = manifest.loc[ids, "split"].to_numpy()
    label = manifest.loc[ids, "label"].to_numpy()

    def features(model: str, what: str) -> tuple[np.ndarray, np.ndarray]:
        table = tables[model]
        if table.video_ids != ids:
            raise ValueError(f"{model}: its table lists other videos than {models[0]}'s")
        x = table.vectors if what == "embedding" else np.nan_to_num(table.logodds)[:, None]
        return x.astype(np.float64), table.available

    def probe(x: np.ndarray, usable: np.ndarray, fit_on: str = "train") -> float:
        train = usable & (split == fit_on)
        test = usable & (split == "test")
        fit = make_pipeline(StandardScaler(), LogisticRegression(class_weight="balanced"))
        fit.fit(x[train], label[train].astype(int))
        return 100 * macro_f1(label[test].astype(int), fit.predict(x[test]))

    rows = []
    for model in models:
        own = read_predictions(results / "unimodal" / model / "predictions.parquet")
        own = own.loc[own["split"] == "test"].set_index("video_id")
        truth = manifest.loc[own.index, "label"].astype(int)
        record = {"model": model, "own_test_mf1": 100 * macro_f1(truth, own["prediction"])}
        for what in ("embedding", "logodds"):
            x, available = features(model, what)
            record[f"probe_{what}"] = probe(x, available)
            record[f"dim_{what}"] = x.shape[1]
        rows.append(record)
    everything = {"model": "all four"}
    for what in ("embedding", "logodds"):
        parts = [features(m, what) for m in models]
        x = np.concatenate([np.where(a[:, None], v, 0.0) for v, a in parts], axis=1)
        everything[f"probe_{what}"] = probe(x, np.ones(len(ids), dtype=bool))
        everything[f"dim_{what}"] = x.shape[1]
        if what == "logodds":
            # fitted on the test videos themselves: what no late fusion of these log-odds passes
            everything["bound_logodds"] = probe(x, np.ones(len(ids), dtype=bool), "test")
    rows.append(everything)
    return pd.DataFrame(rows).round(1)


def unimodal_vote(results: Path, models: Sequence[str] = PAPER_MODELS) -> float:
    """Test MF1 (%) of the Bayes vote of the unimodal models' calls: what their labels support.

    The demo plants one binary cue per modality, each agreeing with the label
    with the same reliability and independently of the others; the ceiling
    is the Bayes-optimal vote of the cues. A unimodal model reads its cue
    with errors, so its call agrees with the label less often (its own
    reliability, estimated here on the validation split). The same vote over
    the models' calls, each weighted by log(r / (1 - r)) of its validation
    reliability, is the ceiling the fusion inherits from its inputs' labels:
    a fusion far under the cue ceiling but at this vote lost nothing the
    unimodal calls held. (Their confidences may hold more, so a fusion can
    pass it.) Test labels only score it.
    """
    import numpy as np

    from ahrec.corpus.manifest import read_manifest
    from ahrec.metrics import macro_f1
    from ahrec.training.predictions import read_predictions

    manifest = read_manifest(results / "manifest.parquet").set_index("video_id")
    labelled = manifest.loc[manifest["label"].notna()]
    train = labelled.loc[labelled["split"] == "train", "label"].astype(int)
    prior = float(train.mean())
    score = None
    for model in models:
        frame = read_predictions(results / "unimodal" / model / "predictions.parquet")
        frame = frame.set_index("video_id").loc[labelled.index]
        truth = labelled["label"].astype(int)
        usable = frame["available"].astype(bool)
        val = usable & (frame["split"] == "val")
        reliability = float((frame.loc[val, "prediction"] == truth[val]).mean())
        reliability = min(max(reliability, 0.5), 0.99)
        weight = np.log(reliability / (1 - reliability))
        vote = np.where(frame["prediction"].to_numpy() == 1, weight, -weight) * usable.to_numpy()
        score = vote if score is None else score + vote
    score = score + np.log(prior / (1 - prior))
    test = (labelled["split"] == "test").to_numpy()
    truth = labelled["label"].astype(int).to_numpy()
    return round(100 * macro_f1(truth[test], (score[test] > 0).astype(int)), 1)
