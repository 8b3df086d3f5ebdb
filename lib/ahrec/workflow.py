"""Where every output lives and what each rule reads: the logic behind rules/common.smk.

The Snakefile's input functions are one-liners over a ``WorkflowPlan``; the
planning itself (which tables a model reads, which files a run's seeds write,
which videos of a shard need speech recognition) is here, where it is
unit-tested without Snakemake. Per-video and per-shard lookups take the
manifest as an argument: the rules hand it over once its checkpoint has run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ahrec.corpus import plan
from ahrec.corpus.formats import DEMO_FOLDER
from ahrec.corpus.identity import corpus_fingerprint
from ahrec.corpus.new_videos import listing_digest
from ahrec.corpus.records import prediction_shards
from ahrec.demo.settings import DemoSettings
from ahrec.device import gpu_request
from ahrec.evaluation.systems import ensemble_runs, table_rows
from ahrec.predict.plan import PredictBatches

if TYPE_CHECKING:
    import pandas as pd

    from ahrec.config import Settings

# Media, transcripts and embeddings are computed per dataset: the corpus under
# results/, and each batch of new videos to predict under results/predict/<name>/.
# {root} is that folder, so one set of rules serves both. Media files are per
# video, written by one job per shard whose output is the shard's index (which
# file holds each video): planning grows with shards, not videos.
AUDIO = "{root}/media/audio/{video}.wav"
MEDIA_DIR = "{root}/media/{kind}"
MEDIA_INDEX = "{root}/media/{kind}/shards/shard-{shard}.json"
SCENE_INDEX = MEDIA_INDEX.replace("{kind}", "scene_frames")
FACE_INDEX = MEDIA_INDEX.replace("{kind}", "face_frames")
AUDIO_INDEX = MEDIA_INDEX.replace("{kind}", "audio")
FACE_CROPS = "{root}/faces/shard-{shard}.npz"
FACE_STATS = "{root}/faces/shard-{shard}.parquet"
# A search job asks for one thread per fit of a trial, up to this many (its memory grows with them).
MAX_SEARCH_THREADS = 16
TRANSCRIPTS = "{root}/transcripts/shard-{shard}.parquet"
EMBED_SHARD = "{root}/embeddings/{modality}/{encoder}/shard-{shard}.parquet"
NAME = r"[A-Za-z0-9][A-Za-z0-9_-]*"


class WorkflowPlan:
    """The outputs and inputs of every rule, for one validated configuration."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.results = str(settings.config["results"])
        self.shards = list(range(int(settings.config["shards"])))
        # the corpus's shards of training videos (train, val): what models train from
        self.training_shards = self.shards[: len(self.shards) - prediction_shards(len(self.shards))]
        self.batches = PredictBatches(settings, self.results)
        self.table_rows = table_rows(settings, self.results)
        self.ensemble_runs = ensemble_runs(settings, self.results)
        self._listings: dict[str, str] = {}
        self._identity: dict[str, str | None] = {}

    # -- the dataset of a job ---------------------------------------------------------

    def dataset_settings(self, root: str) -> Settings:
        """The settings a dataset is built with: an exported ensemble's own for its batch."""
        if root == self.results:
            return self.settings
        return self.batches.dataset_settings(self.batches.name_of(root))

    def gpus(self, neural: bool) -> int:
        return gpu_request(neural, self.settings.device)

    # -- corpus and embeddings ----------------------------------------------------------

    def manifest_inputs(self) -> list[str]:
        """The files the manifest is read from: the split files, the CSV, or the demo's lists."""
        return self.settings.corpus.inputs()

    def demo_folder(self) -> str:
        """Where the demo_corpus rule writes the demo corpus (the rule exists whatever the
        corpus; the demo's ``corpus.folder`` says where when the corpus is the demo)."""
        return getattr(self.settings.corpus, "folder", None) or f"{self.results}/{DEMO_FOLDER}"

    def demo_settings(self) -> dict[str, Any]:
        """What the demo corpus looks like (its options but the folder): the demo_corpus
        rule's params, so that a changed option regenerates it; empty for another corpus."""
        corpus = self.settings.corpus
        return corpus.settings() if isinstance(corpus, DemoSettings) else {}

    def manifest_identity(self) -> str | None:
        """A hash of every listed video's path and stat (inode, size, mtime, change time): a
        params value of the manifest, so that a recording replaced or edited in place (its
        mtime put back or not) reruns it, and the manifest hashes and probes it again.

        One ``stat`` per listed file, once per planning (``docs/measurements.md``);
        None for the demo, whose videos come with its lists.
        """
        if "corpus" not in self._identity:
            self._identity["corpus"] = corpus_fingerprint(self.settings.config["corpus"])
        return self._identity["corpus"]

    def embedding_tables(self) -> list[str]:
        """Every configured embedding table of the corpus (one per modality and encoder)."""
        return [
            f"{self.results}/embeddings/{s.modality}/{s.name}.parquet"
            for s in self.settings.encoders
        ]

    def corpus_level_encoders(self) -> list[str]:
        return [s.name for s in self.settings.encoders if s.is_corpus_level]

    def asr_wavs(self, root: str, shard: int | str, manifest: pd.DataFrame) -> dict[str, str]:
        """Audio of the videos of a shard that need speech recognition, by video id."""
        kind = self.dataset_settings(root).asr_kind.name
        ids = plan.asr_video_ids(manifest, shard, kind)
        return {video_id: AUDIO.format(root=root, video=video_id) for video_id in ids}

    def asr_inputs(self, root: str, shard: int | str, manifest: pd.DataFrame) -> list[str]:
        """The shard's audio index when some of its videos need speech recognition, else none:
        a shard whose transcripts all come from the corpus waits on no audio job."""
        if self.asr_wavs(root, shard, manifest):
            return [AUDIO_INDEX.format(root=root, shard=shard)]
        return []

    # -- models -------------------------------------------------------------------------

    def model_inputs(self, spec: Any, root: str, training: bool = False) -> list[str]:
        """What a unimodal model (or an exported one) reads in a dataset: a table, or the
        scene-frame indexes of its shards (the frames themselves are read per video).

        ``training``: the corpus's training videos only (the training job's
        input, which a test video's arrival leaves unchanged).
        """
        part = ".training" if training else ""
        if spec.input in ("embedding", "sequence"):
            return [f"{root}/embeddings/{spec.modality}/{spec.embedding}{part}.parquet"]
        if spec.input == "transcripts":
            return [f"{root}/transcripts{part}.parquet"]
        shards = self.training_shards if training else self.shards
        return [SCENE_INDEX.format(root=root, shard=s) for s in shards]

    def unimodal_embeddings(self, models: Any, fit: bool = False) -> list[str]:
        """The unimodal models' embeddings of every video, or (``fit``) of the training videos
        only, which their training jobs write and the fusion trains on."""
        folder = "fit/" if fit else ""
        return [f"{self.results}/unimodal/{m}/{folder}embeddings.parquet" for m in models]

    def run_best_params(self, run: str) -> list[str]:
        source = self.settings.runs[run].from_search
        return [f"{self.results}/search/{source}/best.yaml"] if source else []

    def seed_files(self, run: str, name: str) -> list[str]:
        """A file (``predictions.parquet``, ``model``...) of every seed of a run."""
        return [
            f"{self.results}/fusion/{run}/seed{s}/{name}" for s in self.settings.runs[run].seeds
        ]

    def search_fits(self, search: str) -> int:
        """The threads a search asks for: one worker process per fit of a trial (seeds, times
        the CV folds), at most ``MAX_SEARCH_THREADS``.

        Snakemake lowers a job's threads to ``--cores`` on one machine, but a cluster
        job gets what it asks for (and memory with it); the trials are the same on any
        number of workers, so the cap costs time only."""
        evaluation = self.settings.evaluation
        fits = len(self.settings.searches[search].seeds) * (
            evaluation.folds if evaluation.cv else 1
        )
        return min(fits, MAX_SEARCH_THREADS)

    def search_embeddings(self, search: str) -> list[str]:
        return self.unimodal_embeddings(
            self.settings.runs[self.settings.searches[search].run].models, fit=True
        )

    # -- results --------------------------------------------------------------------------

    def candidate_runs(self) -> dict[str, str]:
        """Every run's predictions (its ensemble's, or its one seed's): what the submission is
        chosen among."""
        candidates = {}
        for name, run in self.settings.runs.items():
            member = "ensemble" if len(run.seeds) > 1 else f"seed{run.seeds[0]}"
            candidates[name] = f"{self.results}/fusion/{name}/{member}/predictions.parquet"
        return candidates

    def calibration_files(self) -> dict[str, str]:
        """Every run's calibration map (the submission and the explanations use the chosen one's)."""
        return {
            name: f"{self.results}/fusion/{name}/calibration.json" for name in self.settings.runs
        }

    def explain_runs(self) -> dict[str, dict[str, Any]]:
        """Per run, what explaining its ensemble reads (the explanations use the chosen one's)."""
        runs = {}
        for name, run in self.settings.runs.items():
            runs[name] = {
                "tables": self.unimodal_embeddings(run.models),
                "models": self.seed_files(name, "model"),
                "selection": self.seed_files(name, "selection.json")[0],
                "calibration": self.calibration_files()[name],
                "predictions": self.candidate_runs()[name],
            }
        return runs

    def explain_inputs(self) -> list[str]:
        files = []
        for spec in self.explain_runs().values():
            files += [*spec["tables"], *spec["models"], spec["selection"], spec["calibration"]]
            files.append(spec["predictions"])
        return list(dict.fromkeys(files))

    def metrics_files(self) -> list[str]:
        """Every system's metrics file (per-model intervals; the default target asks for them)."""
        return [row["metrics"] for row in self.table_rows]

    def table_inputs(self) -> list[str]:
        """The predictions the results table scores: every row's, and the seeds of every ensemble."""
        files = [row["predictions"] for row in self.table_rows]
        files += [path for row in self.table_rows for path in row.get("seeds", [])]
        return list(dict.fromkeys(files))

    def demo_cues(self) -> list[str]:
        """The demo's planted cues (every system's ceiling), when the corpus is the demo."""
        if self.settings.config["corpus"]["type"] != "demo":
            return []
        return [f"{self.demo_folder()}/demo_cues.csv"]

    def submission_split(self) -> str:
        """``auto``: the hidden-test list when the corpus has one, else the test list."""
        split = self.settings.config["submission"]["split"]
        if split == "auto":
            return "hidden" if getattr(self.settings.corpus, "hidden_test", None) else "test"
        return str(split)

    # -- prediction on new videos ----------------------------------------------------------

    def batch_listing(self, name: str) -> str:
        """The rerun trigger of a batch's manifest (a param of ``predict_manifest``): a digest
        of every video its folder holds at any depth, or its CSV lists, with sizes and
        modification times (``listing_digest``).

        The rule's input is the folder itself, whose modification time changes only when
        an entry directly in it does: a video added to or removed from a subfolder would
        leave the old manifest, and a removed one would then be a missing input of its
        media jobs. Computed once per planning (a bounded walk of the tree).
        """
        if name not in self._listings:
            self._listings[name] = listing_digest(self.batches.entries[name]["videos"])
        return self._listings[name]

    def predict_sources(self, name: str, model: str) -> list[str]:
        return self.model_inputs(self.batches.model(name, model), self.batches.root(name))

    def predict_tables(self, name: str) -> list[str]:
        root = self.batches.root(name)
        return [f"{root}/unimodal/{m.name}/embeddings.parquet" for m in self.batches.models(name)]

    def predict_face_detection(self, name: str) -> list[str]:
        """The new videos' face detection table, when the ensemble has a face model."""
        if any(m.modality == "face" for m in self.batches.models(name)):
            return [f"{self.batches.root(name)}/faces/detection.parquet"]
        return []

    # -- the report -------------------------------------------------------------------------

    def report_figures(self) -> list[str]:
        """Every figure of the report (the default target asks for them)."""
        plots = f"{self.results}/plots"
        per_run = [
            f"{plots}/{kind}/{r['run']}.svg"
            for kind in ("confusion", "curves")
            for r in self.ensemble_runs
        ]
        singles = ["table.html", "mf1.svg", "seeds.svg", "reliability.svg", "explanations.html"]
        return [
            *(f"{plots}/{f}" for f in singles),
            *per_run,
            f"{plots}/availability.svg",
            f"{plots}/resources.svg",
        ]
