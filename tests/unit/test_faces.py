"""Face detection, the face track and its confidence threshold, exact crops, the fallbacks."""

import cv2
import numpy as np
import pytest

from ahrec.errors import ModelLoadError
from ahrec.faces.detect import (
    HaarDetector,
    MtcnnDetector,
    candidates_of,
    crop_face,
    crop_faces,
    largest_box,
    make_detector,
)
from ahrec.faces.mtcnn import Mtcnn
from ahrec.faces.steps import detect_faces_shard
from ahrec.faces.track import Candidate, fill_gaps, select_track, similarity
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


class ScoredDetector:
    """Known boxes with confidences per frame: the track's input, without a model."""

    def __init__(self, per_frame):
        self.per_frame = per_frame

    def detect(self, frames):
        return [[c.box for c in found] for found in self.per_frame]

    def detect_scored(self, frames):
        assert len(frames) == len(self.per_frame)
        return [list(found) for found in self.per_frame]


def still_frames(n, width=200, height=150):
    return FrameSet(
        "v", [np.full((height, width, 3), 90, np.uint8) for _ in range(n)], np.arange(n)
    )


FACE = Candidate((60, 40, 40, 48), 0.97)


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


# --- the face track ----------------------------------------------------------------


def test_similarity_is_one_for_the_same_box_and_zero_far_away():
    assert similarity((10, 10, 40, 40), (10, 10, 40, 40)) == pytest.approx(1.0)
    assert 0.7 < similarity((10, 10, 40, 40), (16, 12, 40, 42)) < 1.0
    assert similarity((10, 10, 40, 40), (150, 90, 40, 40)) == 0.0
    assert similarity((10, 10, 40, 40), (10, 10, 10, 10)) < 0.5  # same centre, a quarter the side


def test_a_larger_surer_false_box_does_not_win_a_frame_off_the_track():
    # frame 2: a shoulder box larger and surer than the face; the largest-box rule takes it
    shoulder = Candidate((0, 80, 120, 70), 0.99)
    per_frame = [[FACE], [FACE], [shoulder, FACE._replace(score=0.93)], [FACE], [FACE]]
    assert largest_box([c.box for c in per_frame[2]], 200, 150) == shoulder.box
    assert select_track(per_frame) == [0, 0, 1, 0, 0]
    crops, stats = crop_faces(still_frames(5), ScoredDetector(per_frame), 16)
    assert crops.extras["box"].tolist() == [list(FACE.box)] * 5
    assert stats.n_detected == 5


def test_the_papers_largest_box_rule_is_kept_for_its_preset():
    """``select: largest`` (presets/paper.yaml): each frame's largest box, no track, no filling."""
    shoulder = Candidate((0, 80, 120, 70), 0.99)
    per_frame = [[FACE], [], [shoulder, FACE._replace(score=0.93)], [FACE], [FACE]]
    crops, stats = crop_faces(still_frames(5), ScoredDetector(per_frame), 16, select="largest")
    boxes = crops.extras["box"].tolist()
    assert boxes[2] == list(shoulder.box) and boxes[0] == list(FACE.box)
    assert boxes[1] == [0, 0, 200, 150]  # no box: the whole frame, as in the paper
    assert crops.extras["interpolated"].tolist() == [False] * 5
    assert stats.n_detected == 4
    with pytest.raises(ValueError, match="face.select"):
        crop_faces(still_frames(1), ScoredDetector([[FACE]]), 16, select="biggest")


def test_a_lone_box_that_jumps_away_is_skipped_and_its_frame_interpolated():
    moving = [Candidate((60 + 4 * t, 40, 40, 48), 0.97) for t in range(5)]
    per_frame = [[m] for m in moving]
    per_frame[2] = [Candidate((150, 0, 40, 40), 0.99)]  # a sure box in the sky, nothing else
    assert select_track(per_frame) == [0, 0, None, 0, 0]
    crops, stats = crop_faces(still_frames(5), ScoredDetector(per_frame), 16)
    assert crops.extras["detected"].tolist() == [True, True, False, True, True]
    assert crops.extras["interpolated"].tolist() == [False, False, True, False, False]
    assert crops.extras["box"].tolist()[2] == [68, 40, 40, 48]  # between its neighbours
    assert (stats.n_detected, stats.n_frames) == (4, 5)  # an interpolated box is no detection
    assert crops.extras["score"].tolist()[2] == 0.0


def test_a_lone_box_with_nothing_to_contradict_it_is_kept_and_held_at_the_ends():
    per_frame = [[], [], [FACE], [], []]
    assert select_track(per_frame) == [None, None, 0, None, None]
    crops, stats = crop_faces(still_frames(5), ScoredDetector(per_frame), 16)
    assert stats.n_detected == 1
    assert crops.extras["interpolated"].tolist() == [True, True, False, True, True]
    assert crops.extras["box"].tolist() == [list(FACE.box)] * 5


