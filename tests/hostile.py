"""A hostile corpus: the media and split-file problems real corpora have.

``add_hostile_videos`` adds, to a working BAH-layout corpus, videos that are
corrupt, truncated, empty, silent, mute, faceless, very short, long, at odd
frame rates and sizes, portrait, and named with spaces, quotes, unicode and
leading dashes, listed in split files with a BOM, CRLF endings, blank lines,
commas in transcripts and empty or missing transcripts. The workflow must run
through all of it and predict every test video.

``FATAL_LINES`` are split-file problems that must stop the run with one clear
message naming the file, the line and the fix.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import ffmpeg
import numpy as np

from tests.media_factory import make_frames, make_video, tone, write_video


@dataclass(frozen=True)
class HostileVideo:
    name: str  # what the case is
    split: str
    participant: str
    filename: str
    transcript: str | None  # None: the line has no third field at all
    expect_readable: bool = True

    @property
    def video_path(self) -> str:
        return f"Videos/{self.participant}/Visite_1/{self.filename}"


# Every case gets its own participant, so the splits stay participant-disjoint.
CASES = [
    HostileVideo("corrupt", "test", "H01", "H01_Question_1_corrupt.mp4", "Random bytes.", False),
    HostileVideo("truncated", "test", "H02", "H02_Question_1_truncated.mp4", "Cut off, midway."),
    HostileVideo("zero-length", "test", "H03", "H03_Question_1_empty.mp4", "Nothing here.", False),
    HostileVideo("no audio track", "test", "H04", "H04_Question_1_mute.mp4", "Silent film, maybe."),
    HostileVideo("silent audio", "test", "H05", "H05_Question_1_silent.mp4", ""),
    HostileVideo("no face", "test", "H06", "H06_Question_1_noface.mp4", "I guess, well, no."),
    HostileVideo("very short", "test", "H07", "H07_Question_1_short.mp4", "Yes."),
    HostileVideo("long", "test", "H08", "H08_Question_1_long.mp4", "A long, long answer."),
    HostileVideo("odd rate and size", "test", "H09", "H09_Question_1_odd.mp4", "Odd, isn't it?"),
    HostileVideo("59.94 fps", "test", "H10", "H10_Question_1_ntsc.mp4", None),
    HostileVideo("portrait", "test", "H11", "H11_Question_1_portrait.mp4", "Tall, and thin."),
    HostileVideo("spaces", "train", "H12", "H12 Question 1 with spaces.mp4", "Sure, I will."),
    HostileVideo("quotes", "val", "H13", 'H13_it\'s "quoted".mp4', "Hmm, maybe not."),
    HostileVideo("unicode", "test", "H14", "H14_ünïcødé_名前.mp4", "Perhaps, perhaps."),
    HostileVideo("leading dash", "test", "H15", "-H15_leading_dash.mp4", "Definitely, yes."),
]


def _corrupt(path: Path) -> None:
    path.write_bytes(np.random.default_rng(5).bytes(40_000))


def _truncated(path: Path) -> None:
    full = path.with_suffix(".full.mp4")
    frames = make_frames(75, 160, 120, face=True, seed=2)
    # moov atom first (faststart) so that a cut file is still readable up to the cut
    stream = ffmpeg.input("pipe:", format="rawvideo", pix_fmt="rgb24", s="160x120", r=25)
    (
        ffmpeg.output(stream, str(full), vcodec="libx264", pix_fmt="yuv420p", movflags="+faststart")
        .overwrite_output()
        .global_args("-loglevel", "error")
        .run(input=frames.tobytes(), capture_stdout=True, capture_stderr=True)
    )
    data = full.read_bytes()
    path.write_bytes(data[: len(data) * 6 // 10])
    full.unlink()


def _odd(path: Path, width: int, height: int, fps: float, seconds: float) -> None:
    """Sizes libx264 cannot take in 4:2:0 (odd): encode 4:4:4 instead."""
    frames = make_frames(int(seconds * fps), width, height, face=True, seed=3)
    video = ffmpeg.input("pipe:", format="rawvideo", pix_fmt="rgb24", s=f"{width}x{height}", r=fps)
    wav = path.with_suffix(".wav")
    import wave

    with wave.open(str(wav), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(44100)
        out.writeframes((tone(seconds) * 32767).astype("<i2").tobytes())
    (
        ffmpeg.output(
            video,
            ffmpeg.input(str(wav)).audio,
            str(path),
            vcodec="libx264",
            pix_fmt="yuv444p",
            acodec="aac",
            shortest=None,
        )
        .overwrite_output()
        .global_args("-loglevel", "error")
        .run(input=frames.tobytes(), capture_stdout=True, capture_stderr=True)
    )
    wav.unlink()


def _make(case: HostileVideo, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if case.name == "corrupt":
        _corrupt(path)
    elif case.name == "truncated":
        _truncated(path)
    elif case.name == "zero-length":
        path.write_bytes(b"")
    elif case.name == "no audio track":
        make_video(path, seconds=2.0, face=True, audio=False, seed=4)
    elif case.name == "silent audio":
        make_video(path, seconds=2.0, face=True, silent=True, seed=5)
    elif case.name == "no face":
        make_video(path, seconds=2.0, face=False, seed=6)
    elif case.name == "very short":
        make_video(path, seconds=0.2, face=True, seed=7)  # 5 frames, fewer than sampled
    elif case.name == "long":
        make_video(path, seconds=40.0, width=160, height=120, face=True, seed=8)
    elif case.name == "odd rate and size":
        _odd(path, 171, 97, 7.5, 3.0)
    elif case.name == "59.94 fps":
        write_video(
            path, make_frames(120, 160, 120, face=True, seed=9), fps=60000 / 1001, audio=tone(2.0)
        )
    elif case.name == "portrait":
        make_video(path, seconds=2.0, width=120, height=214, face=True, seed=10)
    else:  # the odd names: a recording each (the manifest refuses byte copies across splits)
        make_video(path, seconds=2.0, face=True, seed=11 + int(case.participant[1:]))


def _line(case: HostileVideo, label: int) -> str:
    if case.transcript is None:
        return f"{case.video_path},{label}"
    return f"{case.video_path},{label},{case.transcript}"


def add_hostile_videos(root: Path) -> list[HostileVideo]:
    """Add every hostile case to the BAH-layout corpus at ``root``; rewrite its split files
    with a BOM, CRLF endings and blank lines. Returns the cases."""
    lists = {split: (root / f"{split}.txt") for split in ("train", "val", "test")}
    lines = {
        split: [line for line in path.read_text(encoding="utf-8-sig").splitlines() if line.strip()]
        for split, path in lists.items()
    }
    for number, case in enumerate(CASES):
        _make(case, root / case.video_path)
        lines[case.split].append(_line(case, number % 2))
    for split, path in lists.items():
        body = "\r\n\r\n".join(lines[split]) + "\r\n\r\n"
        path.write_bytes(("\ufeff" + body).encode("utf-8"))
    return list(CASES)


def copy_corpus(source: Path, target: Path) -> Path:
    shutil.copytree(source, target)
    return target


# Split-file lines that must stop the run: (what, line to append to test.txt,
# a fragment the error must contain). {video} is an existing video of the corpus.
FATAL_LINES = [
    ("path escaping the root", "../outside.mp4,1,escape", "is outside the corpus root"),
    ("label not 0/1", "{video},2,bad label", "label must be 0 (no A/H) or 1 (A/H), got '2'"),
    ("missing label", "{video},,no label", "label must be 0 (no A/H) or 1 (A/H), got ''"),
    ("no label field", "just-a-path.mp4", "expected '<video path>,<label 0|1>,<transcript>'"),
    ("duplicate video", "{video},1,again", "duplicate video"),
    ("missing video", "Videos/P404/Visite_1/missing.mp4,1,gone", "video not found"),
]


# --- files listed as videos that are not video containers ----------------------
# FFmpeg opens far more than videos: each of these was read as a video before
# the probe, ffmpeg and OpenCV got container and protocol whitelists. Each
# builder writes the file at ``path``; ``outside`` is a real video elsewhere
# on the machine that the file must not make anything read.

TEXT = "Hmm, well, I guess so. " * 100  # over 1 KB: ffmpeg's tty demuxer renders it as frames


def write_text_file(path: Path, outside: Path) -> None:
    path.write_text(TEXT)


def write_text_link(path: Path, outside: Path) -> None:
    """A link (named like a text file) to a text file elsewhere."""
    target = outside.parent / "notes.txt"
    target.write_text(TEXT * 2)  # not a byte copy of notes.txt listed beside it
    path.symlink_to(target)


def write_hls_playlist(path: Path, outside: Path) -> None:
    """An HLS playlist named like a video, whose one segment is the outside video."""
    path.write_text(f"#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:1.0,\n{outside}\n#EXT-X-ENDLIST\n")


def write_concat_list(path: Path, outside: Path) -> None:
    """An ffconcat list named like a video; its entry is a link to the outside video
    (the concat demuxer refuses absolute and '..' names by itself)."""
    (path.parent / "segment.mp4").symlink_to(outside)
    path.write_text("ffconcat version 1.0\nfile 'segment.mp4'\n")


def write_png(path: Path, outside: Path) -> None:
    import cv2

    ok, data = cv2.imencode(".png", np.full((24, 32, 3), 128, np.uint8))
    assert ok
    path.write_bytes(data.tobytes())


# (case, listed file name, builder, the format FFmpeg detects)
NOT_VIDEOS = [
    ("text file", "notes.txt", write_text_file, "tty"),
    ("link to a text file", "answer.txt", write_text_link, "tty"),
    ("HLS playlist", "playlist.mp4", write_hls_playlist, "hls"),
    ("concat list", "concat.mp4", write_concat_list, "concat"),
    ("PNG image", "image.mp4", write_png, "png_pipe"),
]
