"""Backgrounds and camera for the demo videos, with the scene cue planted in motion.

Each participant records in their own room (a distinct background). The
scene cue is how unsettled the whole picture is: a cue-1 video has handheld
camera shake, a moving background (people passing, a drifting view) and
sometimes flickering light; a cue-0 video has a still camera and room. The
amplitudes come from overlapping distributions so the classes are not cleanly
separable by one statistic.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import cv2
import numpy as np

TEXTURES: tuple[str, ...] = ("brick", "grass", "gravel", "stripes", "plain", "tiles")


@functools.lru_cache(maxsize=4)
def _skimage_texture(name: str) -> np.ndarray:
    import skimage.data

    image = getattr(skimage.data, name)()
    return image.astype(np.float32) / 255.0


@dataclass(frozen=True)
class Room:
    """A participant's background: texture, colours and a few objects."""

    texture: str
    colour: tuple[float, float, float]
    accent: tuple[float, float, float]
    texture_scale: float
    contrast: float
    blur: float
    objects: tuple[tuple[float, float, float, float, float, float, float], ...]
    seed: int


def room_for_participant(rng: np.random.Generator) -> Room:
    """Draw a distinct room for one participant."""
    colour = tuple(float(c) for c in rng.uniform(60, 210, 3))
    accent = tuple(float(c) for c in rng.uniform(30, 230, 3))
    objects = tuple(
        (
            float(rng.uniform(0.0, 1.0)),  # x (fraction)
            float(rng.uniform(0.0, 0.7)),  # y
            float(rng.uniform(0.08, 0.3)),  # width
            float(rng.uniform(0.1, 0.45)),  # height
            *(float(c) for c in rng.uniform(20, 235, 3)),
        )
        for _ in range(int(rng.integers(1, 5)))
    )
    return Room(
        texture=TEXTURES[int(rng.integers(len(TEXTURES)))],
        colour=colour,  # type: ignore[arg-type]
        accent=accent,  # type: ignore[arg-type]
        texture_scale=float(rng.uniform(0.6, 1.6)),
        contrast=float(rng.uniform(0.25, 0.6)),
        blur=float(rng.uniform(0.6, 2.0)),
        objects=objects,
        seed=int(rng.integers(2**31)),
    )


