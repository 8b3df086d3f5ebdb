"""The unimodal model kinds: one table row each, with the options a config entry may set.

A row names the options class (defaults: the paper's values,
``docs/method.md``), the module implementing the model, what the model reads
(an embedding table, a sequence table, the transcripts or the scene frames),
the modalities it works on, and whether it is neural. Adding a kind means
adding its module, its options class and its row here.

Light (no torch): the Snakefile validates the configuration with it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ahrec.kinds import (
    Kind,
    KindTable,
    choice,
    count,
    fraction,
    number,
    option,
    options_dict,
    random_seed,
)
from ahrec.training.settings import TrainSettings

MODALITIES = ("scene", "face", "audio", "text")
INPUTS = ("embedding", "sequence", "transcripts", "scene_frames")


@dataclass(frozen=True)
class MlpSpec(TrainSettings):
    """Face, the paper: statistical features -> MLP 2560 -> 16 -> 256 -> 2 (256-d embedding)."""

    embedding: str = option("hog", "the encoder (under embeddings.<modality>) whose table it reads")
    hidden: tuple[int, ...] = option(
        (16, 256), "hidden layer widths; the last is the embedding", low=1, high=65536
    )
    dropout: float = fraction(0.3, "dropout after each hidden block")
    standardise: bool = option(
        False,
        "standardise the inputs with the training videos' mean and std first. The authors "
        "feed the raw statistics (false); true (ours) helps where features differ in scale "
        "by orders of magnitude (the mean and std halves, HOG cells): the first Linear then "
        "sees comparable inputs and one learning rate suits every feature",
    )
    weight_decay: float = 1e-3
    patience: int = 20
    seed: int = random_seed(42, "seed of initial weights, batches and dropout")


@dataclass(frozen=True)
class LinearSpec(TrainSettings):
    """A linear head on a fixed embedding (the offline scene model); the embedding feeds the fusion."""

    embedding: str = option("motion", "the encoder whose table it reads")
    lr: float = 1e-2
    weight_decay: float = 1e-3
    patience: int = 20
    seed: int = random_seed(42, "seed of initial weights and batches")


@dataclass(frozen=True)
class TemporalSpec(TrainSettings):
    """Audio, the paper: a sequence -> Mamba (or Transformer) encoder -> masked mean -> head."""

    embedding: str = option("egemaps", "the sequence encoder whose table it reads")
    encoder: str = choice("mamba", ("mamba", "transformer"), "sequence encoder")
    d_model: int = count(256, "model width (the embedding is d_model / 2)", low=2, high=16384)
    layers: int = count(4, "encoder blocks", high=64)
    d_state: int = count(8, "Mamba state size", high=1024)
    d_conv: int = count(4, "Mamba convolution width", high=256)
    expand: int = count(2, "Mamba expansion factor", high=16)
    heads: int = count(4, "attention heads (transformer encoder only)", high=256)
    ff_dim: int = count(512, "feed-forward width (transformer encoder only)", high=65536)
    dropout: float = fraction(0.1, "dropout")
    residual_dropout: float = fraction(
        0.1,
        "dropout on each Mamba block's output before the residual sum (the authors: 0.1; "
        "0: none, norm(h + mixer(h)))",
    )
    pool_steps: int = count(1, "average this many consecutive steps first (CPU speed)")
    max_steps: int = count(4000, "longer sequences are truncated (after pooling)")
    lr: float = 1e-4
    weight_decay: float = number(
        0.0,
        "AdamW weight decay (the authors: 0; 1e-2, AdamW's usual value, "
        "shrinks the Mamba projections a little towards zero on small corpora)",
    )
    batch_size: int = 8
    epochs: int = 30
    patience: int = 3
    seed: int = random_seed(42, "seed of initial weights, batches and dropout")


@dataclass(frozen=True)
class TextFinetuneSpec(TrainSettings):
    """Text, the paper: a transformer fine-tuned with a 768 -> 128 -> 1 head (128-d embedding)."""

    model: str = option(
        "j-hartmann/emotion-english-distilroberta-base",
        "hub id, local folder, or package:<module>/<subfolder>",
    )
    pooling: str = choice("cls", ("mean", "cls"), "sentence vector: first token or mean")
    hidden: int = count(128, "width of the hidden layer (the embedding)", high=65536)
    dropout: float = fraction(0.2, "dropout before the output layer")
    max_length: int = count(256, "tokens per transcript")
    freeze_embeddings: bool = option(True, "keep the word embeddings frozen")
    frozen_layers: int = count(0, "encoder layers kept frozen from the bottom", low=0)
    optimizer: str = "sgd"
    momentum: float = number(
        0.0,
        "momentum of SGD (and RMSprop). The authors: plain SGD (0). 0.9 (ours) takes about "
        "ten times the effective step at lr 1e-3, so the head trains within the paper's 10 "
        "epochs",
    )
    balanced: bool = option(
        False,
        "weight the positive class by the class balance (BCE pos_weight). The authors: "
        "unweighted (false). True (ours) targets macro F1 on imbalanced splits: the rarer "
        "class is not sacrificed to accuracy",
    )
    batch_size: int = 16
    epochs: int = 10
    seed: int = random_seed(42, "seed of the head's weights, batches and dropout")


# What a TF-IDF model hands the fusion (its embedding table), declared once for both kinds.
FUSION_INPUTS = ("tfidf", "logodds")
FUSION_INPUT = choice(
    "tfidf",
    FUSION_INPUTS,
    "what the fusion reads: the TF-IDF vector of the chosen vocabulary (the authors), or the "
    "classifier's class-1 log-odds, one number (ours: projecting a 10,000-d sparse vector to "
    "d = 384 is 3.8 M weights to fit on 616 training videos, while the log-odds carry what the "
    "tuned classifier learnt, out of fold)",
)


@dataclass(frozen=True)
class TfidfLogregSpec:
    """Text baseline: TF-IDF + logistic regression; vocabulary, n-grams and C chosen on val."""

    max_features: tuple[int, ...] = option((1000, 5000, 10000), "vocabulary sizes tried", low=1)
    ngram_max: tuple[int, ...] = option((1, 2, 3), "longest n-grams tried", low=1)
    C: tuple[float, ...] = option(
        (0.01, 0.1, 1.0, 10.0), "inverse regularisation strengths tried", low=0, low_open=True
    )
    min_df: int = count(1, "minimum document frequency of a term")
    sublinear_tf: bool = option(True, "1 + log(tf) instead of tf")
    fusion_input: str = FUSION_INPUT
    seed: int = random_seed(42, "solver seed")


@dataclass(frozen=True)
class TfidfCatboostSpec:
    """Text baseline: TF-IDF + CatBoost; vocabulary and n-grams chosen on val, early stopping on val."""

    max_features: tuple[int, ...] = option((1000, 5000), "vocabulary sizes tried", low=1)
    ngram_max: tuple[int, ...] = option((1, 2), "longest n-grams tried", low=1)
    iterations: int = count(500, "boosting rounds at most")
    depth: int = count(6, "tree depth", high=16)
    learning_rate: float = number(0.05, "boosting learning rate", low_open=True)
    early_stopping_rounds: int = count(
        50, "rounds without a better validation loss before stopping"
    )
    min_df: int = count(1, "minimum document frequency of a term")
    sublinear_tf: bool = option(True, "1 + log(tf) instead of tf")
    fusion_input: str = FUSION_INPUT
    seed: int = random_seed(42, "CatBoost's random seed")


@dataclass(frozen=True)
class VideoMAEFinetuneSpec(TrainSettings):
    """Scene, the paper: VideoMAE with a 2-class head, first layers frozen, trained on frames."""

    model: str = option("MCG-NJU/videomae-base-finetuned-kinetics", "hub id or local folder")
    frozen_layers: int = count(8, "encoder layers kept frozen from the bottom", low=0)
    crop_scale: tuple[float, float] = option(
        (0.8, 1.0), "random resized crop: area range", low=0, high=1
    )
    flip: bool = option(True, "random horizontal flips")
    color_jitter: float = number(0.2, "brightness/contrast/saturation jitter strength")
    lr: float = 3e-5
    weight_decay: float = 0.05
    scheduler: str = "cosine"
    label_smoothing: float = 0.1
    batch_size: int = 4
    epochs: int = 30
    patience: int = 5
    grad_clip: float | None = 1.0
    seed: int = random_seed(42, "seed of the head, augmentation, batches and dropout")


@dataclass(frozen=True)
class ModelKind(Kind):
    """A unimodal model kind: what it reads and which modalities it serves."""

    input: str = "embedding"  # one of INPUTS
    modalities: tuple[str, ...] = MODALITIES


UNIMODAL_KINDS: KindTable[ModelKind] = KindTable(
    "unimodal model kind",
    [
        ModelKind("mlp", MlpSpec, "ahrec.unimodal.mlp:MlpModel", neural=True),
        ModelKind("linear", LinearSpec, "ahrec.unimodal.linear:LinearModel", neural=True),
        ModelKind(
            "temporal",
            TemporalSpec,
            "ahrec.unimodal.temporal:TemporalModel",
            neural=True,
            input="sequence",
            modalities=("audio", "face", "scene"),
        ),
        ModelKind(
            "text_finetune",
            TextFinetuneSpec,
            "ahrec.unimodal.text_finetune:TextFinetuneModel",
            neural=True,
            input="transcripts",
            modalities=("text",),
        ),
        ModelKind(
            "tfidf_logreg",
            TfidfLogregSpec,
            "ahrec.unimodal.tfidf_models:TfidfLogregModel",
            input="transcripts",
            modalities=("text",),
        ),
        ModelKind(
            "tfidf_catboost",
            TfidfCatboostSpec,
            "ahrec.unimodal.tfidf_models:TfidfCatboostModel",
            input="transcripts",
            modalities=("text",),
        ),
        ModelKind(
            "videomae_finetune",
            VideoMAEFinetuneSpec,
            "ahrec.unimodal.videomae_finetune:VideoMAEFinetuneModel",
            neural=True,
            input="scene_frames",
            modalities=("scene",),
        ),
    ],
)


@dataclass(frozen=True)
class UnimodalSpec:
    """One named unimodal model of the configuration."""

    name: str
    modality: str
    kind: str
    label: str
    options: Any

    @property
    def row(self) -> ModelKind:
        return UNIMODAL_KINDS[self.kind]

    @property
    def input(self) -> str:
        return self.row.input

    @property
    def embedding(self) -> str | None:
        """The encoder whose table the model reads (None for transcripts and frames)."""
        return self.options.embedding if self.input in ("embedding", "sequence") else None

    def as_params(self) -> dict[str, Any]:
        """The config slice its rule hands to Snakemake's params (rerun trigger)."""
        return {
            "name": self.name,
            "modality": self.modality,
            "kind": self.kind,
            "label": self.label,
            **options_dict(self.options),
        }

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> UnimodalSpec:
        """The spec back from a rule's params (validated at parse time already)."""
        values = dict(params)
        name, modality, kind, label = (values.pop(k) for k in ("name", "modality", "kind", "label"))
        spec, problems = parse_unimodal(name, {"modality": modality, "kind": kind, **values})
        if problems:
            raise ValueError("; ".join(problems))
        return cls(name, modality, kind, label, spec.options)


def parse_unimodal(name: str, raw: Mapping[str, Any]) -> tuple[UnimodalSpec | None, list[str]]:
    """One ``unimodal:`` entry; references to encoders are checked by the configuration."""
    where = f"unimodal.{name}"
    if not isinstance(raw, Mapping):
        return None, [f"{where}: expected a mapping with modality and kind"]
    modality = raw.get("modality")
    if modality not in MODALITIES:
        return None, [f"{where}.modality: must be one of {', '.join(MODALITIES)}, got {modality!r}"]
    row, options, problems = UNIMODAL_KINDS.parse(where, raw, ignore=("modality", "label"))
    if row is not None and modality not in row.modalities:
        problems.append(
            f"{where}: kind {row.name} works on {', '.join(row.modalities)}, not {modality}"
        )
    if problems or row is None:
        return None, problems
    return UnimodalSpec(name, modality, row.name, str(raw.get("label") or name), options), []
