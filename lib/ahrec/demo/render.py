"""Make one demo video: speech, face and scene composed, encoded with ffmpeg.

Each video is a pure function of its job (and the job of the corpus seed and
the video's index), so it comes out byte-identical whichever worker makes it
and however many workers there are.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import cv2
import ffmpeg
import numpy as np

from ahrec.demo import faces, scene, script, speech


@dataclass(frozen=True)
class VideoJob:
    """Everything needed to make one video (picklable, for worker processes)."""

    index: int
    relative_path: str
    participant: str
    participant_seed: int
    video_seed: int
    topic: str
    label: int
    text_cue: int
    audio_cue: int
    face_cue: int
    scene_cue: int
    fps: int
    width: int
    height: int
    min_seconds: float
    max_seconds: float


@dataclass(frozen=True)
class VideoResult:
    """What the corpus files need to know about a finished video."""

    index: int
    relative_path: str
    sentences: list[str]
    chunk_labels: list[int]
    spans: list[tuple[float, float]]
    duration_s: float
    speech_seconds: float
    pause_seconds: float

    @property
    def transcript(self) -> str:
        """The full transcript: the sentences joined by spaces (as in the YAML)."""
        return " ".join(self.sentences)


@dataclass(frozen=True)
class Participant:
    """A participant's fixed traits: voice, look and room."""

    voice: speech.Voice
    appearance: faces.Appearance
    room: scene.Room


def participant_traits(seed: int) -> Participant:
    """The traits of the participant with this seed (same in every video)."""
    rng = np.random.default_rng(seed)
    return Participant(
        voice=speech.voice_for_participant(rng),
        appearance=faces.appearance_for_participant(rng),
        room=scene.room_for_participant(rng),
    )


def _tail_seconds(rng: np.random.Generator) -> float:
    return float(rng.uniform(0.3, 0.6))


def plan_speech(
    job: VideoJob, traits: Participant, rng: np.random.Generator
) -> tuple[list[script.Sentence], speech.Speech, float]:
    """The answer, its speech and the video's duration.

    The duration is drawn in [min_seconds, max_seconds]; sentences are dropped
    (least important first) until the speech fits, and the video is stretched
    past max_seconds only when even the core sentence does not fit.
    """
    sentences = script.compose_answer(job.topic, job.text_cue, rng)
    delivery = speech.delivery_for_cue(job.audio_cue, rng)
    speaker = speech.Speaker(sentences, traits.voice, delivery, rng)
    target = float(rng.uniform(job.min_seconds, job.max_seconds))
    tail = _tail_seconds(rng)
    kept = list(range(len(sentences)))
    layout = speaker.layout(kept)
    while layout.end_seconds + tail > job.max_seconds and len(kept) > 1:
        drop = max(kept, key=lambda i: (sentences[i].priority, i))
        kept.remove(drop)
        layout = speaker.layout(kept)
    duration = max(target, layout.end_seconds + tail)
    n_frames = max(1, round(duration * job.fps))
    duration = n_frames / job.fps
    return [sentences[i] for i in kept], speaker.layout(kept, duration), duration


def speech_envelope(samples: np.ndarray, n_frames: int, fps: int) -> np.ndarray:
    """Loudness per video frame in 0-1 (drives the lips, in both classes)."""
    per_frame = speech.SAMPLE_RATE / fps
    out = np.zeros(n_frames, np.float32)
    for i in range(n_frames):
        chunk = samples[int(i * per_frame) : int((i + 1) * per_frame)]
        out[i] = float(np.sqrt(np.mean(chunk**2))) if chunk.size else 0.0
    peak = float(out.max()) or 1.0
    return np.clip(out / peak, 0.0, 1.0)


