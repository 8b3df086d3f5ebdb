"""The face detector kinds: one table row each, with the options ``face.detector`` may set.

Light (no torch, no OpenCV): the Snakefile validates the configuration with it.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

from ahrec.kinds import Kind, KindTable, count, number, option


@dataclass(frozen=True)
class HaarSpec:
    """OpenCV's Viola-Jones frontal-face cascade (ships with opencv-python 4.x): offline, CPU."""

    cascade: str = option(
        "haarcascade_frontalface_default.xml", "a cascade file name in cv2.data.haarcascades"
    )
    scale_factor: float = number(1.1, "image pyramid step", low=1.0, low_open=True)
    min_neighbors: int = count(5, "neighbouring detections needed to keep a face", low=0)
    min_size: int = count(24, "smallest face in pixels")

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[A-Za-z0-9_.-]+\.xml", self.cascade):
            raise ValueError(
                f"cascade must be the file name of one of OpenCV's cascades (e.g. "
                f"haarcascade_frontalface_default.xml), not a path: got {self.cascade!r}"
            )


@dataclass(frozen=True)
class MtcnnSpec:
    """MTCNN with the weights facenet-pytorch ships (MIT; installed --no-deps): offline, the default.

    Chosen by measurement on real footage (docs/measurements.md): every frame of
    a real talking head, no box on street footage, where Haar misses a third
    of the frames and boxes shoulders, sky and rocks.
    """

    confidence: float = number(
        0.9, "minimum face probability of the last stage: boxes below are not faces", high=1.0
    )
    min_face_size: int = count(20, "smallest face searched for, in pixels", low=12)
    factor: float = number(
        0.709, "image pyramid scale step (smaller: fewer scales, faster)", low=0.1, high=0.95
    )
    batch_size: int = count(16, "frames per pass (one video's frames share a size)")


@dataclass(frozen=True)
class YoloSpec:
    """A YOLO face checkpoint through ultralytics (the paper: yolov8n-face)."""

    checkpoint: str = option(
        dataclasses.MISSING,
        "a local .pt file (e.g. yolov8n-face.pt from github.com/lindevs/yolov8-face)",
    )
    confidence: float = number(0.01, "minimum detection confidence", high=1.0)
    iou: float = number(0.5, "non-maximum suppression IoU", high=1.0)
    imgsz: int = count(640, "inference image size", low=32, high=4096)
    batch_size: int = count(32, "frames per forward pass")


@dataclass(frozen=True)
class DetectorKind(Kind):
    pass


DETECTORS: KindTable[DetectorKind] = KindTable(
    "face detector",
    [
        DetectorKind("mtcnn", MtcnnSpec, "ahrec.faces.detect:MtcnnDetector", neural=True),
        DetectorKind("haar", HaarSpec, "ahrec.faces.detect:HaarDetector"),
        DetectorKind("yolo", YoloSpec, "ahrec.faces.detect:YoloDetector", neural=True),
    ],
)
