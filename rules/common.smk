# Shared glue: output locations, the manifest (a checkpoint), per-job inputs
# and params, scheduler resources. The planning logic itself is in
# lib/ahrec/plan.py (unit-tested); these functions only hand it the manifest.

import functools
import re

from ahrec import plan
from ahrec.corpus.manifest import read_manifest
from ahrec.embeddings.specs import encoder_spec, encoder_specs
from ahrec.models.specs import fusion_runs, unimodal_spec, unimodal_specs

RESULTS = config["results"]
LOGS = f"{RESULTS}/logs"
BENCH = f"{RESULTS}/benchmarks"
SHARDS = list(range(config["shards"]))
DEMO_ROOT = f"{RESULTS}/demo_corpus"
NEURAL_KINDS = {"videomae", "timm", "wav2vec2", "transformer", "yolo", "whisper"}
ASR_KIND = config["transcripts"]["asr"]["kind"]

SCENE_FRAMES = f"{RESULTS}/media/scene_frames/{{video}}.npz"
FACE_FRAMES = f"{RESULTS}/media/face_frames/{{video}}.npz"
AUDIO = f"{RESULTS}/media/audio/{{video}}.wav"
FACE_CROPS = f"{RESULTS}/faces/shard-{{shard}}.npz"
FACE_STATS = f"{RESULTS}/faces/shard-{{shard}}.parquet"
TRANSCRIPTS = f"{RESULTS}/transcripts/shard-{{shard}}.parquet"
EMBED_SHARD = f"{RESULTS}/embeddings/{{modality}}/{{encoder}}/shard-{{shard}}.parquet"


wildcard_constraints:
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


@functools.lru_cache(maxsize=4)
def _manifest_at(path, mtime):
    return read_manifest(path)


def manifest():
    """The manifest table; asking for it makes Snakemake run the checkpoint first."""
    path = checkpoints.manifest.get().output.manifest
    return _manifest_at(path, os.path.getmtime(path))


def after_manifest(files):
    """Inputs that do not come from the manifest, for a rule whose params do.

    Snakemake evaluates params only once a rule's inputs no longer wait on a
    checkpoint; reading the manifest here makes the rule wait for it too.
    """

    def inputs(wildcards):
        manifest()
        return files

    return inputs


# --- per video and per shard ------------------------------------------------


def video_value(video_id, column):
    return plan.cell(plan.video_row(manifest(), video_id)[column])


def per_video(pattern, shard):
    """``pattern`` (with a {video} field) for every video of a shard."""
    return [pattern.format(video=v) for v in plan.shard_video_ids(manifest(), shard)]


def asr_wavs(shard):
    """Audio of the videos of a shard that need speech recognition, by video id."""
    ids = plan.asr_video_ids(manifest(), shard, ASR_KIND)
    return {video_id: AUDIO.format(video=video_id) for video_id in ids}


# --- embeddings -------------------------------------------------------------


def spec_params(modality):
    return lambda wc: encoder_spec(config, modality, wc.encoder).as_params()


def spec_gpus(modality):
    return lambda wc: gpus(encoder_spec(config, modality, wc.encoder).kind)


def encoder_names_regex(modality, corpus_level):
    """A wildcard regex matching exactly the configured encoder names of a kind of rule."""
    names = [
        spec.name
        for spec in encoder_specs(config, modality)
        if spec.is_corpus_level == corpus_level
    ]
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
    return sorted(SCENE_FRAMES.format(video=v) for v in manifest()["video_id"])


def unimodal_gpus(wildcards):
    kind = unimodal_spec(config, wildcards.model).kind
    return 1 if config["device"] == "cuda" and kind in {"temporal", "text_finetune", "videomae_finetune"} else 0


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