def paint_room(room: Room, width: int, height: int) -> np.ndarray:
    """The room as an RGB uint8 image of the given size (wider than the frame to scroll)."""
    rng = np.random.default_rng(room.seed)
    if room.texture in ("brick", "grass", "gravel"):
        texture = _skimage_texture(room.texture)
        tile = cv2.resize(
            texture,
            (max(8, round(512 * room.texture_scale)), max(8, round(512 * room.texture_scale))),
            interpolation=cv2.INTER_AREA,
        )
        reps = (height // tile.shape[0] + 1, width // tile.shape[1] + 1)
        pattern = np.tile(tile, reps)[:height, :width]
    elif room.texture == "stripes":
        period = rng.uniform(12, 40) * room.texture_scale
        x = np.arange(width, dtype=np.float32)
        pattern = np.tile(0.5 + 0.5 * np.sin(2 * np.pi * x / period), (height, 1))
    elif room.texture == "tiles":
        size = max(4, round(rng.uniform(14, 36) * room.texture_scale))
        yy, xx = np.mgrid[0:height, 0:width]
        pattern = (((yy // size) + (xx // size)) % 2).astype(np.float32) * 0.6 + 0.2
    else:
        yy = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None]
        pattern = np.repeat(0.3 + 0.5 * yy, width, axis=1)
    pattern = pattern.astype(np.float32)
    base = np.asarray(room.colour, np.float32)
    accent = np.asarray(room.accent, np.float32)
    mix = room.contrast * (pattern[..., None] - 0.5)
    image = base * (1 - mix) + accent * mix
    for x, y, w, h, r, g, b in room.objects:
        x0, y0 = round(x * width), round(y * height)
        x1, y1 = round(x0 + w * height), round(y0 + h * height)
        cv2.rectangle(image, (x0, y0), (x1, y1), (r, g, b), -1)
        cv2.rectangle(image, (x0, y0), (x1, y1), (r * 0.5, g * 0.5, b * 0.5), 2)
    image += rng.normal(0, 3.0, image.shape).astype(np.float32)  # a little static grain
    image = cv2.GaussianBlur(image, (0, 0), room.blur)
    return np.clip(image, 0, 255).astype(np.uint8)


@dataclass(frozen=True)
class SceneMotion:
    """Per-frame camera and background motion of one video."""

    shake_x: np.ndarray  # pixels
    shake_y: np.ndarray
    shake_angle: np.ndarray  # degrees
    scroll_x: np.ndarray  # background offset, pixels
    light: np.ndarray  # brightness gain
    blobs: list[Blob]
    shake_amplitude: float  # pixels, for the ground-truth analysis


@dataclass(frozen=True)
class Blob:
    """Something passing behind the participant (a person, a pet, a car)."""

    colour: tuple[float, float, float]
    radius: tuple[int, int]
    y: float
    x0: float
    speed: float  # pixels per second
    wobble: float


def _smooth_noise(
    rng: np.random.Generator, t: np.ndarray, amplitude: float, low: float, high: float
) -> np.ndarray:
    """A sum of three random sinusoids: a cheap stand-in for handheld motion."""
    total = np.zeros_like(t)
    for _ in range(3):
        freq = float(rng.uniform(low, high))
        total += float(rng.uniform(0.4, 1.0)) * np.sin(2 * np.pi * freq * t + rng.uniform(0, 6.3))
    peak = float(np.abs(total).max()) or 1.0
    return (amplitude * total / peak).astype(np.float32)


def scene_motion(
    scene_cue: int,
    n_frames: int,
    fps: int,
    width: int,
    margin: int,
    travel: int,
    rng: np.random.Generator,
) -> SceneMotion:
    """Draw one video's camera and background motion from its scene cue."""
    t = np.arange(n_frames, dtype=np.float32) / fps
    if scene_cue:
        shake = float(rng.uniform(0.004, 0.016)) * width
        angle = float(rng.uniform(0.2, 1.2))
        scroll_speed = float(rng.uniform(0.02, 0.08)) * width if rng.random() < 0.7 else 0.0
        n_blobs = int(rng.integers(1, 4)) if rng.random() < 0.8 else 0
        flicker = float(rng.uniform(0.02, 0.07)) if rng.random() < 0.5 else 0.0
    else:
        shake = float(rng.uniform(0.0, 0.005)) * width
        angle = float(rng.uniform(0.0, 0.25))
        scroll_speed = float(rng.uniform(0.0, 0.015)) * width if rng.random() < 0.1 else 0.0
        n_blobs = 1 if rng.random() < 0.15 else 0
        flicker = float(rng.uniform(0.005, 0.02)) if rng.random() < 0.15 else 0.0
    shake = min(shake, 0.8 * margin)
    shake_x = _smooth_noise(rng, t, shake, 0.5, 4.0)
    shake_y = _smooth_noise(rng, t, 0.8 * shake, 0.5, 4.0)
    shake_angle = _smooth_noise(rng, t, angle, 0.3, 2.5)
    # Ping-pong so the background never runs out, however long the video.
    distance = scroll_speed * t + float(rng.uniform(0, travel))
    scroll_x = (travel - np.abs(travel - np.mod(distance, 2 * travel))).astype(np.float32)
    light = (1.0 + _smooth_noise(rng, t, flicker, 0.5, 3.0)).astype(np.float32)
    blobs = []
    for _ in range(n_blobs):
        speed = float(rng.uniform(0.1, 0.4)) * width * float(rng.choice([-1.0, 1.0]))
        if not scene_cue:
            speed *= 0.3
        blobs.append(
            Blob(
                colour=tuple(float(c) for c in rng.uniform(20, 235, 3)),  # type: ignore[arg-type]
                radius=(
                    int(rng.integers(10, 30)) * width // 320 + 2,
                    int(rng.integers(25, 60)) * width // 320 + 2,
                ),
                y=float(rng.uniform(0.2, 0.7)),
                x0=float(rng.uniform(-0.2, 1.2)),
                speed=speed,
                wobble=float(rng.uniform(0, 4)),
            )
        )
    return SceneMotion(
        shake_x=shake_x,
        shake_y=shake_y,
        shake_angle=shake_angle,
        scroll_x=scroll_x,
        light=light,
        blobs=blobs,
        shake_amplitude=shake,
    )


def draw_blobs(canvas: np.ndarray, blobs: list[Blob], time_s: float) -> None:
    """Draw the passing blobs on the background canvas (in place)."""
    height, width = canvas.shape[:2]
    span = width * 1.6
    for blob in blobs:
        x = (blob.x0 * width + blob.speed * time_s) % span - 0.3 * width
        y = blob.y * height + blob.wobble * np.sin(6.0 * time_s)
        cv2.ellipse(
            canvas,
            (round(x), round(y)),
            blob.radius,
            0,
            0,
            360,
            blob.colour,
            -1,
            lineType=cv2.LINE_AA,
        )


def camera(motion: SceneMotion, index: int, width: int, height: int, margin: int) -> np.ndarray:
    """The 2x3 affine from the canvas to the frame: crop the margin, shaken."""
    angle = float(motion.shake_angle[index])
    centre = (width / 2 + margin, height / 2 + margin)
    rotation = cv2.getRotationMatrix2D(centre, angle, 1.0)
    rotation[0, 2] += -margin + float(motion.shake_x[index])
    rotation[1, 2] += -margin + float(motion.shake_y[index])
    return rotation