def test_the_track_follows_a_person_who_moves_and_ignores_a_static_decoy():
    # the person walks right; a poster (a surer box) stays put in every other frame
    person = [Candidate((20 + 10 * t, 50, 36, 44), 0.95) for t in range(8)]
    poster = Candidate((150, 10, 30, 30), 0.99)
    per_frame = [[person[t]] + ([poster] if t % 2 else []) for t in range(8)]
    chosen = select_track(per_frame)
    assert [per_frame[t][i].box for t, i in enumerate(chosen)] == [p.box for p in person]


def test_the_track_depends_only_on_the_video_itself():
    first = [[FACE], [FACE], [Candidate((0, 0, 150, 150), 0.99)]]
    other = [[Candidate((100, 20, 50, 50), 0.99)]] * 3
    detector = ScoredDetector(first)
    alone, _ = crop_faces(still_frames(3), detector, 16)
    crop_faces(still_frames(3), ScoredDetector(other), 16)  # another video in between
    again, _ = crop_faces(still_frames(3), detector, 16)
    assert alone.extras["box"].tolist() == again.extras["box"].tolist()


def test_fill_gaps_interpolates_and_holds_and_leaves_an_empty_track_empty():
    assert fill_gaps([None, (0, 0, 10, 10), None, (10, 20, 30, 10), None]) == [
        (0, 0, 10, 10),
        (0, 0, 10, 10),
        (5, 10, 20, 10),
        (10, 20, 30, 10),
        (10, 20, 30, 10),
    ]
    assert fill_gaps([None, None]) == [None, None]


def test_boxes_without_scores_count_as_sure():
    found = candidates_of(FixedDetector([(1, 2, 3, 4)]), [np.zeros((8, 8, 3), np.uint8)])
    assert found == [[Candidate((1, 2, 3, 4), 1.0)]]


# --- MTCNN (the default detector) and its confidence threshold ----------------------


@pytest.fixture(scope="module")
def mtcnn():
    return make_detector({"kind": "mtcnn"}, device="cpu")


def face_canvas():
    canvas = np.full((240, 320, 3), 60, np.uint8)
    canvas[40:200, 80:240] = face_image(160)
    return canvas


def test_mtcnn_is_the_default_and_finds_a_real_face_and_not_a_blank_frame(mtcnn):
    assert isinstance(mtcnn, MtcnnDetector) and mtcnn.confidence == 0.9
    (found,) = mtcnn.detect_scored([face_canvas()])
    assert len(found) == 1
    (x, y, w, h), score = found[0]
    assert 60 <= x + w / 2 <= 260 and 20 <= y + h / 2 <= 220 and w >= 60 and score >= 0.9
    assert mtcnn.detect([np.full((240, 320, 3), 60, np.uint8)]) == [[]]


def blurred_faces():
    """Three faces side by side: clear, and two small blurred ones MTCNN is unsure of."""
    canvas = np.full((120, 240, 3), 60, np.uint8)
    canvas[20:60, 10:50] = face_image(40)
    canvas[20:44, 90:114] = cv2.GaussianBlur(face_image(24), (5, 5), 0)
    canvas[20:52, 170:202] = cv2.GaussianBlur(face_image(32), (9, 9), 0)
    return canvas


def test_the_confidence_threshold_keeps_boxes_below_it_out():
    (raw,) = Mtcnn(thresholds=(0.6, 0.7, 0.0)).detect([blurred_faces()])  # every O-Net box
    scores = sorted(float(p) for p in raw[:, 4])
    assert len(scores) == 3 and scores[0] < 0.6 and scores[-1] > 0.9  # unsure boxes exist
    for confidence in (0.3, 0.9):
        (found,) = MtcnnDetector(confidence=confidence).detect_scored([blurred_faces()])
        kept = sorted(c.score for c in found)
        assert kept == pytest.approx([s for s in scores if s >= confidence])


def test_mtcnn_weights_are_plain_tensors_or_a_clear_error(tmp_path):
    with pytest.raises(ModelLoadError, match="MTCNN weights not found"):
        Mtcnn(folder=tmp_path)
    import torch

    torch.save({"conv1.weight": Candidate((0, 0, 1, 1), 1.0)}, tmp_path / "pnet.pt")
    with pytest.raises(ModelLoadError, match="could not load MTCNN weights"):
        Mtcnn(folder=tmp_path)  # not a plain state dict: weights_only refuses it
