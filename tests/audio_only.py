"""Audio-only recordings for the tests: a real voice re-encoded in the containers phones,
dictaphones and call recorders write (``.wav``, ``.flac``, ``.mp3``, ``.m4a``...).

Made with ffmpeg from one of the real recordings (``.real-media/speech``; the
tests skip, or fail on CI, when it is not fetched: ``tests/real/media.py``),
so the probe and the extraction see what a real interview's file holds.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.real.media import path_of, require_real_media

SPEECH = "speech/librivox-0880.wav"  # a LibriVox reader, 2.99 s, 16 kHz mono
SPEECH_SECONDS = 2.99

# suffix -> ffmpeg output options (None: the source wav copied as it is)
CONTAINERS: dict[str, list[str] | None] = {
    ".wav": None,
    ".flac": ["-c:a", "flac"],
    ".mp3": ["-c:a", "libmp3lame", "-b:a", "64k"],
    ".m4a": ["-c:a", "aac", "-b:a", "64k"],
    ".ogg": ["-c:a", "libvorbis"],
    ".opus": ["-c:a", "libopus", "-b:a", "32k"],
    ".aac": ["-c:a", "aac", "-b:a", "64k"],
}


def speech_source() -> Path:
    """The real recording the audio-only files are made from (skip when not fetched)."""
    require_real_media()
    return path_of(SPEECH)


def make_audio(target: Path, source: Path | None = None) -> Path:
    """``source`` (default: ``SPEECH``) re-encoded in the container ``target``'s suffix names."""
    source = source if source is not None else speech_source()
    target.parent.mkdir(parents=True, exist_ok=True)
    options = CONTAINERS[target.suffix]
    if options is None:
        shutil.copyfile(source, target)
        return target
    done = subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(source), *options, str(target)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        if "Unknown encoder" in done.stderr or "Encoder not found" in done.stderr:
            pytest.skip(f"this ffmpeg cannot write {target.suffix}: {done.stderr.strip()}")
        raise RuntimeError(f"ffmpeg could not write {target}: {done.stderr.strip()}")
    return target


def make_mp3_with_cover(target: Path, source: Path | None = None) -> Path:
    """An mp3 with album art (an ``attached_pic`` video stream), as music tools write."""
    source = source if source is not None else speech_source()
    target.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            "ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(source),
            "-f", "lavfi", "-i", "color=c=red:s=64x64:d=1",
            "-map", "0:a", "-map", "1:v", "-frames:v", "1", "-c:a", "libmp3lame",
            "-c:v", "mjpeg", "-disposition:v", "attached_pic", str(target),
        ],
        capture_output=True,
        check=True,
    )  # fmt: skip
    return target
