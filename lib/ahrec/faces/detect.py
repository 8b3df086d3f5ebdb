"""Face detection on the sampled face frames, the face track, and exact crops.

The paper keeps the largest box of each frame, crops it exactly, and falls
back to the whole frame when no face is found. On real footage the largest
box is often a false one (a shoulder, a crowd), so here the boxes a detector
accepts (its confidence threshold) are linked into one track over the video's
frames (``ahrec.faces.track``), frames off the track get the track's box
interpolated, and only accepted boxes count as detections.

Three detectors implement the same interface: MTCNN with the weights
facenet-pytorch ships (the default: the best offline one measured on real
footage, docs/measurements.md), YOLO (ultralytics) when a YOLO face
checkpoint is configured, as in the paper, and OpenCV's Haar cascade, whose
model ships inside opencv-python.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import cv2
import numpy as np

from ahrec.errors import ModelLoadError
from ahrec.faces.track import Box, Candidate, fill_gaps, select_track
from ahrec.media.framestore import FrameSet


class FaceDetector(Protocol):
    def detect(self, frames: Sequence[np.ndarray]) -> list[list[Box]]:
        """All face boxes of each RGB frame."""
        ...


def candidates_of(detector: FaceDetector, frames: Sequence[np.ndarray]) -> list[list[Candidate]]:
    """Each frame's accepted boxes with their confidence.

    Detectors with a ``detect_scored`` method give their own confidence;
    others (boxes only) count every box as sure (1.0).
    """
    scored = getattr(detector, "detect_scored", None)
    if scored is not None:
        return scored(frames)
    return [[Candidate(tuple(box[:4]), 1.0) for box in found] for found in detector.detect(frames)]


class HaarDetector:
    """OpenCV's Viola-Jones cascade: no download, CPU only, frontal faces."""

    def __init__(
        self,
        cascade: str = "haarcascade_frontalface_default.xml",
        scale_factor: float = 1.1,
        min_neighbors: int = 5,
        min_size: int = 24,
    ) -> None:
        path = cascade if os.path.isabs(cascade) else os.path.join(cv2.data.haarcascades, cascade)
        self._classifier = cv2.CascadeClassifier(path)
        if self._classifier.empty():
            raise ModelLoadError(
                f"Haar cascade {cascade!r} not found (looked at {path}); opencv-python 4.x "
                "ships the cascades (5.0 does not): pip install 'opencv-python<5'"
            )
        self.scale_factor = scale_factor
        self.min_neighbors = min_neighbors
        self.min_size = min_size

    def detect(self, frames: Sequence[np.ndarray]) -> list[list[Box]]:
        return [[c.box for c in found] for found in self.detect_scored(frames)]

    def detect_scored(self, frames: Sequence[np.ndarray]) -> list[list[Candidate]]:
        """Boxes with ``n / (n + min_neighbors)`` as confidence, n the box's neighbour count.

        ``min_neighbors`` is the cascade's own acceptance threshold, so every
        returned box scores at least 0.5, and a box many windows agree on
        approaches 1.
        """
        results = []
        for frame in frames:
            gray = cv2.equalizeHist(cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY))
            found, neighbours = self._classifier.detectMultiScale2(
                gray,
                scaleFactor=self.scale_factor,
                minNeighbors=self.min_neighbors,
                minSize=(self.min_size, self.min_size),
            )
            results.append(
                [
                    Candidate(tuple(int(v) for v in box), n / (n + max(self.min_neighbors, 1)))
                    for box, n in zip(found, np.ravel(neighbours), strict=True)
                ]
            )
        return results


class MtcnnDetector:
    """MTCNN with the weights facenet-pytorch ships: offline, CPU or GPU (``ahrec.faces.mtcnn``).

    ``confidence`` is the threshold on the last network's face probability:
    boxes below it are not faces to the workflow (measured on real footage,
    docs/measurements.md).
    """

    def __init__(
        self,
        confidence: float = 0.95,
        min_face_size: int = 20,
        factor: float = 0.709,
        batch_size: int = 16,
        device: str = "cpu",
    ) -> None:
        from ahrec.faces.mtcnn import Mtcnn

        # the last stage's own threshold is the confidence (MTCNN's published 0.7 otherwise)
        self._model = Mtcnn(
            min_face_size=min_face_size,
            thresholds=(0.6, 0.7, confidence),
            factor=factor,
            device=device,
        )
        self.confidence = confidence
        self.batch_size = batch_size

    def detect(self, frames: Sequence[np.ndarray]) -> list[list[Box]]:
        return [[c.box for c in found] for found in self.detect_scored(frames)]

    def detect_scored(self, frames: Sequence[np.ndarray]) -> list[list[Candidate]]:
        results: list[list[Candidate]] = []
        for start in range(0, len(frames), self.batch_size):
            batch = frames[start : start + self.batch_size]
            if len({f.shape for f in batch}) > 1:  # one video's frames share a size; be safe
                found = [self._model.detect([f])[0] for f in batch]
            else:
                found = self._model.detect(batch)
            for rows in found:
                results.append(
                    [
                        Candidate(
                            (
                                int(round(x0)),
                                int(round(y0)),
                                int(round(x1 - x0)),
                                int(round(y1 - y0)),
                            ),
                            float(p),
                        )
                        for x0, y0, x1, y1, p in rows
                        if p >= self.confidence and x1 > x0 and y1 > y0
                    ]
                )
        return results


