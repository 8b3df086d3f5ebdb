"""By-eye face boxes of the real recordings (``ahrec.devtools.real_media``), for tests and benchmarks.

Judged on enlargements of the frames with a 10-pixel grid drawn over them,
then checked on contact sheets with every detector's boxes
(``benchmarks/face_detectors.py --sheets``). Boxes run from the eyebrows to
the chin and from cheek to cheek; a detector's box is counted correct at an
IoU of ``IOU`` or more, since detectors frame a face differently (forehead or
not, square or not).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

IOU = 0.3

# carphone (and its compressed copy, the same frames): (x0, y0, x1, y1) at every 8th
# frame and the last, linearly interpolated between (the head moves slowly).
CARPHONE_KEYS: dict[int, tuple[int, int, int, int]] = {
    0: (62, 40, 100, 97),
    8: (64, 40, 100, 98),
    16: (60, 40, 100, 100),
    24: (64, 45, 102, 102),
    32: (57, 42, 100, 98),
    40: (57, 42, 100, 98),
    48: (55, 45, 100, 100),
    56: (55, 45, 100, 100),
    64: (53, 40, 98, 97),
    72: (55, 38, 100, 97),
    80: (40, 38, 95, 98),
    88: (35, 35, 95, 97),
    96: (30, 38, 95, 97),
    104: (45, 40, 100, 100),
    112: (38, 45, 97, 102),
    119: (45, 45, 100, 100),
}
# Official portraits shipped by installed packages: skimage.data.astronaut() and
# matplotlib's sample_data/grace_hopper.jpg.
PORTRAITS: dict[str, tuple[int, int, int, int]] = {
    "astronaut": (175, 65, 255, 165),
    "grace_hopper": (175, 140, 355, 330),
}
# bikes frames (half-open ranges) where a person's face IS visible, left out of the
# no-face count: 30-47 a man in a suit (three-quarter view), 76-136 a cyclist with
# helmet and sunglasses (face about 15 pixels). The rest (road, cars, a taxi, a
# fence, legs) shows no face.
BIKES_FACES: tuple[tuple[int, int], ...] = ((30, 48), (76, 137))
# bigbuckbunny: where the cartoon rabbit's head is in every frame (x0, y0, x1, y1);
# rocks lie left of it, sky and hills right of it.
RABBIT_HEAD = (280, 40, 620, 520)


def carphone_box(index: int) -> tuple[int, int, int, int]:
    """The by-eye face box of carphone's frame ``index`` (0..119)."""
    keys = sorted(CARPHONE_KEYS)
    box = [np.interp(index, keys, [CARPHONE_KEYS[k][c] for k in keys]) for c in range(4)]
    return tuple(int(round(v)) for v in box)  # type: ignore[return-value]


def bikes_shows_a_face(index: int) -> bool:
    return any(start <= index < stop for start, stop in BIKES_FACES)


def iou(box: Sequence[int], reference: Sequence[int]) -> float:
    """IoU of an (x, y, w, h) box with an (x0, y0, x1, y1) reference."""
    x0, y0, x1, y1 = box[0], box[1], box[0] + box[2], box[1] + box[3]
    rx0, ry0, rx1, ry1 = reference
    inter = max(0, min(x1, rx1) - max(x0, rx0)) * max(0, min(y1, ry1) - max(y0, ry0))
    union = (x1 - x0) * (y1 - y0) + (rx1 - rx0) * (ry1 - ry0) - inter
    return inter / union if union > 0 else 0.0


def inside(box: Sequence[int], region: Sequence[int]) -> bool:
    """Whether an (x, y, w, h) box lies within an (x0, y0, x1, y1) region."""
    return (
        box[0] >= region[0]
        and box[1] >= region[1]
        and box[0] + box[2] <= region[2]
        and box[1] + box[3] <= region[3]
    )
