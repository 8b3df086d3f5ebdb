# Shared glue: output locations, the manifest (a checkpoint), per-job inputs
# and params, scheduler resources. The planning logic itself is in
# lib/ahrec/plan.py (unit-tested); these functions only hand it the manifest.

import dataclasses
import functools
import re

from ahrec import plan
from ahrec.corpus.manifest import read_manifest
from ahrec.embeddings.specs import encoder_spec, encoder_specs
from ahrec.models.specs import fusion_runs, unimodal_spec, unimodal_specs
from ahrec.stages.export import INPUT_SECTIONS, ExportedModel, config_slice, read_export

RESULTS = config["results"]
LOGS = f"{RESULTS}/logs"
BENCH = f"{RESULTS}/benchmarks"
PREDICT = f"{RESULTS}/predict"
EXPORT = f"{RESULTS}/export"
SHARDS = list(range(config["shards"]))
DEMO_ROOT = f"{RESULTS}/demo_corpus"
NEURAL_KINDS = {"videomae", "timm", "wav2vec2", "transformer", "yolo", "whisper"}

# Media, transcripts and embeddings are computed per dataset: the corpus under
# results/, and each batch of new videos to predict under results/predict/<name>/.
# {root} is that folder, so one set of rules serves both.
SCENE_FRAMES = "{root}/media/scene_frames/{video}.npz"
FACE_FRAMES = "{root}/media/face_frames/{video}.npz"
AUDIO = "{root}/media/audio/{video}.wav"
FACE_CROPS = "{root}/faces/shard-{shard}.npz"
FACE_STATS = "{root}/faces/shard-{shard}.parquet"
TRANSCRIPTS = "{root}/transcripts/shard-{shard}.parquet"
EMBED_SHARD = "{root}/embeddings/{modality}/{encoder}/shard-{shard}.parquet"
ROOT_LOGS = "{root}/logs"
ROOT_BENCH = "{root}/benchmarks"


def main(pattern, **values):
    """``pattern`` for the training corpus (root = results/)."""
    return pattern.format(root=RESULTS, **values)


wildcard_constraints:
    root=re.escape(RESULTS) + r"(?:/predict/[A-Za-z0-9][A-Za-z0-9_-]*)?",
    video=r"[A-Za-z0-9_-]+",
    shard=r"\d+",
    modality=r"scene|face|audio|text",
    encoder=r"[A-Za-z0-9][A-Za-z0-9_-]*",


def gpus(kind):
    """One GPU for neural models when config asks for CUDA; none otherwise."""
    return 1 if config["device"] == "cuda" and kind in NEURAL_KINDS else 0


# --- corpus -----------------------------------------------------------------


def get_manifest_input(wildcards):
    corpus = config["corpus"]
    if corpus["type"] == "demo":
        return rules.demo_corpus.output
    if corpus["type"] == "csv":
        return [corpus["manifest"]]
    root = corpus["root"]
    files = [os.path.join(root, name) for name in corpus["split_files"].values()]
    if corpus["hidden_test"]:
        files.append(os.path.join(root, corpus["hidden_test"]))
    return files


@functools.lru_cache(maxsize=16)
def _manifest_at(path, mtime):
    return read_manifest(path)


def manifest(root=RESULTS):
    """The manifest of a dataset; asking for it makes Snakemake run its checkpoint first."""
    if root == RESULTS:
        path = checkpoints.manifest.get().output.manifest
    else:
        path = checkpoints.predict_manifest.get(name=predict_name(root)).output.manifest
    return _manifest_at(path, os.path.getmtime(path))


def after_manifest(*patterns):
    """Inputs that do not come from the manifest, for jobs downstream of it.

    Reading the manifest here makes Snakemake evaluate the job after the
    checkpoint: its params may come from the manifest (they are evaluated only
    once the inputs no longer wait on it), and its upstream jobs may turn out
    not to need a rerun once the new manifest is known (adding a video reruns
    one shard's faces, not all). ``patterns`` may hold the rule's wildcards.
    """

    def inputs(wildcards):
        manifest(getattr(wildcards, "root", RESULTS))
        values = dict(wildcards.items())
        return [pattern.format(**values) for pattern in patterns]

    return inputs


