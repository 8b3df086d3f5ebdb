"""Face detection on real footage with the default detector, as the workflow runs it.

Each recording goes through the face rule's path: 30 frames sampled evenly and
stored as JPEG (``extract_frames``, as the media rule does), then the faces
step with the default ``face.detector`` (``detect_faces_shard``: the detector's
accepted boxes, one face track per video, crops). The kept boxes are compared
with the by-eye boxes of ``ahrec.devtools.face_truth`` (correct: IoU >= 0.3).
Figures and the detector comparison: docs/measurements.md
(``benchmarks/face_detectors.py``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ahrec.config import load_config
from ahrec.devtools.face_truth import (
    IOU,
    RABBIT_HEAD,
    bikes_shows_a_face,
    carphone_box,
    inside,
    iou,
)
from ahrec.faces.steps import detect_faces_shard
from ahrec.media.framestore import FrameSet, load_frame_sets
from ahrec.media.steps import extract_frames
from tests.real.media import path_of, require_real_media

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
VIDEOS = ("carphone", "carphone_lowq", "bikes", "bigbuckbunny")


@pytest.fixture(scope="module")
def crops(tmp_path_factory) -> dict[str, FrameSet]:
    require_real_media()
    config = load_config(REPO / "config.yaml")
    face = config["face"]
    folder = tmp_path_factory.mktemp("real-faces")
    files = []
    for name in VIDEOS:
        out = folder / f"{name}.face.npz"
        extract_frames(
            path_of(f"video/{name}.mp4"),
            name,
            out,
            face["n_frames"],
            jpeg_quality=config["media"]["jpeg_quality"],
            max_side=config["media"]["face_frame_max_side"],
        )
        files.append(out)
    stats = detect_faces_shard(
        files, folder / "crops.npz", folder / "stats.parquet", face["detector"], 32, device="cpu"
    )
    sets = {s.video_id: s for s in load_frame_sets(folder / "crops.npz")}
    for name, n_detected in zip(stats["video_id"], stats["n_detected"], strict=True):
        assert n_detected == int(sets[name].extras["detected"].sum())  # the rate counts them
    return sets


def kept(frame_set: FrameSet) -> list[tuple[int, tuple[int, ...] | None]]:
    """(frame number, the accepted box or None) per sampled frame."""
    extras = frame_set.extras
    return [
        (int(index), tuple(int(v) for v in box) if found else None)
        for index, box, found in zip(
            frame_set.frame_index, extras["box"], extras["detected"], strict=True
        )
    ]


def test_the_default_detector_finds_the_talking_head_in_every_sampled_frame(crops):
    boxes = kept(crops["carphone"])
    assert len(boxes) == 30
    right = [b is not None and iou(b, carphone_box(i)) >= IOU for i, b in boxes]
    assert sum(right) / len(right) >= 0.95  # measured: 30 of 30


def test_the_compressed_copy_keeps_only_right_boxes_and_the_track_fills_the_rest(crops):
    frame_set = crops["carphone_lowq"]
    boxes = kept(frame_set)
    accepted = [(i, b) for i, b in boxes if b is not None]
    # measured: 17 of 30 accepted (the others score below the 0.9 threshold), all right
    assert len(accepted) >= 10
    assert all(iou(b, carphone_box(i)) >= IOU for i, b in accepted)
    # every frame off the track gets the track's interpolated box, and it is the face too
    placed = frame_set.extras["detected"] | frame_set.extras["interpolated"]
    assert placed.all()
    for index, box in zip(frame_set.frame_index, frame_set.extras["box"], strict=True):
        assert iou(box, carphone_box(int(index))) >= IOU


def test_street_footage_without_a_face_gets_no_box(crops):
    boxes = [(i, b) for i, b in kept(crops["bikes"]) if not bikes_shows_a_face(i)]
    assert len(boxes) >= 20  # 21 of the 30 sampled frames show no face
    false = sum(b is not None for _, b in boxes)
    assert false / len(boxes) <= 0.05  # measured: 0


def test_the_animated_clip_gets_no_box_on_sky_rocks_or_grass(crops):
    # The cartoon rabbit has a frontal face, and MTCNN takes it for one (9 of 30
    # frames at 0.9, still 2 at 0.99): the "5 % of frames" target is not met
    # here (docs/measurements.md). What must hold is that no box lands elsewhere
    # (Haar's boxes were on sky and rocks), and no more frames than measured.
    boxes = [b for _, b in kept(crops["bigbuckbunny"]) if b is not None]
    assert all(inside(b, RABBIT_HEAD) for b in boxes), boxes
    assert len(boxes) <= 10  # measured: 9
