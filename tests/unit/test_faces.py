"""Face detection, the largest-box rule, exact crops and the whole-frame fallback."""

import numpy as np
import pytest

from ahrec.errors import ModelLoadError
from ahrec.faces.detect import HaarDetector, crop_face, crop_faces, largest_box, make_detector
from ahrec.faces.steps import detect_faces_shard
from ahrec.media.framestore import FrameSet, load_frame_sets
from ahrec.media.steps import extract_frames
from tests.media_factory import face_image, make_video

HAAR = {
    "kind": "haar",
    "cascade": "haarcascade_frontalface_default.xml",
    "scale_factor": 1.1,
    "min_neighbors": 5,
    "min_size": 24,
}


class FixedDetector:
    """A detector with known answers, to test the crop rule on its own."""

    def __init__(self, boxes):
        self.boxes = boxes

    def detect(self, frames):
        return [list(self.boxes) for _ in frames]


def test_largest_box_is_kept_and_clipped():
    assert largest_box([(0, 0, 10, 10), (5, 5, 30, 20), (50, 50, 8, 8)], 100, 100) == (5, 5, 30, 20)
    assert largest_box([(-10, -10, 30, 30)], 100, 100) == (0, 0, 20, 20)
    assert largest_box([(200, 200, 10, 10)], 100, 100) is None
    assert largest_box([], 100, 100) is None


def test_crop_is_exact_and_fallback_is_the_whole_frame():
    frame = np.zeros((100, 200, 3), np.uint8)
    frame[20:60, 50:90] = 255
    crop = crop_face(frame, (50, 20, 40, 40), 32)
    assert crop.shape == (32, 32, 3) and crop.min() == 255
    whole = crop_face(frame, None, 32)
    assert whole.shape == (32, 32, 3) and 0 < whole.mean() < 255


def test_crop_faces_records_detection_rate():
    frames = [np.full((60, 80, 3), 100, np.uint8) for _ in range(4)]
    frame_set = FrameSet("v", frames, np.arange(4))
    crops, stats = crop_faces(frame_set, FixedDetector([(10, 10, 20, 20), (0, 0, 5, 5)]), 16)
    assert stats.n_frames == 4 and stats.n_detected == 4 and stats.detection_rate == 1.0
    assert crops.extras["box"].tolist()[0] == [10, 10, 20, 20]
    crops, stats = crop_faces(frame_set, FixedDetector([]), 16)
    assert stats.detection_rate == 0.0
    assert crops.extras["detected"].tolist() == [False] * 4
    assert crops.extras["box"].tolist()[0] == [0, 0, 80, 60]  # the whole frame
    assert all(c.shape == (16, 16, 3) for c in crops.frames)
    missing, stats = crop_faces(
        FrameSet("w", [], np.zeros(0), reason="unreadable"), FixedDetector([]), 16
    )
    assert not missing.available and stats.reason == "unreadable" and stats.n_frames == 0


def test_no_face_policy_masks_or_keeps_whole_frames():
    frames = [np.full((60, 80, 3), 100, np.uint8) for _ in range(3)]
    frame_set = FrameSet("v", frames, np.arange(3))
    kept, _ = crop_faces(frame_set, FixedDetector([]), 16, no_face="whole_frames")
    assert kept.available and len(kept.frames) == 3
    masked, stats = crop_faces(frame_set, FixedDetector([]), 16, no_face="mask")
    assert not masked.available and masked.reason == "no face found"
    assert (stats.n_frames, stats.n_detected, stats.reason) == (3, 0, "no face found")
    # one face in one frame is enough to keep the crops (the others are whole frames)
    one = FixedDetector([(10, 10, 20, 20)])
    one.detect = lambda frames: [[(10, 10, 20, 20)]] + [[] for _ in frames[1:]]
    partial, stats = crop_faces(frame_set, one, 16, no_face="mask")
    assert partial.available and stats.n_detected == 1


def test_haar_finds_a_real_face_and_not_a_blank_frame():
    detector = make_detector(HAAR)
    canvas = np.full((240, 320, 3), 60, np.uint8)
    canvas[40:200, 80:240] = face_image(160)
    (found,) = detector.detect([canvas])
    box = largest_box(found, 320, 240)
    assert box is not None
    x, y, w, h = box
    assert 60 <= x + w / 2 <= 260 and 20 <= y + h / 2 <= 220 and w >= 40
    assert detector.detect([np.full((240, 320, 3), 60, np.uint8)]) == [[]]


def test_missing_cascade_and_checkpoint_errors_are_clear(tmp_path):
    with pytest.raises(ModelLoadError, match="opencv-python<5"):
        HaarDetector("no_such_cascade.xml")
    with pytest.raises(ModelLoadError, match="YOLO face checkpoint not found"):
        make_detector({"kind": "yolo", "checkpoint": str(tmp_path / "none.pt")})


@pytest.mark.slow
def test_face_stage_on_real_videos_with_and_without_a_face(tmp_path):
    with_face = make_video(tmp_path / "face.mp4", seconds=1.0, width=320, height=240, face=True)
    without = make_video(tmp_path / "noface.mp4", seconds=1.0, width=320, height=240)
    files = []
    for name, video in (("face-1", with_face), ("noface-1", without)):
        face = tmp_path / f"{name}.face.npz"
        extract_frames(video, name, face, 10, max_side=640, n_frames_hint=25)
        files.append(face)
    broken = tmp_path / "broken.face.npz"
    extract_frames(tmp_path / "nothing.mp4", "broken-1", broken, 10, problem="file not found")
    files.append(broken)
    stats = detect_faces_shard(files, tmp_path / "crops.npz", tmp_path / "stats.parquet", HAAR, 64)
    rates = dict(zip(stats["video_id"], stats["detection_rate"], strict=True))
    assert rates["face-1"] >= 0.8
    assert rates["noface-1"] == 0.0
    assert stats.set_index("video_id").loc["broken-1", "reason"] == "file not found"
    crops = {s.video_id: s for s in load_frame_sets(tmp_path / "crops.npz")}
    assert len(crops["face-1"].frames) == 10 and crops["face-1"].frames[0].shape == (64, 64, 3)
    assert len(crops["noface-1"].frames) == 10  # whole-frame fallback, not dropped
    assert not crops["broken-1"].available
