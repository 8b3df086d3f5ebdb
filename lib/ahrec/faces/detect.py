"""Face detection on the sampled face frames, and the paper's crop rule.

The paper keeps the largest box of each frame, crops it exactly, and falls
back to the whole frame when no face is found. Two detectors implement the
same interface: YOLO (ultralytics) when a YOLO face checkpoint is
configured, as in the paper, and OpenCV's Haar cascade, whose model ships
inside opencv-python and therefore works offline.
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
from ahrec.media.framestore import FrameSet

Box = tuple[int, int, int, int]  # x, y, width, height in pixels


class FaceDetector(Protocol):
    def detect(self, frames: Sequence[np.ndarray]) -> list[list[Box]]:
        """All face boxes of each RGB frame."""
        ...


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
        results = []
        for frame in frames:
            gray = cv2.equalizeHist(cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY))
            found = self._classifier.detectMultiScale(
                gray,
                scaleFactor=self.scale_factor,
                minNeighbors=self.min_neighbors,
                minSize=(self.min_size, self.min_size),
            )
            results.append([tuple(int(v) for v in box) for box in found])
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
        results: list[list[Box]] = []
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
                boxes = []
                for x1, y1, x2, y2 in prediction.boxes.xyxy.cpu().numpy().tolist():
                    boxes.append((int(x1), int(y1), int(round(x2 - x1)), int(round(y2 - y1))))
                results.append(boxes)
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


def largest_box(boxes: Sequence[Box], width: int, height: int) -> Box | None:
    """The largest box by area after clipping to the frame, or None."""
    best: Box | None = None
    best_area = 0
    for x, y, w, h in boxes:
        x0, y0 = max(0, x), max(0, y)
        x1, y1 = min(width, x + w), min(height, y + h)
        area = max(0, x1 - x0) * max(0, y1 - y0)
        if area > best_area:
            best, best_area = (x0, y0, x1 - x0, y1 - y0), area
    return best


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


def crop_faces(
    frame_set: FrameSet, detector: FaceDetector, crop_size: int, no_face: str = "whole_frames"
) -> tuple[FrameSet, FaceStats]:
    """Face crops of one video and its detection rate.

    A frame without a face is cropped whole. A video without a face in any
    frame gets whole frames too (``no_face: whole_frames``, the paper's rule)
    or no crops at all, so that its face modality is masked
    (``no_face: mask``): whole frames of a room are not a face, and a face
    model reads them as one it has never seen.
    """
    if not frame_set.available:
        empty = FrameSet(frame_set.video_id, [], np.zeros(0, np.int64), frame_set.reason)
        empty.extras = {"detected": np.zeros(0, bool), "box": np.zeros((0, 4), np.int32)}
        return empty, FaceStats(frame_set.video_id, 0, 0, frame_set.reason)
    detections = detector.detect(frame_set.frames)
    crops, detected, boxes = [], [], []
    for frame, found in zip(frame_set.frames, detections, strict=True):
        height, width = frame.shape[:2]
        box = largest_box(found, width, height)
        crops.append(crop_face(frame, box, crop_size))
        detected.append(box is not None)
        boxes.append(box if box is not None else (0, 0, width, height))
    if no_face == "mask" and not any(detected):
        empty = FrameSet(frame_set.video_id, [], np.zeros(0, np.int64), NO_FACE)
        empty.extras = {"detected": np.zeros(0, bool), "box": np.zeros((0, 4), np.int32)}
        return empty, FaceStats(frame_set.video_id, len(crops), 0, NO_FACE)
    result = FrameSet(
        video_id=frame_set.video_id,
        frames=crops,
        frame_index=frame_set.frame_index,
        extras={"detected": np.array(detected, bool), "box": np.array(boxes, np.int32)},
    )
    return result, FaceStats(frame_set.video_id, len(crops), int(sum(detected)), None)
