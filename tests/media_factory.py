"""Small real videos for tests, written with ffmpeg from numpy frames.

Tests of decoding, audio extraction and face detection need real files; these
are a few KB, made in a temporary folder in well under a second.
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import ffmpeg
import numpy as np
import skimage.data


def face_image(size: int = 96) -> np.ndarray:
    """The astronaut photo's face (shipped with scikit-image), RGB, square."""
    image = skimage.data.astronaut()
    face = image[40:200, 150:300]
    return cv2.resize(face, (size, size), interpolation=cv2.INTER_AREA)


def make_frames(
    n: int, width: int = 160, height: int = 120, face: bool = False, seed: int = 0
) -> np.ndarray:
    """Frames whose content changes over time (a moving bar), optionally with a face."""
    rng = np.random.default_rng(seed)
    frames = np.zeros((n, height, width, 3), dtype=np.uint8)
    frames[:] = rng.integers(40, 90, size=3, dtype=np.uint8)
    for i in range(n):
        x = (i * 7) % width
        frames[i, :, x : x + 6] = (250, 250, 250)
        # the frame number painted as two grey levels (units, tens), robust to compression
        frames[i, :8, : width // 2] = (i % 10) * 25
        frames[i, :8, width // 2 :] = (i // 10 % 10) * 25
    if face:
        size = min(height, width) * 3 // 4
        patch = face_image(size)
        top, left = (height - size) // 2, (width - size) // 2
        frames[:, top : top + size, left : left + size] = patch
    return frames


def write_video(
    path: str | Path,
    frames: np.ndarray,
    fps: float = 25,
    audio: np.ndarray | None = None,
    sample_rate: int = 44100,
) -> Path:
    """Encode RGB frames (and optional mono float audio) as H.264/AAC mp4."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    n, height, width, _ = frames.shape
    video_in = ffmpeg.input(
        "pipe:", format="rawvideo", pix_fmt="rgb24", s=f"{width}x{height}", r=fps
    )
    streams = [video_in.video]
    wav = None
    if audio is not None:
        wav = path.with_suffix(".input.wav")
        pcm = (np.clip(audio, -1, 1) * 32767).astype("<i2")
        import wave

        with wave.open(str(wav), "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(sample_rate)
            out.writeframes(pcm.tobytes())
        streams.append(ffmpeg.input(str(wav)).audio)
    output = (
        ffmpeg.output(
            *streams, str(path), vcodec="libx264", pix_fmt="yuv420p", acodec="aac", shortest=None
        )
        if audio is not None
        else ffmpeg.output(*streams, str(path), vcodec="libx264", pix_fmt="yuv420p")
    )
    output.overwrite_output().global_args("-loglevel", "error").run(
        input=frames.tobytes(), capture_stdout=True, capture_stderr=True
    )
    if wav is not None:
        os.unlink(wav)
    return path


def tone(seconds: float, sample_rate: int = 44100, frequency: float = 220.0) -> np.ndarray:
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    return (0.3 * np.sin(2 * np.pi * frequency * t)).astype(np.float32)


def frame_number(rgb: np.ndarray) -> int:
    """The frame number ``make_frames`` painted into a frame's top rows."""
    width = rgb.shape[1]
    units = round(rgb[2:6, 2 : width // 2 - 2].mean() / 25)
    tens = round(rgb[2:6, width // 2 + 2 : -2].mean() / 25)
    return int(tens * 10 + units)


def make_video(
    path: str | Path,
    seconds: float = 2.0,
    fps: float = 25,
    width: int = 160,
    height: int = 120,
    audio: bool = True,
    face: bool = False,
    silent: bool = False,
    seed: int = 0,
) -> Path:
    frames = make_frames(int(round(seconds * fps)), width, height, face=face, seed=seed)
    sound = None
    if audio:
        sound = np.zeros(int(seconds * 44100), np.float32) if silent else tone(seconds)
    return write_video(path, frames, fps=fps, audio=sound)
