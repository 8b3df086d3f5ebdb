"""What a video (or audio-only) file holds, read with ffprobe (no decoding).

The manifest records duration, frame rate, size and whether there is a
video stream and an audio track, so that later stages can plan work and
explain missing modalities without opening the file again. Phone and audio
interviews are common in this field: a recording with an audio track and no
video stream (``.wav``, ``.m4a``, ``.mp3``...) is readable, ``has_video =
false``; its audio and text modalities are used and its scene and face are
unavailable (``AUDIO_ONLY``).

Videos come from other people, so every program that opens one (ffprobe,
ffmpeg, OpenCV's FFmpeg backend) is held to the same two whitelists:

- protocols: ``file`` only. A listed path is a local file; it can never
  become a network stream, a ``concat:`` or ``subfile,`` URL or a pipe.
- formats: the container demuxers of real videos (``VIDEO_CONTAINERS``)
  and of real audio recordings (``AUDIO_CONTAINERS``). FFmpeg otherwise
  guesses a format from the bytes and the name, and reads far more than
  recordings: a text file becomes frames rendered by the ``tty`` demuxer, an
  image a one-frame video, and an HLS or concat playlist named ``.mp4``
  makes it read media from anywhere on the machine, outside the corpus. A
  file whose detected format is not on the list is ``readable = false``
  with ``not a video container (detected: <format>)``.

Only files the probe accepted are decoded later (the manifest's
``readable``), and decoding applies the same whitelists again, so a file
swapped after the manifest was built is refused too. Frames are decoded
(OpenCV) under the video containers alone: no frame is ever wanted from an
audio container.
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import tempfile
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

# FFmpeg demuxer names (``ffmpeg -demuxers``). A demuxer named by a list of
# names, such as "mov,mp4,m4a,3gp,3g2,mj2" or "matroska,webm", matches when
# one of its names is here. Chosen as the containers cameras, phones, screen
# recorders and video platforms write, whose demuxers read one file and open
# no other: mov (.mp4 .mov .m4v .3gp), matroska (.mkv .webm), avi, mpeg
# (program stream .mpg .vob), mpegts (.ts .mts .m2ts), flv, asf (.wmv), ogg
# (.ogv), mxf (broadcast cameras) and nut. Left out on purpose: playlists and
# anything that opens further files (hls, dash, concat, image2 sequences),
# single images (png_pipe, jpeg_pipe...), raw elementary streams without a
# container (h264, hevc, m4v), text renderers (tty), audio-only formats and
# devices (lavfi, v4l2).
VIDEO_CONTAINERS = (
    "mov",
    "matroska",
    "avi",
    "mpeg",
    "mpegts",
    "flv",
    "asf",
    "ogg",
    "mxf",
    "nut",
)
# The audio-only recordings phones, dictaphones, call recorders and audio
# editors write, whose demuxers read one file and open no other: wav (RIFF
# PCM), flac, mp3 (MPEG audio, ID3 cover art allowed), aac (raw ADTS .aac),
# aiff (.aif .aiff) and amr (.amr phone-call recordings). Audio-only files
# in containers already on the video list are read by those: mov (.m4a),
# ogg (.ogg .oga .opus), matroska (.mka) and asf (.wma). Left out on
# purpose: playlists (m3u, pls: hls), cue sheets, module and MIDI formats,
# and raw PCM without a header (s16le...), which any file would match.
AUDIO_CONTAINERS = ("wav", "flac", "mp3", "aac", "aiff", "amr")
MEDIA_CONTAINERS = VIDEO_CONTAINERS + AUDIO_CONTAINERS
# ffprobe and ffmpeg (the probe, the audio extraction) read both kinds ...
FORMAT_WHITELIST = ",".join(MEDIA_CONTAINERS)
# ... OpenCV (frames) reads videos only: an audio container has none
VIDEO_FORMAT_WHITELIST = ",".join(VIDEO_CONTAINERS)
# Why an audio-only recording has no scene and no face (frame sets, availability.csv)
AUDIO_ONLY = "audio-only recording: no video stream"
PROTOCOL_WHITELIST = "file"
PROBE_TIMEOUT_S = 300.0  # a local file probes in well under a second

_NOT_ON_WHITELIST = re.compile(r"\[([^\]@]+?) @ (?:0x)?[0-9a-fA-F]+\] Format not on whitelist")


def input_args() -> list[str]:
    """The options that go before ``-i`` of every ffmpeg/ffprobe reading a recording."""
    return ["-protocol_whitelist", PROTOCOL_WHITELIST, "-format_whitelist", FORMAT_WHITELIST]


def media_url(path: str | os.PathLike[str]) -> str:
    """``file:<path>``: read as a plain file whatever its name looks like.

    Without the prefix FFmpeg parses ``concat:a|b`` or ``http:...`` names as
    protocols and a leading ``-`` as an option.
    """
    return f"file:{os.fspath(path)}"


def not_a_container(stderr: str) -> str | None:
    """``not a video container (detected: tty)`` when FFmpeg refused the format, else None."""
    if "Format not on whitelist" not in stderr:
        return None
    match = _NOT_ON_WHITELIST.search(stderr)
    detected = match.group(1).strip() if match else "unknown format"
    return f"not a video container (detected: {detected})"


def failure(stderr: str, prefix: str, default: str) -> str:
    """Why an FFmpeg tool failed: a refused container as such, else its last error line."""
    return not_a_container(stderr) or f"{prefix}: {last_line(stderr, default)}"


def last_line(stderr: str, default: str) -> str:
    lines = [line.strip() for line in stderr.strip().splitlines() if line.strip()]
    return lines[-1] if lines else default


def run_tool(
    command: list[str], capture_stdout: bool = False, timeout: float | None = None
) -> tuple[subprocess.CompletedProcess, str]:
    """Run an FFmpeg tool with stderr spooled to a temporary file; return it and stderr's tail.

    A hostile file can make FFmpeg print errors without end: on disk they cannot
    fill memory, and only the last 8 KiB (where the reason is) is read back.
    The tool dies with the job's process, even when that is killed outright
    (``ahrec.processes.run_child``). Raises FileNotFoundError (tool missing) and
    subprocess.TimeoutExpired.
    """
    from ahrec.processes import run_child

    with tempfile.TemporaryFile() as errors:
        done = run_child(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE if capture_stdout else None,
            stderr=errors,
            timeout=timeout,
            check=False,
        )
        errors.seek(max(0, os.fstat(errors.fileno()).st_size - 8192))
        return done, errors.read().decode("utf-8", "replace")


@dataclass(frozen=True)
class VideoInfo:
    """What the probe found. The probe sets ``has_video`` false for an audio-only
    recording (readable, no frame rate, frame count or size) and for a file that cannot
    be read; the default (true) is a video's, as callers describing one expect."""

    readable: bool
    duration: float | None = None
    fps: float | None = None
    n_frames: int | None = None
    width: int | None = None
    height: int | None = None
    has_audio: bool = False
    problem: str | None = None
    has_video: bool = True

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


