"""Make one demo video: speech, face and scene composed, encoded with ffmpeg.

Each video is a pure function of its job (and the job of the corpus seed and
the video's index), so it comes out byte-identical whichever worker makes it
and however many workers there are.

A degenerate job (``VideoJob.degenerate``) is made like the normal video with
the same job, drawing the same random numbers in the same order, and is then
spoilt in one way only: the person sitting still with their back to the
camera, which focuses on them and leaves the room behind soft (``no_face``),
the clip cut to its first ``clip_seconds`` (``very_short``) or the microphone
muted (``silent``). So it differs from its normal twin in its defect only: the
same words, voice, room and camera motion.
"""

from __future__ import annotations

import logging
import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import cv2
import ffmpeg
import numpy as np

from ahrec.demo import faces, scene, script, speech
from ahrec.processes import start_child

LOG = logging.getLogger(__name__)


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
    degenerate: str = ""  # "" or one of settings.DEGENERATE_KINDS
    clip_seconds: float = 0.0  # length of a very_short clip


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
        # Faceless videos only: the turned-away head, and face-like background
        # patterns to blur, by frame.
        self.appearance = look
        self._back: np.ndarray | None = None
        self.smudges: list[tuple[int, int, int, int]] = []

    def frame(self, index: int) -> np.ndarray:
        """Frame ``index`` as an RGB uint8 array of height x width x 3."""
        time_s = index / self.job.fps
        offset = int(round(float(self.motion.scroll_x[index])))
        canvas = np.ascontiguousarray(self.room[:, offset : offset + self.canvas_w])
        if self.motion.blobs:
            scene.draw_blobs(canvas, self.motion.blobs, time_s)
        if self.job.degenerate == "no_face":
            return self._faceless_frame(canvas, index)
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
        return self._finish(composed, index)

    def _faceless_frame(self, canvas: np.ndarray, index: int) -> np.ndarray:
        """The person sitting still with their back to the camera: no face to find.

        Still, so that the face cue (how often the expression changes) shows
        nowhere; the room, the camera and the voice carry on as in the normal
        video. Background patches that still look like a face to OpenCV's
        cascade are blurred (``encode_faceless``).
        """
        if self._back is None:
            back = faces.back_of_head(self.sprite, self.appearance)
            affine = faces.placement(self.sprite, self.face_centre, 0.0, 1.0, 1.0)
            self._back = cv2.warpAffine(
                back,
                affine,
                (self.canvas_w, self.canvas_h),
                flags=cv2.INTER_LINEAR,
                borderMode=cv2.BORDER_CONSTANT,
            )
        # The camera focuses on the person close to it: the room behind is soft.
        room = cv2.GaussianBlur(canvas.astype(np.float32), (0, 0), 0.02 * self.width)
        alpha = self._back[..., 3:4]
        composed = room * (1.0 - alpha) + self._back[..., :3]
        frame = self._finish(composed, index)
        if self.smudges:
            frame = faces.smudge(frame, self.smudges)
        return frame

    def _finish(self, composed: np.ndarray, index: int) -> np.ndarray:
        """Light flicker and the shaken camera over the composed canvas (float32)."""
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
        # dies with this process, killed or not (ahrec.processes)
        process = start_child(args, stdin=subprocess.PIPE, stderr=errors)
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


# A faceless video is encoded, checked and mended at most this many times
# (in practice once, or a few times when a pattern needs blurring).
FACELESS_ROUNDS = 10


def suspect_frames(
    video: Path, guard: faces.FaceGuard
) -> dict[int, list[tuple[int, int, int, int]]]:
    """The frames of ``video`` (decoded as the workflow decodes them) where ``guard`` sees a face."""
    capture = cv2.VideoCapture(str(video))
    found: dict[int, list[tuple[int, int, int, int]]] = {}
    index = 0
    try:
        while True:
            ok, frame = capture.read()
            if not ok:
                break
            boxes = guard.boxes(frame)
            if boxes:
                found[index] = boxes
            index += 1
    finally:
        capture.release()
    return found


def encode_faceless(
    renderer: FrameRenderer, n_frames: int, wav_path: Path, output: Path, fps: int
) -> None:
    """Encode a ``no_face`` video so that no decoded frame shows anything like a face.

    Why: a person with their back to the camera in front of a soft room has
    no face, but OpenCV's cascade on the equalised grey image the workflow
    uses can still, now and then, take a patch of texture (a fabric, the
    codec's grain) for one. So the encoded video is decoded and checked frame
    by frame with ``faces.FaceGuard``; each suspect patch is blurred in every
    frame (the person sits still and the camera barely moves, so a pattern
    seen in one frame is there in the next ones too) and the video encoded
    again, until no frame is suspect. Everything here is a function of the
    pixels, so the result is as deterministic as the rest.
    """
    guard = faces.FaceGuard()
    for _ in range(FACELESS_ROUNDS):
        encode(renderer, n_frames, wav_path, output, fps)
        suspects = suspect_frames(output, guard)
        if not suspects:
            return
        found = {box for boxes in suspects.values() for box in boxes}
        renderer.smudges = sorted(set(renderer.smudges) | found)
    # Not worth failing a whole corpus for: the video keeps its blurred patches,
    # its face cue stays hidden (demo_cues.csv says so), and the log says which.
    LOG.warning(
        "%s: frames %s still look like a face to OpenCV's cascade after %d rounds of blurring",
        output,
        sorted(suspects)[:10],
        FACELESS_ROUNDS,
    )


def make_video(job: VideoJob, root: Path) -> VideoResult:
    """Make one video under ``root`` (atomically: a temp file renamed into place)."""
    traits = participant_traits(job.participant_seed)
    rng = np.random.default_rng(job.video_seed)
    sentences, spoken, duration = plan_speech(job, traits, rng)
    n_frames = round(duration * job.fps)
    envelope = speech_envelope(spoken.samples, n_frames, job.fps)
    renderer = FrameRenderer(job, traits, n_frames, envelope, rng)
    samples = spoken.samples
    if job.degenerate == "very_short":
        # The first few frames of the normal video only: the lead-in silence and
        # at most the onset of a word, too little for the voice, face or scene
        # to show a cue (the transcript in the list still says it all).
        n_frames = max(1, min(n_frames, round(job.clip_seconds * job.fps)))
        duration = n_frames / job.fps
        samples = samples[: round(duration * speech.SAMPLE_RATE)]
    elif job.degenerate == "silent":
        # A muted microphone: the track is there, every sample is zero (the
        # lips still move, as the person still speaks).
        samples = np.zeros_like(samples)
    target = root / job.relative_path
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".demo-", dir=target.parent) as scratch:
        wav = Path(scratch) / "speech.wav"
        speech.write_wav(wav, samples)
        partial = Path(scratch) / "video.mp4"
        if job.degenerate == "no_face":
            encode_faceless(renderer, n_frames, wav, partial, job.fps)
        else:
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
