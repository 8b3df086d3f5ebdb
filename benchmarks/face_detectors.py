"""Offline face detectors on real footage: recall, precision, false boxes and speed.

The candidates are the detectors whose model ships inside a registry package
(so the workflow can load them offline): OpenCV's Haar cascade as configured
before issue 22 and better-tuned, the LBP frontal-face cascade scikit-image
ships, and MTCNN with the weights facenet-pytorch ships, at a few confidence
thresholds. They run on the real recordings of ``ahrec.devtools.real_media``
and two official portraits that installed packages ship:

* faces: ``carphone`` (a man talking in a car, QCIF, 120 frames) and its
  heavily compressed copy ``carphone_lowq``; ``skimage.data.astronaut()``
  and matplotlib's ``grace_hopper.jpg``. The reference face boxes
  (``ahrec.devtools.face_truth``) were judged by eye on gridded enlargements
  and checked on the contact sheets ``--sheets`` draws (reference green,
  candidates blue, the kept track box red, an interpolated one yellow).
* no face: ``bikes`` (street footage) without the frames where a person's
  face is visible (frames 30-47: a man in a suit, three-quarter view; 76-136:
  a cyclist with helmet and sunglasses, face about 15 pixels), and
  ``bigbuckbunny`` (animated; a cartoon rabbit is not a human face).

A box is correct when its IoU with the reference is at least ``IOU`` (0.3:
detectors frame a face differently, forehead or not, square or not). Per
detector, on the frames the workflow samples (30 evenly spaced per video;
``--all-frames`` for every frame):

* raw: recall = face frames with a correct box among all the detector's boxes;
  precision = correct boxes / all boxes on face frames and portraits;
  false = no-face frames with any box;
* chosen: what the workflow keeps: the largest box per frame (the paper's
  rule) or the face track (``ahrec.faces.detect.crop_faces``): recall =
  face frames whose kept box is correct; false = no-face frames with a kept box;
  "track or filled": frames off the track counted with their interpolated box;
* frames/s over all the frames run (torch on ``--threads`` threads).

``--demo`` also times the detectors on the synthetic demo corpus that CI's
end-to-end runs use (``.test/config.yaml``'s corpus settings) and reports the
share of sampled frames with an accepted face.

    .venv/bin/python benchmarks/face_detectors.py [--all-frames] [--sheets DIR] [--demo]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "lib"))

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from ahrec.devtools.face_truth import (  # noqa: E402
    IOU,
    PORTRAITS,
    bikes_shows_a_face,
    carphone_box,
    iou,
)
from ahrec.devtools.real_media import path_of  # noqa: E402
from ahrec.faces.detect import (  # noqa: E402
    HaarDetector,
    MtcnnDetector,
    candidates_of,
    crop_faces,
    largest_box,
)
from ahrec.media.framestore import FrameSet  # noqa: E402
from ahrec.media.sampling import evenly_spaced  # noqa: E402

SAMPLED = 30  # face.n_frames


def decode(name: str) -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(path_of(name)))
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
    capture.release()
    return frames


def portraits() -> dict[str, np.ndarray]:
    import matplotlib
    import skimage.data

    hopper = Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"
    return {
        "astronaut": skimage.data.astronaut(),
        "grace_hopper": cv2.cvtColor(cv2.imread(str(hopper)), cv2.COLOR_BGR2RGB),
    }


@dataclass
class Clip:
    """Frames of one video (or one still) and, per frame, its reference box or None (no face)."""

    name: str
    frames: list[np.ndarray]
    indices: list[int]
    references: list[tuple[int, int, int, int] | None]
    scored: list[bool] = field(default_factory=list)  # frames that count (bikes' faces do not)


def clips(all_frames: bool) -> list[Clip]:
    out = []
    for name in ("carphone", "carphone_lowq", "bikes", "bigbuckbunny"):
        frames = decode(f"video/{name}.mp4")
        indices = (
            list(range(len(frames))) if all_frames else evenly_spaced(len(frames), SAMPLED).tolist()
        )
        if name.startswith("carphone"):
            refs = [carphone_box(i) for i in indices]
        else:
            refs = [None] * len(indices)
        scored = [name != "bikes" or not bikes_shows_a_face(i) for i in indices]
        out.append(Clip(name, [frames[i] for i in indices], indices, refs, scored))
    for name, image in portraits().items():
        out.append(Clip(name, [image], [0], [PORTRAITS[name]], [True]))
    return out


def detectors() -> dict[str, Callable[[], object]]:
    import skimage

    # scikit-image's copy misspells one tag (<featuhreParams>), which its own reader
    # ignores and OpenCV's refuses: OpenCV reads a copy with the tag spelt right.
    shipped = Path(skimage.__file__).parent / "data" / "lbpcascade_frontalface_opencv.xml"
    lbp = str(Path(tempfile.mkdtemp(prefix="ahrec-lbp-")) / shipped.name)
    Path(lbp).write_text(shipped.read_text().replace("featuhreParams", "featureParams"))
    return {
        "haar default (1.1, 5, 24)": lambda: HaarDetector(),
        "haar tuned (1.05, 3, 20)": lambda: HaarDetector(
            scale_factor=1.05, min_neighbors=3, min_size=20
        ),
        "haar alt2 (1.05, 3, 20)": lambda: HaarDetector(
            "haarcascade_frontalface_alt2.xml", scale_factor=1.05, min_neighbors=3, min_size=20
        ),
        "lbp skimage (1.05, 3, 20)": lambda: HaarDetector(
            lbp, scale_factor=1.05, min_neighbors=3, min_size=20
        ),
        "mtcnn conf 0.70": lambda: MtcnnDetector(confidence=0.70),
        "mtcnn conf 0.90": lambda: MtcnnDetector(confidence=0.90),
        "mtcnn conf 0.95": lambda: MtcnnDetector(confidence=0.95),
        "mtcnn conf 0.99": lambda: MtcnnDetector(confidence=0.99),
    }


@dataclass
class Row:
    counts: dict[str, list[int]] = field(default_factory=dict)
    seconds: float = 0.0
    frames: int = 0

    def add(self, key: str, hit: bool, total: bool = True) -> None:
        pair = self.counts.setdefault(key, [0, 0])
        pair[0] += int(hit)
        pair[1] += int(total)

    def rate(self, key: str) -> str:
        hit, total = self.counts.get(key, [0, 0])
        return f"{hit}/{total} ({100 * hit / total:.1f}%)" if total else "-"


def evaluate(detector: object, data: list[Clip], sheets: Path | None, label: str) -> Row:
    row = Row()
    for clip in data:
        start = time.perf_counter()
        found = candidates_of(detector, clip.frames)  # type: ignore[arg-type]
        row.seconds += time.perf_counter() - start
        row.frames += len(clip.frames)
        track, _ = crop_faces(
            FrameSet(clip.name, clip.frames, np.array(clip.indices)), _Fixed(found), 16
        )
        is_video = len(clip.frames) > 1
        for t, (frame, ref, counts) in enumerate(
            zip(clip.frames, clip.references, clip.scored, strict=True)
        ):
            if not counts:
                continue
            boxes = [c.box for c in found[t]]
            largest = largest_box(boxes, frame.shape[1], frame.shape[0])
            kept = tuple(track.extras["box"][t]) if track.extras["detected"][t] else None
            placed = track.extras["detected"][t] or track.extras["interpolated"][t]
            filled = tuple(track.extras["box"][t]) if placed else None
            group = clip.name if is_video else "portraits"
            if ref is not None:
                good = [iou(b, ref) >= IOU for b in boxes]
                row.add(f"raw recall {group}", any(good))
                for ok in good:
                    row.add("raw precision", ok)
                row.add(f"largest recall {group}", largest is not None and iou(largest, ref) >= IOU)
                row.add(f"track recall {group}", kept is not None and iou(kept, ref) >= IOU)
                row.add(f"filled recall {group}", filled is not None and iou(filled, ref) >= IOU)
            else:
                row.add(f"raw false {group}", bool(boxes))
                row.add(f"largest false {group}", largest is not None)
                row.add(f"track false {group}", kept is not None)
        if sheets is not None and is_video:
            draw_sheet(sheets, label, clip, found, track)
    return row


class _Fixed:
    """Hands crop_faces the candidates already found (so the detector runs once per clip)."""

    def __init__(self, found: list) -> None:
        self.found = found

    def detect_scored(self, frames: Sequence[np.ndarray]) -> list:
        return self.found

    def detect(self, frames: Sequence[np.ndarray]) -> list:
        return [[c.box for c in f] for f in self.found]


def draw_sheet(folder: Path, label: str, clip: Clip, found: list, track: FrameSet) -> None:
    """A PNG grid: reference green, every candidate blue, the kept track box red (dashed-thin
    yellow when interpolated), frame number and kept score under each frame."""
    folder.mkdir(parents=True, exist_ok=True)
    scale = 2 if clip.frames[0].shape[1] < 300 else (0.5 if clip.frames[0].shape[1] < 800 else 0.25)
    tiles = []
    for t, frame in enumerate(clip.frames):
        image = cv2.resize(frame, None, fx=scale, fy=scale).copy()

        def rect(
            box: Sequence[float], colour: tuple[int, int, int], width: int = 1, on=image
        ) -> None:
            x, y, w, h = (int(round(v * scale)) for v in box)
            cv2.rectangle(on, (x, y), (x + w, y + h), colour, width)

        ref = clip.references[t]
        if ref is not None:
            rect((ref[0], ref[1], ref[2] - ref[0], ref[3] - ref[1]), (0, 255, 0))
        for candidate in found[t]:
            rect(candidate.box, (0, 128, 255))
        if track.extras["detected"][t]:
            rect(track.extras["box"][t], (255, 0, 0), 2)
        elif track.extras["interpolated"][t]:
            rect(track.extras["box"][t], (255, 255, 0), 1)
        caption = np.zeros((14, image.shape[1], 3), np.uint8)
        text = f"{clip.indices[t]} {track.extras['score'][t]:.2f}"
        if not clip.scored[t]:
            text += " (face: not scored)"
        cv2.putText(caption, text, (2, 11), cv2.FONT_HERSHEY_SIMPLEX, 0.35, (255, 255, 0), 1)
        tiles.append(np.concatenate([image, caption]))
    cols = 6
    blank = np.zeros_like(tiles[0])
    tiles += [blank] * (-len(tiles) % cols)
    grid = np.concatenate(
        [np.concatenate(tiles[r : r + cols], axis=1) for r in range(0, len(tiles), cols)]
    )
    name = "".join(c if c.isalnum() else "_" for c in label).strip("_")
    cv2.imwrite(str(folder / f"{clip.name}-{name}.png"), cv2.cvtColor(grid, cv2.COLOR_RGB2BGR))


def demo_figures(factories: dict[str, Callable[[], object]]) -> None:
    """Seconds per video and accepted-face share on CI's demo corpus (.test/config.yaml)."""
    from ahrec.demo.generator import generate_demo_corpus
    from ahrec.demo.settings import DemoSettings
    from ahrec.media.frames import sample_frames

    settings = DemoSettings(
        participants=8,
        questions_per_participant=1,
        split_participants={"train": 4, "val": 2, "test": 2},
        seed=11,
        max_seconds=4.0,
        test_videos_without_transcript=1,
    )
    with tempfile.TemporaryDirectory(prefix="ahrec-demo-faces-") as folder:
        generate_demo_corpus(Path(folder), settings, workers=1, progress=False)
        videos = sorted(Path(folder).rglob("*.mp4"))
        sets = [sample_frames(v, {"face": SAMPLED})["face"].frames for v in videos]
    print(f"\ndemo corpus (.test/config.yaml): {len(videos)} videos, {SAMPLED} frames each")
    print("| detector | s per video | frames with an accepted face (track) |")
    print("|---|---|---|")
    for label, make in factories.items():
        detector = make()
        start = time.perf_counter()
        found = [candidates_of(detector, frames) for frames in sets]  # type: ignore[arg-type]
        seconds = (time.perf_counter() - start) / len(sets)
        hits = total = 0
        for frames, per_frame in zip(sets, found, strict=True):
            crops, stats = crop_faces(
                FrameSet("v", frames, np.arange(len(frames))), _Fixed(per_frame), 16
            )
            hits += stats.n_detected
            total += stats.n_frames
        print(f"| {label} | {seconds:.2f} | {hits}/{total} ({100 * hits / total:.1f}%) |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--all-frames", action="store_true", help="every frame, not the 30 sampled")
    parser.add_argument("--sheets", type=Path, help="write contact sheets (PNG) here")
    parser.add_argument("--demo", action="store_true", help="also time the demo corpus")
    parser.add_argument("--threads", type=int, default=2, help="torch and OpenCV threads")
    parser.add_argument(
        "--only", help="detectors whose label contains one of these (comma-separated)"
    )
    parser.add_argument("--demo-only", action="store_true", help="only the demo corpus figures")
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    cv2.setNumThreads(args.threads)
    data = clips(args.all_frames)
    wanted = args.only.split(",") if args.only else [""]
    factories = {k: v for k, v in detectors().items() if any(w in k for w in wanted)}
    if args.demo_only:
        demo_figures(factories)
        return 0
    data = clips(args.all_frames)
    rows = {}
    for label, make in factories.items():
        rows[label] = evaluate(make(), data, args.sheets, label)
    keys = [
        ("raw recall carphone", "carphone: any box right"),
        ("track recall carphone", "carphone: track right"),
        ("largest recall carphone", "carphone: largest right"),
        ("raw recall carphone_lowq", "lowq: any box right"),
        ("track recall carphone_lowq", "lowq: track right"),
        ("filled recall carphone_lowq", "lowq: track or filled right"),
        ("track recall portraits", "portraits: track right"),
        ("raw precision", "precision (raw boxes, face frames)"),
        ("raw false bikes", "bikes: frames with a box"),
        ("track false bikes", "bikes: track box"),
        ("raw false bigbuckbunny", "bunny: frames with a box"),
        ("track false bigbuckbunny", "bunny: track box"),
    ]
    frames = "all frames" if args.all_frames else f"{SAMPLED} sampled frames per video"
    print(f"faces on real footage ({frames}; correct: IoU >= {IOU} with the by-eye box)")
    print("| detector | " + " | ".join(k[1] for k in keys) + " | frames/s |")
    print("|---" * (len(keys) + 2) + "|")
    for label, row in rows.items():
        cells = [row.rate(k[0]) for k in keys]
        print(f"| {label} | " + " | ".join(cells) + f" | {row.frames / row.seconds:.1f} |")
    if args.demo:
        demo_figures(factories)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "2")
    sys.exit(main())