# --- datasets: the corpus and the batches of new videos ------------------------


def predict_name(root):
    return root[len(PREDICT) + 1 :]


@functools.lru_cache(maxsize=None)
def predict_ensemble(name):
    """The exported ensemble a batch of new videos is predicted with (None: not exported yet)."""
    source = config["predict"][name]["ensemble"]
    if source in FUSION_RUNS:
        return None
    return read_export(source)


def ensemble_folder(name):
    source = config["predict"][name]["ensemble"]
    return f"{EXPORT}/{source}" if source in FUSION_RUNS else source


@functools.lru_cache(maxsize=None)
def _predict_settings(name):
    exported = predict_ensemble(name)
    if exported is None:
        return config
    return {**config, **{k: exported.config[k] for k in (*INPUT_SECTIONS, "embeddings")}}


def settings(root=RESULTS):
    """The configuration a dataset's inputs are built with: an exported ensemble's own
    (frame sampling, detector, ASR, encoders) when its new videos are predicted with one."""
    return config if root == RESULTS else _predict_settings(predict_name(root))


def wc_settings(wc):
    """The settings of a job's dataset (the corpus for rules without a {root})."""
    return settings(getattr(wc, "root", RESULTS))


def all_settings():
    return [config, *(_predict_settings(name) for name in config["predict"])]


# --- per video and per shard ------------------------------------------------


def video_value(wc, column):
    return plan.cell(plan.video_row(manifest(wc.root), wc.video)[column])


def video_path(wc):
    return video_value(wc, "path")


def shard_videos(wc):
    return plan.shard_video_ids(manifest(wc.root), wc.shard)


def per_video(pattern):
    """Input function: ``pattern`` (with {root} and {video}) for every video of the job's shard."""
    return lambda wc: [pattern.format(root=wc.root, video=v) for v in shard_videos(wc)]


def asr_wavs(wc):
    """Audio of the videos of a shard that need speech recognition, by video id."""
    kind = settings(wc.root)["transcripts"]["asr"]["kind"]
    ids = plan.asr_video_ids(manifest(wc.root), wc.shard, kind)
    return {video_id: AUDIO.format(root=wc.root, video=video_id) for video_id in ids}


def setting(*keys):
    """Params function: a slice of the dataset's configuration."""

    def value(wc):
        node = settings(wc.root)
        for key in keys:
            node = node[key]
        return node

    return value


# --- embeddings -------------------------------------------------------------


def spec_params(modality):
    return lambda wc: encoder_spec(wc_settings(wc), modality, wc.encoder).as_params()


def spec_gpus(modality):
    return lambda wc: gpus(encoder_spec(wc_settings(wc), modality, wc.encoder).kind)


def encoder_names_regex(modality, corpus_level):
    """A wildcard regex matching exactly the configured encoder names of a kind of rule."""
    names = sorted(
        {
            spec.name
            for source in all_settings()
            for spec in encoder_specs(source, modality)
            if spec.is_corpus_level == corpus_level
        }
    )
    return "|".join(re.escape(n) for n in names) if names else r"(?!x)x"


def embedding_tables():
    """Every configured embedding table (one per modality and encoder)."""
    return [
        f"{RESULTS}/embeddings/{spec.modality}/{spec.name}.parquet"
        for spec in encoder_specs(config)
    ]


# --- models -----------------------------------------------------------------

LABELS = f"{RESULTS}/labels/training.parquet"
UNIMODAL = f"{RESULTS}/unimodal/{{model}}"
FUSION = f"{RESULTS}/fusion/{{run}}"
UNIMODAL_NAMES = [spec.name for spec in unimodal_specs(config)]
FUSION_RUNS = {run.name: run for run in fusion_runs(config)}


def names_regex(names):
    return "|".join(re.escape(n) for n in names) if names else r"(?!x)x"