class ProbeError(Exception):
    """ffprobe refused or could not read a file (the message is the user-facing reason)."""


def run_ffprobe(path: str | Path, timeout: float = PROBE_TIMEOUT_S) -> dict[str, Any]:
    """ffprobe's JSON of a file, under the whitelists; raises ProbeError with the reason.

    stderr goes to a temporary file, so a hostile file that makes ffprobe
    print errors without end cannot fill memory; only its tail is read.
    """
    command = [
        "ffprobe",
        "-v",
        "error",
        *input_args(),
        "-show_format",
        "-show_streams",
        "-of",
        "json",
        media_url(path),
    ]
    try:
        done, stderr = run_tool(command, capture_stdout=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        raise ProbeError(f"ffprobe did not finish within {timeout:g} s") from exc
    except FileNotFoundError as exc:
        raise ProbeError("ffprobe is not installed (see README, Quick start)") from exc
    if done.returncode != 0:
        raise ProbeError(failure(stderr, "unreadable by ffprobe", "ffprobe failed"))
    try:
        info = json.loads(done.stdout or b"{}")
    except json.JSONDecodeError as exc:
        raise ProbeError(f"unreadable by ffprobe: invalid output ({exc})") from exc
    return info if isinstance(info, dict) else {}


def unreadable(problem: str) -> VideoInfo:
    """The probe of a file that cannot be used, and why."""
    return VideoInfo(readable=False, problem=problem, has_video=False)


def probe_video(path: str | Path, timeout: float = PROBE_TIMEOUT_S) -> VideoInfo:
    """Probe one file; a file ffprobe cannot read gives ``readable=False`` and why.

    Only real video and audio containers are accepted (see
    ``MEDIA_CONTAINERS``). A file with an audio track and no video stream is
    an audio-only recording: readable, ``has_video=False``, its duration
    that of the file. A cover picture (``attached_pic``: the album art of an
    audio file) is not a video stream. A file with neither is unreadable.
    """
    path = Path(path)
    if not path.is_file():
        if path.exists():  # a folder, a device (/dev/zero), a pipe that would block
            return unreadable("not a regular file")
        return unreadable("file not found")
    if path.stat().st_size == 0:
        return unreadable("empty file (0 bytes)")
    try:
        info = run_ffprobe(path, timeout=timeout)
    except ProbeError as exc:
        return unreadable(str(exc))
    streams = info.get("streams", [])
    video = next(
        (
            s
            for s in streams
            if s.get("codec_type") == "video"
            and not (s.get("disposition") or {}).get("attached_pic")
        ),
        None,
    )
    audio = next((s for s in streams if s.get("codec_type") == "audio"), None)
    has_audio = audio is not None
    if video is None:
        if audio is None:
            return unreadable("no video or audio stream")
        return VideoInfo(
            readable=True,
            duration=_float(info.get("format", {}).get("duration"))
            or _float(audio.get("duration")),
            has_audio=True,
            has_video=False,
        )
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
