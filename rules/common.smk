# Shared glue: output locations, the manifest (a checkpoint), per-job inputs
# and params, scheduler resources. The planning logic itself is in
# lib/ahrec/plan.py (unit-tested); these functions only hand it the manifest.

import functools
import re

from ahrec import plan
from ahrec.corpus.manifest import read_manifest
from ahrec.embeddings.specs import encoder_spec, encoder_specs

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
