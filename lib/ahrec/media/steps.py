"""Steps: video -> sampled frames (one job per modality and shard) and 16 kHz mono audio."""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ahrec.media.audio import extract_audio
from ahrec.media.frames import DecodeError, limit_long_side, resize_short_side, sample_frames
from ahrec.media.framestore import FrameSet, save_frame_sets
from ahrec.media.probe import AUDIO_ONLY
from ahrec.media.shard import ShardSummary, VideoMedia, extract_shard

LOG = logging.getLogger(__name__)


def extract_frames(
    video: str | Path,
    video_id: str,
    out: str | Path,
    n_frames: int,
    jpeg_quality: int = 95,
    short_side: int | None = None,
    max_side: int | None = None,
    n_frames_hint: int | None = None,
    problem: str | None = None,
    max_seconds: float | None = None,
    fps: float | None = None,
) -> str | None:
    """One modality's evenly spaced frames, in one decoding pass. Returns why none, or None.

    ``max_seconds`` (``media.max_seconds``) samples within the first seconds
    of an absurdly long video only; the log says where it was cut.

    ``short_side`` resizes the frames' shorter side (scene), ``max_side`` caps
    their longer side (face). A video that cannot be decoded still gets a
    file, holding no frames and the reason, so the encoders mark it
    unavailable rather than the run stopping; so does an audio-only
    recording (``problem``: ``AUDIO_ONLY``, from the manifest's ``has_video``).

    Each modality has its own job: a job decoding for both would be rerun,
    and rerun the other modality's whole chain, whenever one modality's
    sampling changes.
    """
    reason = problem
    sampled = None
    if reason is None:
        try:
            sampled = sample_frames(
                video,
                {"frames": n_frames},
                n_frames_hint=n_frames_hint,
                max_seconds=max_seconds,
                fps=fps,
            )["frames"]
        except DecodeError as exc:
            reason = str(exc)
    if sampled is None:  # an audio-only recording is expected to have none
        LOG.log(
            logging.INFO if reason == AUDIO_ONLY else logging.WARNING,
            "%s: no frames: %s",
            video_id,
            reason,
        )
        save_frame_sets(
            out, [FrameSet(video_id, [], np.zeros(0, dtype=np.int64), reason)], jpeg_quality
        )
        return reason
    frames = sampled.frames
    if short_side is not None:
        frames = [resize_short_side(f, short_side) for f in frames]
    if max_side is not None:
        frames = [limit_long_side(f, max_side) for f in frames]
    save_frame_sets(out, [FrameSet(video_id, frames, sampled.frame_index)], jpeg_quality)
    if sampled.cut_at is not None:
        LOG.warning(
            "%s: longer than media.max_seconds: frames sampled before %g s",
            video_id,
            sampled.cut_at,
        )
    LOG.info(
        "%s: %d frames of %dx%d, stored at %dx%d",
        video_id,
        len(frames),
        sampled.frames[0].shape[1],
        sampled.frames[0].shape[0],
        frames[0].shape[1],
        frames[0].shape[0],
    )
    return None


def extract_audio_file(
    video: str | Path,
    wav: str | Path,
    sample_rate: int,
    has_audio: bool = True,
    max_seconds: float | None = None,
) -> str | None:
    """The audio track as a wav streamed to disk (flat memory); cut at ``max_seconds``."""
    reason = extract_audio(
        video, wav, sample_rate=sample_rate, has_audio=has_audio, max_seconds=max_seconds
    )
    if reason:
        LOG.warning("%s: empty audio: %s", video, reason)
    else:
        LOG.info("%s: audio written to %s", video, wav)
    return reason


def _frames_code() -> str:
    """Everything that decides a frames file besides its video and settings: the modules
    that probe, decode, sample, resize, store and key it, and the OpenCV build (its FFmpeg,
    its resizer and JPEG codec)."""
    from ahrec.media import frames, framestore, probe, sampling, shard

    modules = [frames, framestore, probe, sampling, shard, sys.modules[__name__]]
    return shard.code_fingerprint(modules, [shard.opencv_build()])


def _audio_code() -> str:
    """Everything that decides an audio file besides its video and settings: the modules
    that probe, decode and key it, and the FFmpeg build that decodes and resamples it."""
    from ahrec.media import audio, probe, shard

    return shard.code_fingerprint(
        [audio, probe, shard, sys.modules[__name__]], [shard.ffmpeg_build()]
    )


def extract_frames_shard(
    videos: Sequence[Mapping[str, Any]],
    out_dir: str | Path,
    index: str | Path,
    n_frames: int,
    jpeg_quality: int = 95,
    short_side: int | None = None,
    max_side: int | None = None,
    max_seconds: float | None = None,
    threads: int = 1,
    extract_again: str | int | None = None,
) -> ShardSummary:
    """One modality's frames of every video of a shard whose file is missing or stale.

    ``videos`` are the manifest's values of each video (``video_id``, ``path``,
    ``digest``, ``n_frames_hint``, ``problem``, ``fps``): they are part of each
    file's key. ``extract_again`` (``media.extract_again``) enters the key too:
    a new value re-extracts every video.
    """
    settings = {
        "n_frames": n_frames,
        "jpeg_quality": jpeg_quality,
        "short_side": short_side,
        "max_side": max_side,
        "max_seconds": max_seconds,
        "extract_again": extract_again,
    }

    def extract(video: VideoMedia, out: Path) -> None:
        values = video.values
        extract_frames(
            video.path,
            video.video_id,
            out,
            n_frames=n_frames,
            jpeg_quality=jpeg_quality,
            short_side=short_side,
            max_side=max_side,
            n_frames_hint=values.get("n_frames_hint"),
            problem=values.get("problem"),
            max_seconds=max_seconds,
            fps=values.get("fps"),
        )

    return extract_shard(
        [VideoMedia.from_params(v) for v in videos],
        out_dir,
        ".npz",
        extract,
        settings,
        _frames_code(),
        index,
        threads,
    )


def extract_audio_shard(
    videos: Sequence[Mapping[str, Any]],
    out_dir: str | Path,
    index: str | Path,
    sample_rate: int,
    max_seconds: float | None = None,
    threads: int = 1,
    extract_again: str | int | None = None,
) -> ShardSummary:
    """The 16 kHz mono audio of every video of a shard whose wav is missing or stale.

    ``videos`` carry ``video_id``, ``path``, ``digest`` and ``has_audio`` from
    the manifest; ``extract_again`` as for ``extract_frames_shard``.
    """

    def extract(video: VideoMedia, out: Path) -> None:
        extract_audio_file(
            video.path,
            out,
            sample_rate=sample_rate,
            has_audio=bool(video.values.get("has_audio", True)),
            max_seconds=max_seconds,
        )

    settings = {
        "sample_rate": sample_rate,
        "max_seconds": max_seconds,
        "extract_again": extract_again,
    }
    return extract_shard(
        [VideoMedia.from_params(v) for v in videos],
        out_dir,
        ".wav",
        extract,
        settings,
        _audio_code(),
        index,
        threads,
    )
