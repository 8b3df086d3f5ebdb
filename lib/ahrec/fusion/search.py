"""Step: the authors' hyperparameter search for a fusion run, done honestly.

Optuna's TPE sampler over the authors' search space; the objective is the
mean validation MF1 over the run's seeds (the stability-oriented objective of
the paper) — validation only, where the authors' code used the mean of
validation and test. The study lives in a SQLite file under results/, named
by a hash of everything that defines it (settings and the data itself), so a
killed search resumes where it stopped, and a changed search, or the same
search on changed embeddings (a config edit upstream, an added video), starts
afresh instead of reusing trials scored on other data.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from ahrec.evaluation.settings import EvaluationSettings
from ahrec.fusion.data import FusionData, fusion_data
from ahrec.fusion.params import Dimension, FusionParams, FusionRun, SearchSpec
from ahrec.fusion.pool import Fit, FitPool, pool_size
from ahrec.io import write_csv
from ahrec.kinds import options_dict
from ahrec.training.labels import read_labels
from ahrec.training.selection import selection_plan

LOG = logging.getLogger(__name__)


def suggest(trial: Any, dimensions: Sequence[Dimension]) -> dict[str, Any]:
    """One point of the search space (``search.<name>.space`` over the authors' ranges)."""
    return {dimension.name: dimension.suggest(trial) for dimension in dimensions}


def tpe_sampler(seed: int, multivariate: bool) -> Any:
    """Optuna's TPE sampler; multivariate (the authors') models the dimensions jointly."""
    import warnings

    import optuna

    with warnings.catch_warnings():  # "multivariate is an experimental feature"
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.samplers.TPESampler(seed=seed, multivariate=multivariate)


def data_fingerprint(data: FusionData) -> str:
    """A hash of what the trials are scored on: videos, splits, labels, masks and vectors."""
    digest = hashlib.sha1()
    digest.update(json.dumps([data.video_ids, data.splits, data.labels]).encode())
    digest.update(np.ascontiguousarray(data.mask).tobytes())
    for modality in data.modalities:
        digest.update(modality.encode())
        digest.update(np.ascontiguousarray(data.vectors[modality], dtype=np.float32).tobytes())
    return digest.hexdigest()


def study_name(name: str, definition: Mapping[str, Any]) -> str:
    digest = hashlib.sha1(json.dumps(definition, sort_keys=True).encode()).hexdigest()[:10]
    return f"{name}-{digest}"


def fit_time_bounds(fits_of: Mapping[int, Sequence[Fit]]) -> tuple[float, float]:
    """(the fits' seconds summed, the trials' slowest fits summed), over trial number -> fits.

    The sum is what the trials take on one core; the sum of each trial's
    slowest fit is the least they can take on any number of workers, since
    trials run one after another (TPE samples each from the ones before) and
    a trial waits for its last fit.
    """
    total = sum(fit.seconds for fits in fits_of.values() for fit in fits)
    floor = sum(max((fit.seconds for fit in fits), default=0.0) for fits in fits_of.values())
    return total, floor


@dataclasses.dataclass(frozen=True)
class SearchOutputs:
    """Where a search writes: its study (SQLite), its best parameters and every trial."""

    storage: str | Path
    best: str | Path
    trials: str | Path

    @classmethod
    def under(cls, folder: str | Path) -> SearchOutputs:
        """The workflow's own names inside one folder (tests and benchmarks)."""
        folder = Path(folder)
        return cls(folder / "study.sqlite", folder / "best.yaml", folder / "trials.csv")


def run_search(
    search: SearchSpec,
    run: FusionRun,
    embedding_tables: Sequence[str | Path],
    labels_path: str | Path,
    outputs: SearchOutputs,
    evaluation: EvaluationSettings | None = None,
    device: str = "auto",
    workers: int = 1,
) -> dict[str, Any]:
    """Run (or resume) the study of ``search`` over ``run``; write the best parameters and every trial.

    A trial fits the run (its prototypes, its parameters overlaid with the
    trial's) once per seed of the search on each fit the selection protocol
    scores (``training/selection.py``): the validation split (split
    selection), or each held-out fold of participant-grouped CV over train +
    val (cv selection); the objective is the mean MF1 over them. A trial's
    fits run on up to ``workers`` processes on the CPU (the job's ``threads``:
    never more processes than threads, one torch thread each); the trials and
    their scores do not depend on how many. Interrupted (Ctrl-C, SIGINT), the
    job stops its workers at once; the study keeps the trials completed so far.
    """
    import optuna

    from ahrec.device import select_device
    from ahrec.fusion.model import fusion_split

    evaluation = evaluation or EvaluationSettings()
    torch_device = select_device(device)
    labels = read_labels(labels_path)
    data = fusion_data(embedding_tables, labels, run.params.reads)
    index = {v: i for i, v in enumerate(data.video_ids)}
    fusable = data.mask.any(axis=1)
    plan = selection_plan(
        labels, evaluation, usable={v for v, f in zip(data.video_ids, fusable, strict=True) if f}
    )
    scored = plan.scored()
    if not all(select for _, select in scored):
        raise ValueError(
            "the search needs labelled videos to score on (validation split, or every CV fold)"
        )
    # Collated once for every trial and seed (not once per fit, batch and epoch).
    parts = [
        tuple(
            fusion_split(data.items([index[v] for v in ids]), data.input_dims)
            for ids in (fit, select)
        )
        for fit, select in scored
    ]
    base = options_dict(run.params)
    searched = search.dimensions(run.prototypes)
    seeds = list(search.seeds)

    # At most one worker per fit and per thread of the job (one torch thread each).
    pool = FitPool(
        parts,
        data.input_dims,
        run.prototypes,
        torch_device,
        workers=pool_size(workers, len(seeds) * len(parts), torch_device),
    )

    fits_of: dict[int, list[Fit]] = {}  # trial number -> its fits (this job's trials)

    def objective(trial: Any) -> float:
        params = FusionParams(**{**base, **suggest(trial, searched)})
        fits = fits_of[trial.number] = pool.fits(params, seeds)
        scores = [fit.score for fit in fits]
        trial.set_user_attr("scores", scores)
        trial.set_user_attr("epochs", [fit.epochs for fit in fits])
        return float(np.mean(scores))

    definition = {
        **({"sampler": "tpe-multivariate"} if search.multivariate else {}),
        "selection": evaluation.selection,
        "folds": evaluation.folds if evaluation.cv else 0,
        "fold_seed": evaluation.fold_seed if evaluation.cv else None,
        "prototypes": run.prototypes,
        "space": [dataclasses.asdict(d) for d in searched],
        "base": base,
        "seeds": seeds,
        "modalities": data.modalities,
        "inputs": [str(p) for p in embedding_tables],
        "data": data_fingerprint(data),
    }
    Path(outputs.storage).parent.mkdir(parents=True, exist_ok=True)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        study_name=study_name(search.name, definition),
        storage=f"sqlite:///{Path(outputs.storage).resolve()}",
        direction="maximize",
        sampler=tpe_sampler(search.sampler_seed, search.multivariate),
        load_if_exists=True,
    )
    done = sum(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials)
    remaining = max(0, search.n_trials - done)
    LOG.info(
        "search %s: %d trials done, %d to go (objective: mean val MF1 over %d seeds)",
        search.name,
        done,
        remaining,
        len(seeds),
    )

    def log_trial(study: Any, trial: Any) -> None:
        fits = fits_of.get(trial.number, [])
        LOG.info(
            "trial %d: mean val MF1 %.4f (best %.4f); fits %s s, epochs %s",
            trial.number,
            trial.value or 0,
            study.best_value,
            " / ".join(f"{fit.seconds:.1f}" for fit in fits),
            " / ".join(str(fit.epochs) for fit in fits),
        )

    if remaining:
        with pool:
            study.optimize(objective, n_trials=remaining, callbacks=[log_trial])
        total, floor = fit_time_bounds(fits_of)
        LOG.info(
            "%d fits took %.1f s of fitting in all; the %d trials' slowest fits add up to "
            "%.1f s, the least these trials take on any number of workers (this job had %d)",
            sum(len(fits) for fits in fits_of.values()),
            total,
            len(fits_of),
            floor,
            pool.workers,
        )
    best = study.best_trial
    tidy = {d.name: d for d in searched}
    chosen = {k: tidy[k].tidy(v) if k in tidy else v for k, v in best.params.items()}
    best_params = dataclasses.asdict(FusionParams(**{**base, **chosen}))
    Path(outputs.best).write_text(
        yaml.safe_dump(
            {
                "search": search.name,
                "objective": "mean CV MF1 over seeds and folds"
                if evaluation.cv
                else "mean validation MF1 over seeds",
                "value": float(best.value),
                "seeds": seeds,
                "trial": best.number,
                "params": best_params,
            },
            sort_keys=False,
        )
    )
    trials = study.trials_dataframe(attrs=("number", "value", "params", "state", "user_attrs"))
    write_csv(trials, outputs.trials)
    LOG.info("best trial %d: mean val MF1 %.4f", best.number, best.value)
    return {"value": best.value, "params": best_params}