def unimodal_inputs(wildcards):
    """What a unimodal model reads: an embedding table, the transcripts or scene frames."""
    spec = unimodal_spec(config, wildcards.model)
    if spec.input in ("embedding", "sequence"):
        return [f"{RESULTS}/embeddings/{spec.modality}/{spec.options.embedding}.parquet"]
    if spec.input == "transcripts":
        return [f"{RESULTS}/transcripts.parquet"]
    return [main(SCENE_FRAMES, video=v) for v in sorted(manifest()["video_id"])]


NEURAL_MODEL_KINDS = {"temporal", "text_finetune", "videomae_finetune"}


def unimodal_gpus(wildcards):
    kind = unimodal_spec(config, wildcards.model).kind
    return 1 if config["device"] == "cuda" and kind in NEURAL_MODEL_KINDS else 0


def predict_gpus(wildcards):
    kind = {m.name: m.kind for m in predict_models(wildcards.name)}[wildcards.model]
    return 1 if config["device"] == "cuda" and kind in NEURAL_MODEL_KINDS else 0


def run_embeddings(wildcards):
    return [f"{RESULTS}/unimodal/{m}/embeddings.parquet" for m in FUSION_RUNS[wildcards.run].models]


def search_embeddings(wildcards):
    run = FUSION_RUNS[config["search"][wildcards.name]["run"]]
    return [f"{RESULTS}/unimodal/{m}/embeddings.parquet" for m in run.models]


def submission_predictions(wildcards):
    run = config["fusion"]["submission"]
    if not run:
        raise WorkflowError("fusion.submission is not set: name the fusion run whose ensemble to submit")
    return f"{RESULTS}/fusion/{run}/ensemble/predictions.parquet"


def run_best_params(wildcards):
    source = FUSION_RUNS[wildcards.run].from_search
    return [f"{RESULTS}/search/{source}/best.yaml"] if source else []


def run_seeds(run):
    return list(FUSION_RUNS[run].seeds)


def search_seeds(name):
    return list(config["search"][name].get("seeds") or config["fusion"]["seeds"])


def submission_split():
    split = config["submission"]["split"]
    if split == "auto":
        return "hidden" if config["corpus"]["hidden_test"] else "test"
    return split


def table_rows():
    """The results table in the paper's order: unimodal models, then every fusion run."""
    rows, number = [], 0
    ids = {}
    for spec in unimodal_specs(config):
        number += 1
        ids[spec.name] = number
        rows.append(
            {
                "id": number,
                "system": spec.label,
                "modality": spec.modality,
                "models": spec.name,
                "metrics": f"{RESULTS}/unimodal/{spec.name}/metrics.json",
            }
        )
    for run in FUSION_RUNS.values():
        models = ", ".join(str(ids[m]) for m in run.models)
        modality = "+".join(unimodal_spec(config, m).modality for m in run.models)
        number += 1
        rows.append(
            {
                "id": number,
                "system": f"{run.label} (seed {run.seeds[0]})",
                "modality": modality,
                "models": models,
                "metrics": f"{RESULTS}/fusion/{run.name}/seed{run.seeds[0]}/metrics.json",
            }
        )
        if len(run.seeds) > 1:
            number += 1
            rows.append(
                {
                    "id": number,
                    "system": f"{run.label}, ensemble of {len(run.seeds)} seeds",
                    "modality": modality,
                    "models": models,
                    "metrics": f"{RESULTS}/fusion/{run.name}/ensemble/metrics.json",
                }
            )
    return rows


# --- prediction on new videos and exported ensembles --------------------------

PREDICT_NAMES = list(config["predict"])


def predict_models(name):
    """The ensemble's unimodal models (name, modality, kind, input, embedding), in fusion order."""
    exported = predict_ensemble(name)
    models = list(exported.models) if exported else export_models(config["predict"][name]["ensemble"])
    for model in models:
        if model.embedding and encoder_spec(_predict_settings(name), model.modality, model.embedding).is_corpus_level:
            raise WorkflowError(
                f"predict.{name}: model {model.name} reads the corpus-level table "
                f"{model.modality}/{model.embedding}, which cannot be computed for new videos alone"
            )
    return models


