"""Real faces for the demo videos, with the face cue planted in their motion.

A face detector only finds a face that looks like one, so the demo uses real
photographs that ship with installed packages (scikit-image's astronaut and
matplotlib's Grace Hopper). Each participant gets a distinct look (photo,
mirror, size, position, colour); the face cue is how often the expression
changes: hesitant faces (cue 1) open the mouth, raise or lower the brows,
tilt and look down or away often; calm faces (cue 0) stay mostly still. Warps
stay small so that OpenCV's Haar cascade still finds the face.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable
from dataclasses import dataclass

import cv2
import numpy as np

# (loader name, face box x, y, w, h) in the original photo, as Haar finds it.
PHOTOS: dict[str, tuple[int, int, int, int]] = {
    "astronaut": (177, 66, 95, 95),
    "grace_hopper": (155, 105, 222, 222),
}


@functools.lru_cache(maxsize=4)
def load_photo(name: str) -> np.ndarray:
    """An RGB uint8 photo shipped by scikit-image or matplotlib (no download)."""
    if name == "astronaut":
        import skimage.data

        return np.ascontiguousarray(skimage.data.astronaut()[..., :3])
    if name == "grace_hopper":
        import matplotlib

        path = os.path.join(matplotlib.get_data_path(), "sample_data", "grace_hopper.jpg")
        image = cv2.imread(path, cv2.IMREAD_COLOR)
        if image is None:
            raise RuntimeError(f"cannot read {path}; is matplotlib installed completely?")
        return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    raise ValueError(f"unknown photo {name!r}; choose one of {sorted(PHOTOS)}")


@dataclass(frozen=True)
class Appearance:
    """A participant's look: which photo, mirrored or not, size, place and colour."""

    photo: str
    mirror: bool
    face_fraction: float  # face width as a fraction of the frame height
    centre_x: float  # face centre, fraction of the frame width
    top_y: float  # face top, fraction of the frame height
    tint: tuple[float, float, float]
    brightness: float


def appearance_for_participant(rng: np.random.Generator) -> Appearance:
    """Draw a distinct look for one participant."""
    names = sorted(PHOTOS)
    return Appearance(
        photo=names[int(rng.integers(len(names)))],
        mirror=bool(rng.random() < 0.5),
        face_fraction=float(rng.uniform(0.33, 0.42)),
        centre_x=float(rng.uniform(0.38, 0.62)),
        top_y=float(rng.uniform(0.12, 0.24)),
        tint=(
            float(rng.uniform(0.85, 1.15)),
            float(rng.uniform(0.85, 1.12)),
            float(rng.uniform(0.82, 1.12)),
        ),
        brightness=float(rng.uniform(0.85, 1.1)),
    )


@dataclass
class HeadSprite:
    """A head-and-shoulders cut-out with a soft mask and the fields that animate it."""

    rgba: np.ndarray  # float32 (h, w, 4): premultiplied RGB in 0-255, alpha in 0-1
    face_box: tuple[float, float, float, float]  # x, y, w, h in sprite coordinates
    grid_x: np.ndarray
    grid_y: np.ndarray
    mouth_x: np.ndarray  # displacement fields for one unit of mouth opening
    mouth_y: np.ndarray
    brow_y: np.ndarray  # displacement field for one unit of brow raising

    @property
    def face_centre(self) -> tuple[float, float]:
        x, y, w, h = self.face_box
        return x + w / 2, y + h / 2

    @property
    def face_size(self) -> float:
        return self.face_box[2]


