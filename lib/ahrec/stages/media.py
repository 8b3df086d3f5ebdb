"""Steps: video -> sampled frames (scene, face) and 16 kHz mono audio."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from ahrec.media.audio import extract_audio
from ahrec.media.frames import DecodeError, limit_long_side, resize_short_side, sample_frames
from ahrec.media.framestore import FrameSet, save_frame_sets

LOG = logging.getLogger(__name__)


def extract_frames(
    video: str | Path,
    video_id: str,
    out_scene: str | Path,
    out_face: str | Path,
    scene_frames: int,
    scene_short_side: int,
    face_frames: int,
    face_max_side: int,
    jpeg_quality: int = 95,
    n_frames_hint: int | None = None,
    problem: str | None = None,
) -> str | None:
    """Decode once; store scene and face frames separately. Returns why none, or None.

    A video that cannot be decoded still gets both files, holding no frames
    and the reason, so the encoders mark it unavailable rather than the run
    stopping.
    """
    reason = problem
    sampled = None
    if reason is None:
        try:
            sampled = sample_frames(
                video, {"scene": scene_frames, "face": face_frames}, n_frames_hint=n_frames_hint
            )
        except DecodeError as exc:
            reason = str(exc)
    if sampled is None:
        LOG.warning("%s: no frames: %s", video_id, reason)
        empty = np.zeros(0, dtype=np.int64)
        save_frame_sets(out_scene, [FrameSet(video_id, [], empty, reason)], jpeg_quality)
        save_frame_sets(out_face, [FrameSet(video_id, [], empty, reason)], jpeg_quality)
        return reason
    scene = sampled["scene"]
    face = sampled["face"]
    save_frame_sets(
        out_scene,
        [
            FrameSet(
                video_id,
                [resize_short_side(f, scene_short_side) for f in scene.frames],
                scene.frame_index,
            )
        ],
        jpeg_quality,
    )
    save_frame_sets(
        out_face,
        [
            FrameSet(
                video_id,
                [limit_long_side(f, face_max_side) for f in face.frames],
                face.frame_index,
            )
        ],
        jpeg_quality,
    )
    LOG.info(
        "%s: %d scene and %d face frames (source %dx%d)",
        video_id,
        len(scene.frames),
        len(face.frames),
        scene.frames[0].shape[1],
        scene.frames[0].shape[0],
    )
    return None


def extract_audio_file(
    video: str | Path, wav: str | Path, sample_rate: int, has_audio: bool = True
) -> str | None:
    reason = extract_audio(video, wav, sample_rate=sample_rate, has_audio=has_audio)
    if reason:
        LOG.warning("%s: empty audio: %s", video, reason)
    else:
        LOG.info("%s: audio written to %s", video, wav)
    return reason
