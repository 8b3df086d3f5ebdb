"""What the prediction rules need to know about each batch of new videos under ``predict:``.

A batch is predicted with a fusion run of this workflow (exported first to
``results/export/<run>``) or with an ensemble exported elsewhere. Its videos
go through the media, transcript and embedding rules with the settings the
ensemble was trained with: an export's own ``config.yaml`` for the inputs,
whatever the local configuration says. An export is read only when one of its
batch's targets is asked for, and a broken one cannot break other targets: its
batch plans no media, transcript or model job, and its ``predict`` job fails
with the export's problems (``problem``), while every other batch and the
corpus's own targets plan and run as usual.
"""

from __future__ import annotations

from pathlib import Path

from ahrec.config import Settings, load_settings
from ahrec.errors import ConfigError
from ahrec.predict.export import (
    INPUT_SECTIONS,
    ExportedEnsemble,
    ExportedModel,
    export_models,
    read_export,
)


class PredictBatches:
    """The batches named under ``predict:`` of one configuration."""

    def __init__(self, settings: Settings, results: str) -> None:
        self.settings = settings
        self.results = results
        self.entries = dict(settings.config["predict"])
        self._exported: dict[str, ExportedEnsemble | None] = {}
        self._settings: dict[str, Settings] = {}
        self._models: dict[str, tuple[ExportedModel, ...]] = {}
        self._problems: dict[str, str | None] = {}

    @property
    def names(self) -> list[str]:
        return list(self.entries)

    def root(self, name: str) -> str:
        """The batch's dataset folder: its media, embeddings and predictions go there."""
        return f"{self.results}/predict/{name}"

    def name_of(self, root: str) -> str:
        return root[len(self.results) + len("/predict/") :]

    def source(self, name: str) -> str:
        return str(self.entries[name]["ensemble"])

    def is_run(self, name: str) -> bool:
        return self.source(name) in self.settings.runs

    def ensemble_folder(self, name: str) -> str:
        source = self.source(name)
        return f"{self.results}/export/{source}" if self.is_run(name) else source

    def exported(self, name: str) -> ExportedEnsemble | None:
        """The exported ensemble a batch names (None for a run of this workflow)."""
        if name not in self._exported:
            self._exported[name] = None if self.is_run(name) else read_export(self.source(name))
        return self._exported[name]

    def dataset_settings(self, name: str) -> Settings:
        """The settings the batch's inputs are built with (an export's own, validated)."""
        if name not in self._settings:
            self._settings[name] = self._dataset_settings(name)
        return self._settings[name]

    def _dataset_settings(self, name: str) -> Settings:
        exported = self.exported(name)
        if exported is None:
            return self.settings
        sections = {k: exported.config[k] for k in (*INPUT_SECTIONS, "embeddings")}
        try:
            return load_settings(sections)
        except ConfigError as exc:
            raise ConfigError(f"{Path(exported.folder) / 'config.yaml'}: {exc}") from None

    def models(self, name: str) -> tuple[ExportedModel, ...]:
        """The ensemble's unimodal models (name, modality, kind, input, embedding), in fusion order.

        None for a batch whose ensemble cannot be used (see ``problem``): it
        plans no job but its ``predict`` job, which fails with the problem.
        """
        if self.problem(name):
            return ()
        return self._models[name]

    def problem(self, name: str) -> str | None:
        """Why the batch's ensemble cannot be used (the export's errors), or None."""
        if name not in self._problems:
            try:
                self._models[name] = self._checked_models(name)
                self._problems[name] = None
            except ConfigError as exc:
                self._problems[name] = f"predict.{name}: {exc}"
        return self._problems[name]

    def unknown(self, name: str) -> list[str]:
        """Raise the error for a batch name no configuration file declares.

        Without it Snakemake says only "No rule to produce .../predictions.csv",
        for a misspelt name as for a ``predict:`` section written in a file
        this run does not read (with a preset, ``config.yaml`` is not read).
        """
        configured = ", ".join(self.names) or "none"
        raise ConfigError(
            f"predict batch {name!r} is not in this run's configuration (configured: "
            f"{configured}). Declare it in a file of your own, e.g. mine.yaml with\n"
            f"  predict:\n    {name}:\n      videos: /path/to/videos   # a folder or a CSV list\n"
            f"      ensemble: fusion_proto\n"
            f"and give it after the others: snakemake --configfile config.yaml mine.yaml ..., "
            f"or with a preset: --configfile presets/<preset>.yaml mine.yaml (docs/outputs.md)"
        )

    def unless_broken(self, name: str, *paths: str) -> list[str]:
        """``paths`` (a job's inputs), or none when the batch's ensemble cannot be used."""
        return [] if self.problem(name) else list(paths)

    def _checked_models(self, name: str) -> tuple[ExportedModel, ...]:
        exported = self.exported(name)
        models = (
            exported.models if exported else tuple(export_models(self.settings, self.source(name)))
        )
        settings = self.dataset_settings(name)
        for model in models:
            if (
                model.embedding
                and settings.encoder(model.modality, model.embedding).is_corpus_level
            ):
                raise ConfigError(
                    f"predict.{name}: model {model.name} reads the corpus-level table "
                    f"{model.modality}/{model.embedding}, which cannot be computed for new videos alone"
                )
        return tuple(models)

    def model(self, name: str, model: str) -> ExportedModel:
        return {m.name: m for m in self.models(name)}[model]