def build_sprite(appearance: Appearance, frame_height: int) -> HeadSprite:
    """Cut the head and shoulders out of the photo at the size this participant needs."""
    photo = load_photo(appearance.photo)
    fx, fy, fw, fh = PHOTOS[appearance.photo]
    height, width = photo.shape[:2]
    # Head and shoulders; rows/columns beyond the photo repeat its edge (clothes).
    left, right = round(fx - 1.4 * fw), round(fx + fw + 1.4 * fw)
    top, bottom = max(0, round(fy - 0.6 * fh)), round(fy + fh + 1.8 * fh)
    padded = cv2.copyMakeBorder(
        photo,
        0,
        max(0, bottom - height),
        max(0, -left),
        max(0, right - width),
        cv2.BORDER_REPLICATE,
    )
    crop = padded[top:bottom, left + max(0, -left) : right + max(0, -left)]
    scale = appearance.face_fraction * frame_height / fw
    size = (max(8, round(crop.shape[1] * scale)), max(8, round(crop.shape[0] * scale)))
    sprite = cv2.resize(crop, size, interpolation=cv2.INTER_AREA).astype(np.float32)
    box = ((fx - left) * scale, (fy - top) * scale, fw * scale, fh * scale)
    if appearance.mirror:
        sprite = sprite[:, ::-1]
        box = (sprite.shape[1] - box[0] - box[2], box[1], box[2], box[3])
    gains = np.asarray(appearance.tint, np.float32) * appearance.brightness
    sprite = np.clip(sprite * gains, 0, 255)

    h, w = sprite.shape[:2]
    bx, by, bw, bh = box
    cx, cy = bx + bw / 2, by + bh / 2
    mask = np.zeros((h, w), np.float32)
    cv2.ellipse(
        mask,
        (round(cx), round(cy - 0.08 * bh)),
        (round(0.78 * bw), round(0.98 * bh)),
        0,
        0,
        360,
        1,
        -1,
    )
    cv2.rectangle(
        mask, (round(cx - 0.4 * bw), round(cy)), (round(cx + 0.4 * bw), round(by + 1.5 * bh)), 1, -1
    )
    cv2.ellipse(
        mask,
        (round(cx), round(by + 2.3 * bh)),
        (round(1.6 * bw), round(1.0 * bh)),
        0,
        0,
        360,
        1,
        -1,
    )
    sigma = max(1.0, 0.05 * bw)
    mask = cv2.GaussianBlur(mask, (0, 0), sigma)
    rgba = np.dstack([sprite * mask[..., None], mask]).astype(np.float32)

    grid_x, grid_y = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    # Mouth: a Gaussian region around the lips that stretches (opens) vertically.
    mcx, mcy, mrx, mry = cx, by + 0.79 * bh, 0.24 * bw, 0.13 * bh
    weight = np.exp(-(((grid_x - mcx) / mrx) ** 2) - ((grid_y - mcy) / mry) ** 2)
    mouth_y = -(grid_y - mcy) / mry * weight
    mouth_x = -0.4 * (grid_x - mcx) / mrx * weight
    # Brows: a band over the eyes that moves up (positive) or down (negative).
    bcx, bcy, brx, bry = cx, by + 0.3 * bh, 0.45 * bw, 0.12 * bh
    brow_y = np.exp(-(((grid_x - bcx) / brx) ** 2) - ((grid_y - bcy) / bry) ** 2)
    return HeadSprite(
        rgba=rgba,
        face_box=box,
        grid_x=grid_x,
        grid_y=grid_y,
        mouth_x=mouth_x.astype(np.float32),
        mouth_y=mouth_y.astype(np.float32),
        brow_y=brow_y.astype(np.float32),
    )


@dataclass(frozen=True)
class ExpressionTrack:
    """Per-frame face motion; lengths in face widths, angles in degrees."""

    mouth: np.ndarray
    brow: np.ndarray
    tilt: np.ndarray
    shift_x: np.ndarray
    shift_y: np.ndarray
    squash_x: np.ndarray  # 1 = none; < 1 turns the head away
    squash_y: np.ndarray  # 1 = none; < 1 looks down
    events_per_second: float


# Expression events a hesitant face makes: (name, largest amplitude).
_EVENTS: tuple[tuple[str, float], ...] = (
    ("mouth", 0.15),
    ("brow_up", 0.09),
    ("brow_down", 0.07),
    ("tilt", 9.0),
    ("look_down", 0.1),
    ("look_away", 0.1),
)


