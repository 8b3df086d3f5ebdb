# Shared glue: output locations, the manifests (checkpoints), and the input and
# params functions of every rule. Each get_* function is a one-liner over
# ahrec.workflow.WorkflowPlan (and the per-shard lookups of ahrec.corpus.plan),
# where the planning logic lives and is unit-tested; these only hand it
# Snakemake's wildcards and the manifest once its checkpoint has run.

import functools
import re

from snakemake.exceptions import IncompleteCheckpointException

from ahrec.corpus import plan
from ahrec.corpus.manifest import read_manifest
from ahrec.workflow import (
    AUDIO_INDEX,
    EMBED_SHARD,
    FACE_CROPS,
    FACE_INDEX,
    FACE_STATS,
    MEDIA_DIR,
    NAME,
    SCENE_INDEX,
    TRANSCRIPTS,
    WorkflowPlan,
)

PLAN = WorkflowPlan(SETTINGS)
BATCHES = PLAN.batches
RESULTS = PLAN.results
LOGS = f"{RESULTS}/logs"
BENCH = f"{RESULTS}/benchmarks"
PREDICT = f"{RESULTS}/predict"
EXPORT = f"{RESULTS}/export"
PLOTS = f"{RESULTS}/plots"
DEMO_ROOT = PLAN.demo_folder()
MANIFEST = f"{RESULTS}/manifest.parquet"
# ffprobe results kept across manifest builds; deliberately no rule's output
PROBE_CACHE = f"{RESULTS}/cache/probes.parquet"
LABELS = f"{RESULTS}/labels/training.parquet"
UNIMODAL = f"{RESULTS}/unimodal/{{model}}"
FUSION = f"{RESULTS}/fusion/{{run}}"
ROOT_LOGS = "{root}/logs"
ROOT_BENCH = "{root}/benchmarks"


# Rules read the configuration one way: through the validated settings of the
# job's dataset, never through Snakemake's raw ``config``.
def job_settings(wc=None):
    """The validated settings (``ahrec.config.Settings``) of the job's dataset.

    This configuration's for every job but those of a batch of new videos
    (wildcard ``root`` under results/predict/), which use the exported
    ensemble's own. Without wildcards (planning at parse time): this
    configuration's.
    """
    return PLAN.dataset_settings(getattr(wc, "root", RESULTS))


def job_config(*keys):
    """Params function: the slice at ``keys`` of the job's dataset configuration."""
    return lambda wc: functools.reduce(lambda node, key: node[key], keys, job_settings(wc).config)


SHARDS = list(range(job_settings().config["shards"]))
DEVICE = job_settings().device


wildcard_constraints:
    root=re.escape(RESULTS) + rf"(?:/predict/{NAME})?",
    shard=r"\d+",
    modality=r"scene|face|audio|text",
    encoder=NAME,


def names_regex(names):
    """A wildcard regex matching exactly these names (and nothing when there are none)."""
    return "|".join(re.escape(n) for n in names) if names else r"(?!x)x"


def other_names_regex(names):
    """A wildcard regex matching any name but these."""
    return rf"(?!(?:{'|'.join(re.escape(n) for n in names)})$){NAME}" if names else NAME


# --- the manifests and the dataset of a job ---------------------------------------


@functools.lru_cache(maxsize=16)
def _read_manifest(path, mtime):
    return read_manifest(path)


def get_manifest(root=RESULTS):
    """The manifest of a dataset; asking for it makes Snakemake run its checkpoint first."""
    if root == RESULTS:
        path = checkpoints.manifest.get().output.manifest
    else:
        path = checkpoints.predict_manifest.get(name=BATCHES.name_of(root)).output.manifest
    return _read_manifest(path, os.path.getmtime(path))


def get_after_manifest(*patterns):
    """Inputs that do not come from the manifest, evaluated after its checkpoint.

    Reading the manifest first lets a job's params come from it, and lets
    Snakemake find that an upstream job needs no rerun once the new manifest is
    known (adding a video reruns one shard's faces, not all).
    """
    return after_manifest(lambda wc: [p.format(**dict(wc.items())) for p in patterns])