class YoloDetector:
    """A YOLO face model through ultralytics (the paper: yolov8n-face).

    Checkpoints are loaded with ``torch.load(weights_only=True)`` and an
    allow-list of model classes (ultralytics' safe-load mode), and without any
    online check: a checkpoint cannot run code, and no network is needed.
    """

    def __init__(
        self,
        checkpoint: str | Path,
        confidence: float = 0.01,
        iou: float = 0.5,
        imgsz: int = 640,
        batch_size: int = 32,
        device: str = "cpu",
    ) -> None:
        checkpoint = Path(checkpoint)
        if not checkpoint.is_file():
            raise ModelLoadError(
                f"YOLO face checkpoint not found: {checkpoint} (face.detector.checkpoint); "
                "download yolov8n-face.pt from github.com/lindevs/yolov8-face"
            )
        os.environ["ULTRALYTICS_SAFE_LOAD"] = "1"  # read when ultralytics is first imported
        os.environ.setdefault("YOLO_OFFLINE", "1")
        import ultralytics.nn.tasks
        from ultralytics import YOLO

        ultralytics.nn.tasks.SAFE_LOAD = True  # in case it was imported before
        try:
            self._model = YOLO(str(checkpoint), task="detect")
        except Exception as exc:  # ultralytics raises many types for a bad file
            raise ModelLoadError(f"could not load YOLO checkpoint {checkpoint}: {exc}") from exc
        self.confidence = confidence
        self.iou = iou
        self.imgsz = imgsz
        self.batch_size = batch_size
        self.device = device

    def detect(self, frames: Sequence[np.ndarray]) -> list[list[Box]]:
        return [[c.box for c in found] for found in self.detect_scored(frames)]

    def detect_scored(self, frames: Sequence[np.ndarray]) -> list[list[Candidate]]:
        results: list[list[Candidate]] = []
        for start in range(0, len(frames), self.batch_size):
            batch = [
                cv2.cvtColor(f, cv2.COLOR_RGB2BGR) for f in frames[start : start + self.batch_size]
            ]
            predictions = self._model.predict(
                batch,
                conf=self.confidence,
                iou=self.iou,
                imgsz=self.imgsz,
                device=self.device,
                verbose=False,
            )
            for prediction in predictions:
                corners = prediction.boxes.xyxy.cpu().numpy().tolist()
                scores = prediction.boxes.conf.cpu().numpy().tolist()
                results.append(
                    [
                        Candidate(
                            (int(x1), int(y1), int(round(x2 - x1)), int(round(y2 - y1))), float(p)
                        )
                        for (x1, y1, x2, y2), p in zip(corners, scores, strict=True)
                    ]
                )
        return results


def make_detector(settings: Mapping[str, Any], device: str = "auto") -> FaceDetector:
    """The detector a ``face.detector`` section names (its kind table row builds it)."""
    from ahrec.faces.kinds import DETECTORS

    row, options, problems = DETECTORS.parse("face.detector", settings)
    if problems or row is None:
        raise ValueError("; ".join(problems))
    context: dict[str, Any] = {}
    if row.neural:
        from ahrec.device import select_device

        context["device"] = str(select_device(device))
    return row.load()(**vars(options), **context)


def clip_box(box: Sequence[int], width: int, height: int) -> Box | None:
    """The box's part inside the frame, or None when nothing of it is."""
    x, y, w, h = (int(v) for v in box[:4])
    x0, y0 = max(0, x), max(0, y)
    x1, y1 = min(width, x + w), min(height, y + h)
    return (x0, y0, x1 - x0, y1 - y0) if x1 > x0 and y1 > y0 else None


def largest_box(boxes: Sequence[Box], width: int, height: int) -> Box | None:
    """The largest box by area after clipping to the frame, or None (the paper's rule)."""
    clipped = [b for b in (clip_box(box, width, height) for box in boxes) if b is not None]
    return max(clipped, key=lambda b: b[2] * b[3], default=None)