class FrameRenderer:
    """Composes the frames of one video: room, passing blobs, animated head, camera."""

    def __init__(
        self,
        job: VideoJob,
        traits: Participant,
        n_frames: int,
        envelope: np.ndarray,
        rng: np.random.Generator,
    ) -> None:
        self.job = job
        self.width, self.height = job.width, job.height
        self.margin = int(np.ceil(0.06 * max(job.width, job.height)))
        self.travel = max(8, job.width // 3)
        self.canvas_w = self.width + 2 * self.margin
        self.canvas_h = self.height + 2 * self.margin
        self.room = scene.paint_room(traits.room, self.canvas_w + self.travel, self.canvas_h)
        self.sprite = faces.build_sprite(traits.appearance, self.height)
        self.expression = faces.expression_track(job.face_cue, n_frames, job.fps, envelope, rng)
        self.motion = scene.scene_motion(
            job.scene_cue, n_frames, job.fps, self.width, self.margin, self.travel, rng
        )
        look = traits.appearance
        self.face_centre = (
            self.margin + look.centre_x * self.width,
            self.margin + look.top_y * self.height + self.sprite.face_size / 2,
        )

    def frame(self, index: int) -> np.ndarray:
        """Frame ``index`` as an RGB uint8 array of height x width x 3."""
        time_s = index / self.job.fps
        offset = int(round(float(self.motion.scroll_x[index])))
        canvas = np.ascontiguousarray(self.room[:, offset : offset + self.canvas_w])
        if self.motion.blobs:
            scene.draw_blobs(canvas, self.motion.blobs, time_s)
        expr = self.expression
        size = self.sprite.face_size
        head = faces.animate_sprite(self.sprite, float(expr.mouth[index]), float(expr.brow[index]))
        centre = (
            self.face_centre[0] + float(expr.shift_x[index]) * size,
            self.face_centre[1] + float(expr.shift_y[index]) * size,
        )
        affine = faces.placement(
            self.sprite,
            centre,
            float(expr.tilt[index]),
            float(expr.squash_x[index]),
            float(expr.squash_y[index]),
        )
        layer = cv2.warpAffine(
            head,
            affine,
            (self.canvas_w, self.canvas_h),
            flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_CONSTANT,
        )
        alpha = layer[..., 3:4]
        composed = canvas.astype(np.float32) * (1.0 - alpha) + layer[..., :3]
        composed *= float(self.motion.light[index])
        camera = scene.camera(self.motion, index, self.width, self.height, self.margin)
        frame = cv2.warpAffine(
            composed,
            camera,
            (self.width, self.height),
            flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_REFLECT,
        )
        return np.clip(frame, 0, 255).astype(np.uint8)


def encode(renderer: FrameRenderer, n_frames: int, wav_path: Path, output: Path, fps: int) -> None:
    """Pipe raw RGB frames into ffmpeg and mux them with the wav as H.264 + AAC mp4.

    The command is an argument list built by ffmpeg-python (file names never
    pass through a shell); bit-exact flags and one encoder thread make the
    bytes reproducible.
    """
    video = ffmpeg.input(
        "pipe:",
        format="rawvideo",
        pix_fmt="rgb24",
        s=f"{renderer.width}x{renderer.height}",
        framerate=fps,
    )
    audio = ffmpeg.input(str(wav_path))
    stream = ffmpeg.output(
        video.video,
        audio.audio,
        str(output),
        format="mp4",
        vcodec="libx264",
        pix_fmt="yuv420p",
        preset="veryfast",
        crf=23,
        g=2 * fps,
        r=fps,
        acodec="aac",
        ac=1,
        audio_bitrate="64k",
        threads=1,
        map_metadata=-1,
        fflags="+bitexact",
        **{"flags:v": "+bitexact", "flags:a": "+bitexact", "x264-params": "threads=1"},
    ).global_args("-hide_banner", "-loglevel", "error", "-nostdin")
    args = ffmpeg.compile(stream, overwrite_output=True)
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(args, stdin=subprocess.PIPE, stderr=errors)
        assert process.stdin is not None
        try:
            for index in range(n_frames):
                process.stdin.write(renderer.frame(index).tobytes())
        except BrokenPipeError:
            pass
        finally:
            process.stdin.close()
        code = process.wait()
        if code != 0:
            errors.seek(0)
            tail = errors.read().decode("utf-8", "replace")[-2000:]
            raise RuntimeError(f"ffmpeg failed ({code}) writing {output}:\n{tail}")


def make_video(job: VideoJob, root: Path) -> VideoResult:
    """Make one video under ``root`` (atomically: a temp file renamed into place)."""
    traits = participant_traits(job.participant_seed)
    rng = np.random.default_rng(job.video_seed)
    sentences, spoken, duration = plan_speech(job, traits, rng)
    n_frames = round(duration * job.fps)
    envelope = speech_envelope(spoken.samples, n_frames, job.fps)
    renderer = FrameRenderer(job, traits, n_frames, envelope, rng)
    target = root / job.relative_path
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".demo-", dir=target.parent) as scratch:
        wav = Path(scratch) / "speech.wav"
        speech.write_wav(wav, spoken.samples)
        partial = Path(scratch) / "video.mp4"
        encode(renderer, n_frames, wav, partial, job.fps)
        os.replace(partial, target)
    return VideoResult(
        index=job.index,
        relative_path=job.relative_path,
        sentences=[s.text for s in sentences],
        chunk_labels=[int(job.label == 1 and s.cue_bearing) for s in sentences],
        spans=[(round(a, 2), round(b, 2)) for a, b in spoken.spans],
        duration_s=round(duration, 3),
        speech_seconds=round(spoken.phrase_seconds, 3),
        pause_seconds=round(spoken.pause_seconds, 3),
    )