def after_manifest(function):
    """An input function evaluated after the manifest's checkpoint.

    Snakemake re-creates, once a checkpoint has run, only the jobs whose input
    functions waited on it; a job created before keeps the upstream jobs it
    was linked to, which all looked due while the manifest was rebuilt. Every
    job that must stay untouched when a corpus list changes (a shard's
    embeddings, the training tables, the models trained on them) therefore
    reads its inputs through this.
    """

    def inputs(wc):
        get_manifest(getattr(wc, "root", RESULTS))
        return function(wc)

    return inputs


# --- per shard (media, faces, transcripts, embeddings) ----------------------------


def get_shard_paths(wc):
    """Input function: the video files of the job's shard.

    A listed video that vanishes changes its manifest's rerun trigger (a batch's
    listing digest, the corpus's identity param), so Snakemake reruns the checkpoint
    first and builds these jobs from the new manifest: no missing input.
    """
    return [row["path"] for row in get_shard_media("audio")(wc)]


def get_shard_media(kind):
    """Params function: the manifest values of each video of the job's shard (``frames`` or
    ``audio``)."""
    return lambda wc: plan.shard_media(
        get_manifest(wc.root), wc.shard, kind, job_settings(wc).config["media"]["min_seconds"]
    )


def manifest_resource(compute, base):
    """A resource computed from the manifest, and ``base`` while the manifest is rebuilt.

    Snakemake (9.27) hands a resource function that waits on a checkpoint a bare 0
    that crashes its scheduler (an edited corpus list with a media setting); the
    job's resources are evaluated again once the manifest is there.
    """

    def resource(wc):
        try:
            return compute(wc)
        except IncompleteCheckpointException:
            return base

    return resource


def get_media_minutes(per_minute, threads, base=5):
    """Resources: a media shard job's runtime grows with its videos' duration."""
    return manifest_resource(
        lambda wc: plan.shard_media_runtime(
            get_manifest(wc.root),
            wc.shard,
            job_settings(wc).config["media"]["max_seconds"],
            per_minute,
            threads,
            base,
        ),
        base,
    )


def get_asr_minutes():
    """Resources: a transcripts job's runtime grows with the speech it must recognise."""
    return manifest_resource(
        lambda wc: plan.asr_runtime(
            get_manifest(wc.root),
            wc.shard,
            job_settings(wc).asr_kind.name,
            job_settings(wc).config["media"]["max_seconds"],
        ),
        plan.ASR_BASE_MINUTES,
    )


def get_shard_videos(wc):
    return plan.shard_video_ids(get_manifest(wc.root), wc.shard)


def get_asr_wavs(wc):
    return PLAN.asr_wavs(wc.root, wc.shard, get_manifest(wc.root))


def get_asr_inputs(wc):
    return PLAN.asr_inputs(wc.root, wc.shard, get_manifest(wc.root))


# --- encoders and models --------------------------------------------------------------


def get_encoder(modality):
    return lambda wc: job_settings(wc).encoder(modality, wc.encoder)


@after_manifest
def get_model_inputs(wc):
    return PLAN.model_inputs(job_settings(wc).unimodal[wc.model], RESULTS, training=True)


def get_predict_sources(wc):
    return PLAN.predict_sources(wc.name, wc.model)


# --- the report ---------------------------------------------------------------------


def ensemble_figures(kind, caption, subcategory):
    """One report item per multi-seed run (``kind`` names the figure), labelled by run."""
    figures = []
    for run in PLAN.ensemble_runs:
        # an assignment: a line starting with `report(` would read as the directive
        figure = report(
            f"{PLOTS}/{kind}/{run['run']}.svg",
            caption=caption,
            category="3. Ensembles",
            subcategory=subcategory,
            labels={"run": run["run"]},
        )
        figures.append(figure)
    return figures
