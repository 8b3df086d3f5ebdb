"""Tiny, randomly initialised models of the paper's architectures, built offline.

The workflow loads every pretrained model from a config value (a hub id, a
local folder or file). Model hubs are unreachable on the development and CI
machines, and the real checkpoints are hundreds of megabytes, so tests build
small models of the *same* architectures (VideoMAE, wav2vec2, DistilRoBERTa,
EfficientNet-B0, YOLOv8, Whisper) in a temporary folder, in the file layout the
real checkpoints use, and hand the path to the project's own loaders. That
exercises the real loading and preprocessing code; the numbers the models
produce mean nothing.

The benchmarks (``benchmarks/encoders.py``, ``benchmarks/paper_gpu.py``) build
the same architectures at larger sizes (``SIZES``: up to the paper's own
shapes) to time the workflow's code without the real checkpoints; both the
tests and the benchmarks import this module, so it lives in the library
(``ahrec.devtools``), not under ``tests/``. Nothing the workflow runs imports it.

Each builder takes a folder, writes the model there, returns the path to put in
``model:`` (or ``face.detector.checkpoint``) and takes well under a few seconds.
Builders are deterministic (fixed seeds), so two builds give the same weights.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import torch

# Sentences the tiny byte-level BPE tokenizers are trained on: any text works
# (byte-level BPE covers every string), these just give a few merges.
_CORPUS = [
    "I am not sure whether I want to change my diet.",
    "Well, maybe, I guess I could try to exercise more often.",
    "I really want to quit smoking, but it is hard.",
    "Yes, I am completely confident about this decision.",
    "The weather today is sunny and warm.",
]


@dataclass(frozen=True)
class Width:
    """The size of a transformer: the tests' tiny one by default; benchmarks ask for larger."""

    hidden: int = 32
    layers: int = 2
    heads: int = 2
    intermediate: int = 64

    @property
    def tag(self) -> str:
        """A folder-name suffix, empty for the tests' tiny default (its folders carry no size)."""
        if self == Width():
            return ""
        return f"-h{self.hidden}-l{self.layers}"


def _folder(directory: str | Path, name: str) -> Path:
    path = Path(directory) / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def tiny_videomae(
    directory: str | Path, num_frames: int = 4, image_size: int = 32, width: Width = Width()
) -> Path:
    """A VideoMAE video classifier (like MCG-NJU/videomae-base-finetuned-kinetics), tiny.

    Saved with its classification head, as the paper's checkpoint is, so that
    loading it as a bare ``VideoMAEModel`` is what the test exercises. ``width``
    makes it larger (``PAPER_SIZE`` is VideoMAE-base: 16 frames, 224 px, 768 x 12).
    """
    from transformers import VideoMAEConfig, VideoMAEForVideoClassification

    torch.manual_seed(0)
    config = VideoMAEConfig(
        image_size=image_size,
        patch_size=16,
        num_channels=3,
        num_frames=num_frames,
        tubelet_size=2,
        hidden_size=width.hidden,
        num_hidden_layers=width.layers,
        num_attention_heads=width.heads,
        intermediate_size=width.intermediate,
        use_mean_pooling=True,
        num_labels=2,
    )
    path = _folder(directory, f"videomae-f{num_frames}-s{image_size}{width.tag}")
    VideoMAEForVideoClassification(config).eval().save_pretrained(path)
    return path