def export_models(run):
    models = []
    for name in FUSION_RUNS[run].models:
        spec = unimodal_spec(config, name)
        embedding = spec.options.embedding if spec.input in ("embedding", "sequence") else None
        models.append(ExportedModel(name, spec.modality, spec.kind, spec.input, embedding))
    return models


def predict_model_sources(wildcards):
    """What an ensemble's unimodal model reads for the new videos."""
    root = f"{PREDICT}/{wildcards.name}"
    model = {m.name: m for m in predict_models(wildcards.name)}[wildcards.model]
    if model.input in ("embedding", "sequence"):
        return [f"{root}/embeddings/{model.modality}/{model.embedding}.parquet"]
    if model.input == "transcripts":
        return [f"{root}/transcripts.parquet"]
    return [SCENE_FRAMES.format(root=root, video=v) for v in sorted(manifest(root)["video_id"])]


def predict_tables(wildcards):
    return [
        f"{PREDICT}/{wildcards.name}/unimodal/{m.name}/embeddings.parquet"
        for m in predict_models(wildcards.name)
    ]


def predict_face_detection(wildcards):
    """The new videos' face detection table, when the ensemble has a face model."""
    if any(m.modality == "face" for m in predict_models(wildcards.name)):
        return [f"{PREDICT}/{wildcards.name}/faces/detection.parquet"]
    return []


def export_params(run):
    spec = FUSION_RUNS[run]
    return {
        "label": spec.label,
        "seeds": list(spec.seeds),
        "models": [dataclasses.asdict(m) for m in export_models(run)],
        "config": config_slice(config, run),
    }


# --- report ---

PLOTS = f"{RESULTS}/plots"
# Fusion runs with several seeds have an ensemble: its figures, and the seed spread.
ENSEMBLE_RUNS = [name for name, run in FUSION_RUNS.items() if len(run.seeds) > 1]


def report_runs():
    """The fusion runs the report draws per run: label, ensemble and seed predictions."""
    return [
        {
            "run": name,
            "label": FUSION_RUNS[name].label,
            "ensemble": f"{RESULTS}/fusion/{name}/ensemble/predictions.parquet",
            "seeds": {
                seed: f"{RESULTS}/fusion/{name}/seed{seed}/predictions.parquet"
                for seed in FUSION_RUNS[name].seeds
            },
        }
        for name in ENSEMBLE_RUNS
    ]


def table_kinds():
    """Each results-table row's kind by id (unimodal, fusion or ensemble), for the figures."""
    kinds = {}
    for row in table_rows():
        member = os.path.basename(os.path.dirname(row["metrics"]))  # seed<k> or ensemble
        if row["models"] in UNIMODAL_NAMES:
            kinds[row["id"]] = "unimodal"
        else:
            kinds[row["id"]] = "ensemble" if member == "ensemble" else "fusion"
    return kinds


def ensemble_figures(kind, caption, subcategory):
    """One report item per ensemble run (``kind`` names the figure), labelled by run."""
    figures = []
    for name in ENSEMBLE_RUNS:
        figure = report(
            f"{PLOTS}/{kind}/{name}.svg",
            caption=caption,
            category="2. Ensembles",
            subcategory=subcategory,
            labels={"run": name},
        )
        figures.append(figure)
    return figures


def report_figures():
    """Every figure of the report, as plain paths (the default target asks for them)."""
    return [
        f"{PLOTS}/table.html",
        f"{PLOTS}/mf1.svg",
        f"{PLOTS}/seeds.svg",
        *(f"{PLOTS}/{kind}/{name}.svg" for kind in ("confusion", "curves") for name in ENSEMBLE_RUNS),
        f"{PLOTS}/availability.svg",
        f"{PLOTS}/resources.svg",
    ]
