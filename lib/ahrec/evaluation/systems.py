"""The systems of the results table, in the paper's order: what each row is and where it lives.

Light (no pandas): the Snakefile plans the table, the report and the choice
of the submitted run from these rows at parse time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ahrec.config import Settings


def table_rows(settings: Settings, results: str) -> list[dict[str, Any]]:
    """The results table's rows in the paper's order: unimodal models, then every fusion run.

    Each row says what it is (``kind``: unimodal, fusion (one seed), ablation or ensemble)
    and where its metrics are, so nothing downstream parses it back out of a path.
    """
    rows: list[dict[str, Any]] = []
    ids: dict[str, int] = {}
    for spec in settings.unimodal.values():
        ids[spec.name] = len(rows) + 1
        folder = f"{results}/unimodal/{spec.name}"
        rows.append(_row(len(rows) + 1, spec.label, spec.modality, spec.name, "unimodal", folder))
    for run in settings.runs.values():
        models = ", ".join(str(ids[m]) for m in run.models)
        modality = "+".join(settings.unimodal[m].modality for m in run.models)
        # a late fusion has no seed to name: every seed fits the same model
        first = run.label if run.params.late else f"{run.label} (seed {run.seeds[0]})"
        members = [(first, "fusion", f"seed{run.seeds[0]}")]
        if len(run.seeds) > 1:
            members.append(
                (f"{run.label}, ensemble of {len(run.seeds)} seeds", "ensemble", "ensemble")
            )
        for label, kind, member in members:
            folder = f"{results}/fusion/{run.name}/{member}"
            row = _row(len(rows) + 1, label, modality, models, kind, folder, run.name)
            if kind == "ensemble":
                row["seeds"] = [
                    f"{results}/fusion/{run.name}/seed{s}/predictions.parquet" for s in run.seeds
                ]
            rows.append(row)
    # As the paper groups its rows: a single-seed fusion over fewer modalities than the
    # widest fusion of the table is an ablation.
    widest = max((r["modality"].count("+") + 1 for r in rows if r["kind"] != "unimodal"), default=1)
    for row in rows:
        if row["kind"] == "fusion" and row["modality"].count("+") + 1 < widest:
            row["kind"] = "ablation"
    return rows


def _row(
    number: int,
    system: str,
    modality: str,
    models: str,
    kind: str,
    folder: str,
    run: str | None = None,
) -> dict[str, Any]:
    return {
        "id": number,
        "system": system,
        "modality": modality,
        "models": models,
        "kind": kind,
        "run": run,
        "metrics": f"{folder}/metrics.json",
        "predictions": f"{folder}/predictions.parquet",
    }


def ensemble_runs(settings: Settings, results: str) -> list[dict[str, Any]]:
    """The fusion runs with several seeds (the report draws their ensembles and seed spread)."""
    return [
        {
            "run": run.name,
            "label": run.label,
            "ensemble": f"{results}/fusion/{run.name}/ensemble/predictions.parquet",
            "seeds": {
                seed: f"{results}/fusion/{run.name}/seed{seed}/predictions.parquet"
                for seed in run.seeds
            },
        }
        for run in settings.runs.values()
        if len(run.seeds) > 1
    ]