def tiny_wav2vec2(
    directory: str | Path,
    with_head: bool = True,
    width: Width = Width(),
    conv_channels: int = 8,
    stable_layer_norm: bool = True,
) -> Path:
    """A wav2vec2 model shaped like the audeering emotion checkpoint, tiny.

    The real convolutional stack (7 layers, strides 5,2,...,2, so a 400-sample
    receptive field and a 20 ms step) with 8 channels, layer-norm convolutions
    and a stable-layer-norm transformer (as in wav2vec2-large-robust), hidden
    size 32 and 2 layers. With ``with_head`` the folder holds a sequence
    classifier, so loading it as ``Wav2Vec2Model`` must ignore head weights, as
    it must for the audeering checkpoint. A feature extractor config
    (``preprocessor_config.json``) is saved beside it. ``width`` and
    ``conv_channels`` make it larger (``PAPER_SIZE``: wav2vec2-large, 1024 x 12,
    512 conv channels); ``stable_layer_norm=False`` gives the base models'
    post-norm transformer with group-norm convolutions instead.
    """
    from transformers import (
        Wav2Vec2Config,
        Wav2Vec2FeatureExtractor,
        Wav2Vec2ForSequenceClassification,
        Wav2Vec2Model,
    )

    torch.manual_seed(0)
    large = width.hidden >= 256
    config = Wav2Vec2Config(
        vocab_size=32,
        hidden_size=width.hidden,
        num_hidden_layers=width.layers,
        num_attention_heads=width.heads,
        intermediate_size=width.intermediate,
        conv_dim=(conv_channels,) * 7,
        conv_stride=(5, 2, 2, 2, 2, 2, 2),
        conv_kernel=(10, 3, 3, 3, 3, 2, 2),
        conv_bias=large,
        feat_extract_norm="layer" if stable_layer_norm else "group",
        do_stable_layer_norm=stable_layer_norm,
        num_conv_pos_embeddings=128 if large else 16,
        num_conv_pos_embedding_groups=16 if large else 2,
        classifier_proj_size=16,
        num_labels=3,
    )
    name = "wav2vec2" + ("-head" if with_head else "") + ("" if stable_layer_norm else "-postnorm")
    path = _folder(directory, name + width.tag)
    model_class = Wav2Vec2ForSequenceClassification if with_head else Wav2Vec2Model
    model_class(config).eval().save_pretrained(path)
    Wav2Vec2FeatureExtractor(
        feature_size=1,
        sampling_rate=16000,
        padding_value=0.0,
        do_normalize=True,
        return_attention_mask=stable_layer_norm,
    ).save_pretrained(path)
    return path


def _byte_level_bpe(special_tokens: list[str], vocab_size: int = 400):
    """A byte-level BPE trained on ``_CORPUS``: every special token gets an id first."""
    from tokenizers import ByteLevelBPETokenizer

    tokenizer = ByteLevelBPETokenizer()
    tokenizer.train_from_iterator(
        _CORPUS, vocab_size=vocab_size, min_frequency=1, special_tokens=special_tokens
    )
    return tokenizer


def _vocab_and_merges(path: Path) -> tuple[dict[str, int], list[tuple[str, str]]]:
    """The vocabulary and merges a ``ByteLevelBPETokenizer.save_model`` wrote into ``path``."""
    vocab = json.loads((path / "vocab.json").read_text(encoding="utf-8"))
    merges = [
        tuple(line.split(" "))
        for line in (path / "merges.txt").read_text(encoding="utf-8").splitlines()
        if line and not line.startswith("#version")
    ]
    return vocab, merges


def tiny_distilroberta(
    directory: str | Path, max_positions: int = 64, width: Width = Width()
) -> Path:
    """A DistilRoBERTa-like encoder (RoBERTa, 2 layers, hidden 32) with a real tokenizer.

    The tokenizer is a byte-level BPE trained offline on a few sentences and
    saved as a RoBERTa tokenizer, so ``AutoTokenizer``/``AutoModel`` load the
    folder exactly as they load j-hartmann/emotion-english-distilroberta-base.
    ``max_positions`` usable positions (RoBERTa reserves two more). ``width``
    makes it larger (``PAPER_SIZE``: DistilRoBERTa, 768 x 6, 512 positions); the
    vocabulary stays the tiny BPE's, so texts split into more tokens than with the
    real one (a benchmark is, if anything, pessimistic).
    """
    from transformers import RobertaConfig, RobertaForSequenceClassification, RobertaTokenizerFast

    path = _folder(directory, f"distilroberta-p{max_positions}{width.tag}")
    bpe = _byte_level_bpe(["<s>", "<pad>", "</s>", "<unk>", "<mask>"])
    bpe.save_model(str(path))
    vocab, merges = _vocab_and_merges(path)
    # transformers 5 takes the vocabulary and merges themselves (``vocab=``, ``merges=``);
    # the old ``vocab_file=``/``merges_file=`` keywords are silently ignored, which left a
    # 5-token tokenizer that turned every text into "<s></s>".
    tokenizer = RobertaTokenizerFast(vocab=vocab, merges=merges, model_max_length=max_positions)
    if len(tokenizer) != len(vocab):
        raise RuntimeError(
            f"tiny RoBERTa tokenizer has {len(tokenizer)} tokens, its BPE {len(vocab)}"
        )
    tokenizer.save_pretrained(path)
    torch.manual_seed(0)
    config = RobertaConfig(
        vocab_size=len(tokenizer),
        hidden_size=width.hidden,
        num_hidden_layers=width.layers,
        num_attention_heads=width.heads,
        intermediate_size=width.intermediate,
        max_position_embeddings=max_positions + 2,
        type_vocab_size=1,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        num_labels=7,
    )
    RobertaForSequenceClassification(config).eval().save_pretrained(path)
    return path