def expression_track(
    face_cue: int,
    n_frames: int,
    fps: int,
    speech_envelope: np.ndarray,
    rng: np.random.Generator,
) -> ExpressionTrack:
    """Draw one video's face motion from its face cue.

    Both classes sway a little and move the lips with the speech (so lip motion
    is no giveaway); they differ in how often expression events happen
    (overlapping rates), which is the planted cue.
    """
    t = np.arange(n_frames, dtype=np.float32) / fps
    if face_cue:
        rate = float(rng.uniform(0.8, 2.0))
        strength = (0.55, 1.0)
    else:
        rate = float(rng.uniform(0.0, 0.3))
        strength = (0.3, 0.6)
    tracks = {name: np.zeros(n_frames, np.float32) for name, _ in _EVENTS}
    n_events = int(rng.poisson(rate * n_frames / fps))
    for _ in range(n_events):
        name, largest = _EVENTS[int(rng.integers(len(_EVENTS)))]
        start = float(rng.uniform(-0.3, n_frames / fps))
        length = float(rng.uniform(0.3, 1.1))
        amplitude = largest * float(rng.uniform(*strength))
        if name in ("tilt", "look_away"):
            amplitude *= float(rng.choice([-1.0, 1.0]))
        phase = np.clip((t - start) / length, 0.0, 1.0)
        tracks[name] += amplitude * np.sin(np.pi * phase) ** 2

    def sway(amplitude: float, low: float, high: float) -> np.ndarray:
        freq = float(rng.uniform(low, high))
        return (amplitude * np.sin(2 * np.pi * freq * t + rng.uniform(0, 2 * np.pi))).astype(
            np.float32
        )

    lips = float(rng.uniform(0.015, 0.03)) * speech_envelope[:n_frames].astype(np.float32)
    mouth = tracks["mouth"] + lips
    brow = tracks["brow_up"] - tracks["brow_down"]
    tilt = tracks["tilt"] + sway(float(rng.uniform(0.2, 1.0)), 0.05, 0.3)
    shift_x = 0.5 * tracks["look_away"] + sway(float(rng.uniform(0.003, 0.012)), 0.05, 0.25)
    shift_y = 0.6 * tracks["look_down"] + sway(float(rng.uniform(0.002, 0.008)), 0.05, 0.25)
    squash_x = 1.0 - 1.2 * np.abs(tracks["look_away"])
    squash_y = 1.0 - 1.0 * tracks["look_down"]
    return ExpressionTrack(
        mouth=mouth,
        brow=brow,
        tilt=np.clip(tilt, -9.0, 9.0),
        shift_x=shift_x,
        shift_y=shift_y,
        squash_x=squash_x.astype(np.float32),
        squash_y=squash_y.astype(np.float32),
        events_per_second=rate,
    )


def animate_sprite(sprite: HeadSprite, mouth: float, brow: float) -> np.ndarray:
    """The sprite with the mouth opened by ``mouth`` and brows raised by ``brow`` face widths."""
    if abs(mouth) < 1e-4 and abs(brow) < 1e-4:
        return sprite.rgba
    size = sprite.face_size
    map_x = sprite.grid_x + (mouth * size) * sprite.mouth_x
    map_y = sprite.grid_y + (mouth * size) * sprite.mouth_y + (brow * size) * sprite.brow_y
    return cv2.remap(sprite.rgba, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)


def placement(
    sprite: HeadSprite,
    centre: tuple[float, float],
    tilt_deg: float,
    squash_x: float,
    squash_y: float,
) -> np.ndarray:
    """The 2x3 affine that puts the sprite's face centre at ``centre``, tilted and squashed."""
    sx, sy = sprite.face_centre
    angle = np.deg2rad(tilt_deg)
    cos, sin = np.cos(angle), np.sin(angle)
    linear = np.array([[cos, -sin], [sin, cos]]) @ np.diag([squash_x, squash_y])
    offset = np.asarray(centre) - linear @ np.asarray([sx, sy])
    return np.hstack([linear, offset[:, None]]).astype(np.float64)


# Hair seen from behind, per photo (RGB, before the participant's tint).
HAIR: dict[str, tuple[float, float, float]] = {
    "astronaut": (58.0, 44.0, 36.0),
    "grace_hopper": (96.0, 92.0, 94.0),
}


def back_of_head(sprite: HeadSprite, appearance: Appearance) -> np.ndarray:
    """The sprite's RGBA turned away from the camera: hair where the face was.

    The shoulders and clothes stay, so the picture keeps a person's shapes and
    tones (and the frame its contrast: on an empty wall, a detector's
    histogram equalisation would magnify the grain into face-like blotches).
    The hair's strands come from a fixed seed, not from the video's random
    stream, so the rest of the video is drawn exactly as for its normal twin.
    """
    height, width = sprite.rgba.shape[:2]
    bx, by, bw, bh = sprite.face_box
    cx, cy = bx + bw / 2, by + bh / 2
    head = np.zeros((height, width), np.float32)
    cv2.ellipse(
        head,
        (round(cx), round(cy - 0.08 * bh)),
        (round(0.8 * bw), round(1.0 * bh)),
        0,
        0,
        360,
        1,
        -1,
    )
    head = cv2.GaussianBlur(head, (0, 0), max(1.0, 0.04 * bw))[..., None]
    strands = np.random.default_rng(20260).normal(0.0, 1.0, (height, width)).astype(np.float32)
    strands = cv2.GaussianBlur(
        strands, (0, 0), sigmaX=max(0.5, 0.01 * bw), sigmaY=max(1.0, 0.08 * bh)
    )
    strands /= float(np.abs(strands).max()) or 1.0
    gains = np.asarray(appearance.tint, np.float32) * appearance.brightness
    hair = np.asarray(HAIR[appearance.photo], np.float32) * gains
    hair = np.clip(hair[None, None, :] * (1.0 + 0.25 * strands[..., None]), 0, 255)
    alpha = sprite.rgba[..., 3:4]
    rgb = sprite.rgba[..., :3] * (1.0 - head) + hair * alpha * head
    return np.dstack([rgb, alpha]).astype(np.float32)


