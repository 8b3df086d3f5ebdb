"""What a video file holds, read with ffprobe (no decoding).

The manifest records duration, frame rate, size and whether there is an
audio track, so that later stages can plan work and explain missing
modalities without opening the file again.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import ffmpeg


@dataclass(frozen=True)
class VideoInfo:
    readable: bool
    duration: float | None = None
    fps: float | None = None
    n_frames: int | None = None
    width: int | None = None
    height: int | None = None
    has_audio: bool = False
    problem: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _rate(text: str | None) -> float | None:
    if not text or text in ("0/0", "0"):
        return None
    try:
        value = float(Fraction(text))
    except (ValueError, ZeroDivisionError):
        return None
    return value if value > 0 and math.isfinite(value) else None


def _float(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) and number > 0 else None


def _rotation(stream: dict[str, Any]) -> int:
    """Rotation in degrees from stream side data or the legacy 'rotate' tag."""
    for side in stream.get("side_data_list", []) or []:
        if "rotation" in side:
            try:
                return int(float(side["rotation"])) % 360
            except (TypeError, ValueError):
                return 0
    try:
        return int(stream.get("tags", {}).get("rotate", 0)) % 360
    except (TypeError, ValueError):
        return 0


def probe_video(path: str | Path) -> VideoInfo:
    """Probe one file; a file ffprobe cannot read gives ``readable=False`` and why."""
    path = Path(path)
    if not path.is_file():
        return VideoInfo(readable=False, problem="file not found")
    if path.stat().st_size == 0:
        return VideoInfo(readable=False, problem="empty file (0 bytes)")
    try:
        info = ffmpeg.probe(str(path))
    except ffmpeg.Error as exc:
        message = (exc.stderr or b"").decode("utf-8", "replace").strip().splitlines()
        reason = message[-1] if message else "ffprobe failed"
        return VideoInfo(readable=False, problem=f"unreadable by ffprobe: {reason}")
    streams = info.get("streams", [])
    video = next((s for s in streams if s.get("codec_type") == "video"), None)
    has_audio = any(s.get("codec_type") == "audio" for s in streams)
    if video is None:
        return VideoInfo(readable=False, has_audio=has_audio, problem="no video stream")
    fps = _rate(video.get("avg_frame_rate")) or _rate(video.get("r_frame_rate"))
    duration = _float(video.get("duration")) or _float(info.get("format", {}).get("duration"))
    n_frames: int | None = None
    try:
        n_frames = int(video["nb_frames"]) if int(video.get("nb_frames", 0)) > 0 else None
    except (TypeError, ValueError):
        n_frames = None
    if n_frames is None and duration and fps:
        n_frames = max(1, int(round(duration * fps)))
    width, height = video.get("width"), video.get("height")
    if _rotation(video) in (90, 270) and width and height:
        width, height = height, width
    return VideoInfo(
        readable=True,
        duration=duration,
        fps=fps,
        n_frames=n_frames,
        width=int(width) if width else None,
        height=int(height) if height else None,
        has_audio=has_audio,
    )