def tiny_efficientnet_b0(directory: str | Path, architecture: str = "efficientnet_b0") -> Path:
    """timm EfficientNet-B0 (random weights) as a ``.safetensors`` state dict.

    The architecture is the real one (1280-d features): the face encoder's
    loader checks every backbone key, so a smaller model would not test it.
    The 8-class classifier (AffectNet's) is kept in the file, as in the paper's
    checkpoint, so that dropping it is tested too.
    """
    import timm
    from safetensors.torch import save_file

    torch.manual_seed(0)
    model = timm.create_model(architecture, pretrained=False, num_classes=8)
    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True)
    file = path / f"{architecture}.safetensors"
    state = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(file))
    return file


def tiny_yolov8(directory: str | Path) -> Path:
    """An untrained YOLOv8n detector saved as an ultralytics ``.pt`` checkpoint.

    Built from ultralytics' packaged ``yolov8n.yaml`` (no download), with one
    class ("face", like yolov8n-face), and saved with ``YOLO.save``: the
    checkpoint format ``YOLO(path)`` reads, loadable in ultralytics' safe-load
    mode (``torch.load(weights_only=True)`` with an allow-list of model classes).
    """
    # ultralytics reads these when first imported: set them before any import.
    os.environ.setdefault("YOLO_OFFLINE", "1")
    os.environ.setdefault("ULTRALYTICS_SAFE_LOAD", "1")
    from ultralytics import YOLO
    from ultralytics.nn.tasks import DetectionModel

    torch.manual_seed(0)
    model = YOLO("yolov8n.yaml", task="detect")
    model.model = DetectionModel("yolov8n.yaml", nc=1, verbose=False)
    model.model.names = {0: "face"}
    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True)
    file = path / "yolov8n-tiny-face.pt"
    model.save(file)
    return file


_WHISPER_SPECIALS = [
    "<|endoftext|>",
    "<|startoftranscript|>",
    "<|en|>",
    "<|de|>",
    "<|translate|>",
    "<|transcribe|>",
    "<|startoflm|>",
    "<|startofprev|>",
    "<|nospeech|>",
    "<|notimestamps|>",
]