def crop_face(frame: np.ndarray, box: Box | None, size: int) -> np.ndarray:
    """The exact box (or the whole frame when None) resized to ``size`` x ``size``."""
    region = frame if box is None else frame[box[1] : box[1] + box[3], box[0] : box[0] + box[2]]
    if region.size == 0:
        region = frame
    interpolation = cv2.INTER_AREA if min(region.shape[:2]) > size else cv2.INTER_LINEAR
    return cv2.resize(region, (size, size), interpolation=interpolation)


@dataclass(frozen=True)
class FaceStats:
    video_id: str
    n_frames: int
    n_detected: int
    reason: str | None

    @property
    def detection_rate(self) -> float:
        return self.n_detected / self.n_frames if self.n_frames else 0.0


NO_FACE = "no face found"


# How much a kept box gains for sitting where the previous one was (and loses for
# a jump), against confidences of 0..1 (ahrec.faces.track.select_track).
CONTINUITY = 0.5


def _empty(video_id: str, reason: str | None) -> FrameSet:
    empty = FrameSet(video_id, [], np.zeros(0, np.int64), reason)
    empty.extras = {
        "detected": np.zeros(0, bool),
        "interpolated": np.zeros(0, bool),
        "box": np.zeros((0, 4), np.int32),
        "score": np.zeros(0, np.float32),
    }
    return empty


SELECTIONS = ("track", "largest")


def largest(candidates: Sequence[Candidate]) -> int | None:
    """Index of the largest box by area (the paper's rule), or None when there is none."""
    if not candidates:
        return None
    return max(range(len(candidates)), key=lambda i: candidates[i].box[2] * candidates[i].box[3])


def crop_faces(
    frame_set: FrameSet,
    detector: FaceDetector,
    crop_size: int,
    no_face: str = "whole_frames",
    continuity: float = CONTINUITY,
    select: str = "track",
) -> tuple[FrameSet, FaceStats]:
    """Face crops of one video along its face track, and its detection rate.

    The detector's accepted boxes of all the video's frames are linked into
    one track (``select_track``): a frame's crop is its box on the track, or
    the track's box interpolated from the neighbouring frames when the track
    skips it (``extras["interpolated"]``; not a detection). Only the video's
    own frames are used, so its crops do not depend on other videos.

    A video whose frames give no accepted box gets whole frames
    (``no_face: whole_frames``, the paper's rule) or no crops at all, so that
    its face modality is masked (``no_face: mask``): whole frames of a room
    are not a face, and a face model reads them as one it has never seen.

    ``select: largest`` is the paper's rule instead: each frame's largest
    accepted box, whole frames where a frame has none (no track, no
    interpolation); a larger false box then wins over the real face.
    """
    if select not in SELECTIONS:
        raise ValueError(f"face.select must be one of {', '.join(SELECTIONS)}, not {select!r}")
    if not frame_set.available:
        return _empty(frame_set.video_id, frame_set.reason), FaceStats(
            frame_set.video_id, 0, 0, frame_set.reason
        )
    frames = frame_set.frames
    found = []
    for frame, candidates in zip(frames, candidates_of(detector, frames), strict=True):
        height, width = frame.shape[:2]
        clipped = ((clip_box(c.box, width, height), c.score) for c in candidates)
        found.append([Candidate(box, score) for box, score in clipped if box is not None])
    chosen = select_track(found, continuity) if select == "track" else [largest(c) for c in found]
    kept = [None if i is None else found[t][i].box for t, i in enumerate(chosen)]
    scores = [0.0 if i is None else found[t][i].score for t, i in enumerate(chosen)]
    detected = [box is not None for box in kept]
    if no_face == "mask" and not any(detected):
        return _empty(frame_set.video_id, NO_FACE), FaceStats(
            frame_set.video_id, len(frames), 0, NO_FACE
        )
    filled = fill_gaps(kept) if select == "track" else kept
    boxes = [
        box if box is not None else (0, 0, frame.shape[1], frame.shape[0])
        for frame, box in zip(frames, filled, strict=True)
    ]
    result = FrameSet(
        video_id=frame_set.video_id,
        frames=[
            crop_face(frame, box, crop_size) for frame, box in zip(frames, filled, strict=True)
        ],
        frame_index=frame_set.frame_index,
        extras={
            "detected": np.array(detected, bool),
            "interpolated": np.array(
                [k is None and f is not None for k, f in zip(kept, filled, strict=True)], bool
            ),
            "box": np.array(boxes, np.int32).reshape(-1, 4),
            "score": np.array(scores, np.float32),
        },
    )
    return result, FaceStats(frame_set.video_id, len(frames), int(sum(detected)), None)