class FaceGuard:
    """Finds anything OpenCV's frontal-face cascade might take for a face, with a margin.

    Why: a video meant to show no face must not show one to the workflow's
    detector either, and a room can fool it. The workflow stores the sampled
    frames as JPEG (quality 95) and runs the cascade on the
    histogram-equalised grey image (``ahrec.faces.detect.HaarDetector``),
    which turns the faint grain of a plain wall, the blotches of gravel or
    the codec's noise into high-contrast patterns that now and then pass the
    cascade (in about two thirds of the videos of an empty room). So the
    guard looks the way the workflow does (JPEG, equalised) and the way a
    plain detector does (the decoded frame, not equalised), with fewer
    neighbours and a smaller size than the workflow's defaults (5 and 24
    pixels): what the guard clears, the detector does not find even after
    small changes of the pixels (another decoder, another JPEG encoder).
    """

    def __init__(self, min_neighbors: int = 3, min_size: int = 20, jpeg_quality: int = 95) -> None:
        path = os.path.join(cv2.data.haarcascades, "haarcascade_frontalface_default.xml")
        self._cascade = cv2.CascadeClassifier(path)
        if self._cascade.empty():
            raise RuntimeError(f"OpenCV's frontal-face cascade is missing ({path})")
        self.min_neighbors = min_neighbors
        self.min_size = min_size
        self.jpeg_quality = jpeg_quality

    def _detect(self, gray: np.ndarray) -> Iterable[tuple[int, int, int, int]]:
        found = self._cascade.detectMultiScale(
            gray,
            scaleFactor=1.1,
            minNeighbors=self.min_neighbors,
            minSize=(self.min_size, self.min_size),
        )
        return (tuple(int(v) for v in box) for box in found)  # type: ignore[misc]

    def boxes(self, bgr: np.ndarray) -> list[tuple[int, int, int, int]]:
        """Every suspect box (x, y, w, h) in one BGR frame, sorted (order-free)."""
        gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
        ok, data = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, self.jpeg_quality])
        if not ok:
            raise RuntimeError("OpenCV could not encode a JPEG")
        stored = cv2.cvtColor(cv2.imdecode(data, cv2.IMREAD_COLOR), cv2.COLOR_BGR2GRAY)
        found = set(self._detect(gray)) | set(self._detect(cv2.equalizeHist(stored)))
        return sorted(found)


def smudge(frame: np.ndarray, boxes: Iterable[tuple[int, int, int, int]]) -> np.ndarray:
    """The frame with each box (and a margin around it) blurred into a smooth smudge.

    Used on a faceless video where the guard saw a face-like pattern: the blur
    removes the pattern, a feathered edge keeps the smudge from drawing new
    edges. Only a window around each box is filtered (the rest is unchanged).
    """
    out = frame.astype(np.float32)
    height, width = frame.shape[:2]
    for x, y, w, h in boxes:
        pad = max(4, round(0.3 * max(w, h)))
        sigma = max(3.0, 0.3 * max(w, h))
        feather = max(2.0, pad / 2)
        reach = pad + round(3 * max(sigma, feather))
        wx0, wy0 = max(0, x - reach), max(0, y - reach)
        wx1, wy1 = min(width, x + w + reach), min(height, y + h + reach)
        window = out[wy0:wy1, wx0:wx1]
        blurred = cv2.GaussianBlur(window, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)
        mask = np.zeros(window.shape[:2], np.float32)
        mask[
            max(0, y - pad) - wy0 : y + h + pad - wy0, max(0, x - pad) - wx0 : x + w + pad - wx0
        ] = 1
        mask = np.clip(2.0 * cv2.GaussianBlur(mask, (0, 0), feather), 0.0, 1.0)[..., None]
        out[wy0:wy1, wx0:wx1] = window * (1.0 - mask) + blurred * mask
    return np.clip(np.round(out), 0, 255).astype(np.uint8)