def tiny_whisper(directory: str | Path, max_length: int = 12) -> Path:
    """A multilingual-style Whisper (1 encoder and 1 decoder layer, width 32), tiny.

    The tokenizer is a byte-level BPE trained offline, with Whisper's special
    tokens (start of transcript, languages, tasks, no-timestamps) added after
    the regular vocabulary as in the real one; the generation config maps
    languages and tasks to those ids, so ``generate(language=..., task=...)``
    runs the real prompt logic. The feature extractor is the real 80-mel,
    30-second one (the encoder keeps 1500 positions). Generation is capped at
    ``max_length`` tokens (prompt included) so that a random model stops quickly.
    """
    from transformers import (
        GenerationConfig,
        WhisperConfig,
        WhisperFeatureExtractor,
        WhisperForConditionalGeneration,
        WhisperProcessor,
        WhisperTokenizer,
    )

    path = _folder(directory, "whisper")
    bpe = _byte_level_bpe([], vocab_size=300)
    bpe.save_model(str(path))
    vocab, merges = _vocab_and_merges(path)
    tokenizer = WhisperTokenizer(vocab=vocab, merges=merges, model_max_length=448)
    tokenizer.add_special_tokens({"additional_special_tokens": _WHISPER_SPECIALS[1:]})
    feature_extractor = WhisperFeatureExtractor(feature_size=80)
    WhisperProcessor(feature_extractor=feature_extractor, tokenizer=tokenizer).save_pretrained(path)
    ids = {token: tokenizer.convert_tokens_to_ids(token) for token in _WHISPER_SPECIALS}
    eot = ids["<|endoftext|>"]
    torch.manual_seed(0)
    config = WhisperConfig(
        vocab_size=len(tokenizer),
        num_mel_bins=80,
        d_model=32,
        encoder_layers=1,
        decoder_layers=1,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=64,
        decoder_ffn_dim=64,
        max_source_positions=1500,
        max_target_positions=64,
        pad_token_id=eot,
        bos_token_id=eot,
        eos_token_id=eot,
        decoder_start_token_id=ids["<|startoftranscript|>"],
        suppress_tokens=None,
        begin_suppress_tokens=None,
    )
    model = WhisperForConditionalGeneration(config).eval()
    model.generation_config = GenerationConfig(
        decoder_start_token_id=ids["<|startoftranscript|>"],
        bos_token_id=eot,
        eos_token_id=eot,
        pad_token_id=eot,
        max_length=max_length,
        is_multilingual=True,
        lang_to_id={"<|en|>": ids["<|en|>"], "<|de|>": ids["<|de|>"]},
        task_to_id={"transcribe": ids["<|transcribe|>"], "translate": ids["<|translate|>"]},
        no_timestamps_token_id=ids["<|notimestamps|>"],
        prev_sot_token_id=ids["<|startofprev|>"],
        begin_suppress_tokens=[eot],
        suppress_tokens=[],
    )
    model.save_pretrained(path)
    return path


# --- the paper's architectures at three sizes (benchmarks) ----------------------------


@dataclass(frozen=True)
class ArchitectureSize:
    """One size of every paper encoder: the tests' tiny one, a CPU-sized one, the paper's own.

    Benchmarks build these with random weights locally (no hub): the cost of a
    forward pass depends on the shapes, not on the values of the weights.
    """

    videomae_frames: int
    videomae_image: int
    videomae: Width
    wav2vec2: Width
    wav2vec2_conv: int
    roberta: Width
    roberta_positions: int


SIZES: dict[str, ArchitectureSize] = {
    "tiny": ArchitectureSize(4, 32, Width(), Width(), 8, Width(), 64),
    "small": ArchitectureSize(
        8, 112, Width(192, 4, 3, 768), Width(256, 4, 4, 1024), 128, Width(256, 4, 4, 1024), 256
    ),
    # VideoMAE-base, wav2vec2-large-robust-12 (audeering), DistilRoBERTa-base
    "paper": ArchitectureSize(
        16,
        224,
        Width(768, 12, 12, 3072),
        Width(1024, 12, 16, 4096),
        512,
        Width(768, 6, 12, 3072),
        512,
    ),
}


def build_architectures(directory: str | Path, size: str) -> dict[str, Path]:
    """Every paper encoder at ``size`` (a key of ``SIZES``), saved under ``directory``.

    Returns the paths to put in ``model:``: ``videomae``, ``effnet`` (EfficientNet-B0
    is always the real architecture), ``wav2vec2``, ``distilroberta``.
    """
    spec = SIZES[size]
    return {
        "videomae": tiny_videomae(
            directory, spec.videomae_frames, spec.videomae_image, spec.videomae
        ),
        "effnet": tiny_efficientnet_b0(directory),
        "wav2vec2": tiny_wav2vec2(directory, width=spec.wav2vec2, conv_channels=spec.wav2vec2_conv),
        "distilroberta": tiny_distilroberta(directory, spec.roberta_positions, spec.roberta),
    }
