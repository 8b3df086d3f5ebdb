"""The offline default encoders: shapes, dtypes, unavailable inputs, and that they measure."""

import numpy as np
import pytest

from ahrec.embeddings.base import AudioItem, TextItem
from ahrec.embeddings.hog_stats import HogStatsEncoder
from ahrec.embeddings.kinds import HogStatsSpec, MotionStatsSpec, OpenSmileSpec, TfidfSpec
from ahrec.embeddings.motion_stats import MotionStatsEncoder
from ahrec.embeddings.opensmile_lld import OpenSmileEncoder
from ahrec.embeddings.pooling import delta_pool, stat_pool
from ahrec.embeddings.tfidf import fit_tfidf, tfidf_rows
from ahrec.media.framestore import FrameSet
from tests.media_factory import face_image


def scene(shake: float, n: int = 8, seed: int = 0) -> list[np.ndarray]:
    """A textured scene; ``shake`` pixels of random camera jitter between frames."""
    rng = np.random.default_rng(seed)
    texture = rng.integers(0, 255, (300, 400, 3), dtype=np.uint8)
    texture = np.repeat(np.repeat(texture[::10, ::10], 10, 0), 10, 1)
    frames = []
    for _ in range(n):
        dx, dy = rng.normal(0, shake, 2) if shake else (0, 0)
        x, y = int(50 + np.clip(dx, -45, 45)), int(50 + np.clip(dy, -45, 45))
        frames.append(np.ascontiguousarray(texture[y : y + 224, x : x + 298]))
    return frames


def test_motion_stats_shape_and_sensitivity():
    encoder = MotionStatsEncoder(MotionStatsSpec())
    sets = [
        FrameSet("still", scene(0), np.arange(8)),
        FrameSet("shaky", scene(12), np.arange(8)),
        FrameSet("gone", [], np.zeros(0, np.int64), reason="unreadable"),
    ]
    rows = encoder.encode(sets)
    assert [r.video_id for r in rows] == ["still", "shaky", "gone"]
    assert rows[0].vector.shape == (encoder.dim,) and rows[0].vector.dtype == np.float32
    assert rows[2].vector is None and rows[2].reason == "unreadable"
    motion_start = 2 * encoder.appearance_dim
    diff_mean = motion_start + encoder.spec.histogram_bins  # first motion scalar
    assert rows[1].vector[diff_mean] > rows[0].vector[diff_mean] + 0.02
    one = encoder.encode([FrameSet("one", scene(0, n=1), np.arange(1))])[0]
    assert one.vector.shape == (encoder.dim,)


def faces(expressive: bool, n: int = 10) -> list[np.ndarray]:
    base = face_image(96)
    frames = []
    for i in range(n):
        frame = base.copy()
        if expressive and i % 2:
            frame[60:80, 25:70] = 20  # an open mouth
            frame[20:28, 15:80] = frame[12:20, 15:80]  # raised brows
        frames.append(frame)
    return frames


def test_hog_stats_pools_mean_and_population_std():
    encoder = HogStatsEncoder(HogStatsSpec(size=64))
    assert encoder.dim == 2 * encoder.frame_dim == 2 * 1764
    rows = encoder.encode(
        [
            FrameSet("calm", faces(False), np.arange(10)),
            FrameSet("lively", faces(True), np.arange(10)),
        ]
    )
    calm, lively = (r.vector for r in rows)
    assert calm.dtype == np.float32
    std_part = slice(encoder.frame_dim, None)
    assert np.allclose(calm[std_part], 0, atol=1e-6)  # a still face has no spread
    assert lively[std_part].mean() > 0.01
    features = np.array([[1.0, 2.0], [3.0, 6.0]])
    assert stat_pool(features).tolist() == [2.0, 4.0, 1.0, 2.0]
    with pytest.raises(ValueError, match="multiple of cell"):
        HogStatsEncoder(HogStatsSpec(size=60, cell=8))


def test_hog_stats_deltas_tell_movement_from_variety():
    encoder = HogStatsEncoder(HogStatsSpec(size=64, deltas=True))
    assert encoder.dim == 3 * encoder.frame_dim
    lively = faces(True)
    # the same frames, the two expressions in two runs instead of alternating
    grouped = lively[0::2] + lively[1::2]
    rows = encoder.encode(
        [
            FrameSet("alternating", lively, np.arange(10)),
            FrameSet("grouped", grouped, np.arange(10)),
        ]
    )
    alternating, once = (r.vector for r in rows)
    pooled = slice(0, 2 * encoder.frame_dim)
    assert np.allclose(alternating[pooled], once[pooled], atol=1e-5)  # mean and std: equal
    delta = slice(2 * encoder.frame_dim, None)
    assert alternating[delta].mean() > 4 * once[delta].mean() > 0  # the deltas: not
    assert delta_pool(np.array([[1.0, 2.0], [3.0, 6.0], [2.0, 6.0]])).tolist() == [1.5, 2.0]
    assert delta_pool(np.ones((1, 3))).tolist() == [0.0, 0.0, 0.0]


def test_opensmile_sequence_and_short_audio():
    encoder = OpenSmileEncoder(OpenSmileSpec())
    assert encoder.seq_dim == 25 and encoder.dim == 25
    t = np.arange(32000) / 16000
    voiced = (0.3 * np.sin(2 * np.pi * 180 * t) * (1 + 0.5 * np.sin(2 * np.pi * 3 * t))).astype(
        np.float32
    )
    rows = encoder.encode(
        [
            AudioItem("tone", voiced, 16000),
            AudioItem("blip", voiced[:400], 16000),
            AudioItem("mute", np.zeros(0, np.float32), 16000, reason="no audio track"),
        ]
    )
    assert rows[0].sequence.shape[1] == 25 and 150 < rows[0].sequence.shape[0] < 210
    assert np.isfinite(rows[0].sequence).all()
    np.testing.assert_allclose(rows[0].vector, rows[0].sequence.mean(0), rtol=1e-5)
    assert rows[1].vector is None and rows[1].reason == "audio too short"
    assert rows[2].reason == "no audio track"


def test_tfidf_vocabulary_comes_from_training_text_only():
    spec = TfidfSpec(max_features=100, ngram_min=1, ngram_max=2)
    vectorizer = fit_tfidf(spec, ["maybe I guess so", "yes definitely", ""])
    assert "zebra" not in vectorizer.vocabulary_ and "guess" in vectorizer.vocabulary_
    items = [
        TextItem("a", "maybe, maybe"),
        TextItem("b", "zebra crossing"),
        TextItem("c", None),
        TextItem("d", "   "),
        TextItem("e", None, reason="no transcript and no audio"),
    ]
    rows = tfidf_rows(vectorizer, items)
    assert [r.video_id for r in rows] == ["a", "b", "c", "d", "e"]
    assert rows[0].vector.dtype == np.float32 and rows[0].vector.max() > 0
    assert (
        rows[1].vector is not None and rows[1].vector.max() == 0
    )  # out of vocabulary, not missing
    assert [r.reason for r in rows[2:]] == [
        "no transcript",
        "empty transcript",
        "no transcript and no audio",
    ]
    with pytest.raises(ValueError, match="at least one training transcript"):
        fit_tfidf(spec, ["", "  "])
