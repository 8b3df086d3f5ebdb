"""Plan and write the demo corpus in the BAH layout.

The plan (participants, splits, labels, planted cues, paths, which videos have
a timestamped transcript and which none, which are degenerate) is drawn in one
process from the seed; each video is then made from its own job, in any
process, in any order. So the corpus depends on the settings only, never on
``workers``.
"""

from __future__ import annotations

import csv
import io
import multiprocessing
import multiprocessing.context
import os
import shutil
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import yaml
from tqdm import tqdm

from ahrec.demo.render import VideoJob, VideoResult, make_video
from ahrec.demo.settings import DEGENERATE_KINDS, MODALITIES, SPLITS, DemoSettings

# Question n is the same question (topic) for every participant, as in BAH.
TOPIC_ORDER: tuple[str, ...] = (
    "exercise",
    "diet",
    "smoking",
    "sleep",
    "alcohol",
    "stress",
    "screens",
    "medication",
)
# Host-name suffixes like those some BAH files carry ("..._Video-DESKTOP-XYZ.mp4").
HOST_SUFFIXES: tuple[str, ...] = ("-DESKTOP-7F3K", "-LAPTOP-Q2M9", "-DESKTOP-A81C")
# The modalities whose planted cue a degenerate video cannot show. A video
# without a transcript still says its words (speech recognition recovers them).
HIDDEN_CUES: dict[str, frozenset[str]] = {
    "": frozenset(),
    "no_face": frozenset({"face"}),
    "very_short": frozenset({"audio", "face", "scene"}),
    "silent": frozenset({"audio"}),
    "no_transcript": frozenset(),
}
VERY_SHORT_SECONDS: tuple[float, float] = (0.2, 0.4)
CUES_HEADER: tuple[str, ...] = (
    "video_path",
    "split",
    "participant",
    "label",
    "text_cue",
    "audio_cue",
    "face_cue",
    "scene_cue",
    "duration_s",
    # Added later, so after the original columns: readers by position still work.
    "degenerate",
    "text_cue_present",
    "audio_cue_present",
    "face_cue_present",
    "scene_cue_present",
)


@dataclass(frozen=True)
class PlannedVideo:
    """A video of the plan: its job plus what only the corpus files need."""

    job: VideoJob
    split: str
    has_transcript: bool
    has_yaml: bool
    degenerate: str = ""

    def cue_present(self, modality: str) -> bool:
        """Whether the video lets one observe its planted cue of ``modality``."""
        return modality not in HIDDEN_CUES[self.degenerate]


def _seed(*parts: int) -> int:
    """A 63-bit seed from integers (stable across platforms and Python versions)."""
    return int(np.random.SeedSequence(list(parts)).generate_state(2, np.uint64)[0] >> np.uint64(1))


def plan_corpus(settings: DemoSettings) -> list[PlannedVideo]:
    """Every video of the corpus, in list order (participant, then question)."""
    rng = np.random.default_rng(_seed(settings.seed, 0))
    width = max(3, len(str(settings.participants)))
    participants = [f"P{i + 1:0{width}d}" for i in range(settings.participants)]
    order = rng.permutation(settings.participants)
    split_of: dict[str, str] = {}
    start = 0
    for split in SPLITS:
        count = settings.split_participants[split]
        for i in order[start : start + count]:
            split_of[participants[int(i)]] = split
        start += count

    q = settings.questions_per_participant
    raw: list[dict] = []
    for number, participant in enumerate(participants):
        visit = date(2024, 1, 8) + timedelta(days=int(rng.integers(0, 300)))
        minute = int(rng.integers(9 * 60, 17 * 60))
        questions = sorted(
            int(n) for n in rng.choice(np.arange(1, max(7, q) + 1), size=q, replace=False)
        )
        for question in questions:
            minute += int(rng.integers(2, 7))
            second = int(rng.integers(0, 60))
            stamp = f"{visit:%Y-%m-%d}_{minute // 60:02d}-{minute % 60:02d}-{second:02d}"
            raw.append(
                {
                    "participant": participant,
                    "participant_seed": _seed(settings.seed, 1, number),
                    "question": question,
                    "stamp": stamp,
                    "split": split_of[participant],
                }
            )

    n = len(raw)
    # Balanced labels within each split: both labels in every split.
    labels = np.zeros(n, int)
    for split in SPLITS:
        members = [i for i, r in enumerate(raw) if r["split"] == split]
        # With at least 2 members (validated), this is between 1 and len - 1.
        positives = (len(members) + int(rng.integers(0, 2))) // 2
        labels[rng.permutation(members)[:positives]] = 1
    # Each modality shows the label's cue with probability cue_reliability, drawn
    # independently per modality. The draws are stratified (within each split and
    # label, exactly the rounded share of videos disagrees) so that a small corpus
    # does not land on a much weaker or stronger signal than configured by chance.
    reliability = settings.reliabilities
    agree = np.ones((n, len(MODALITIES)), bool)
    for split in SPLITS:
        for label in (0, 1):
            members = [i for i, r in enumerate(raw) if r["split"] == split and labels[i] == label]
            for m, modality in enumerate(MODALITIES):
                expected = (1.0 - reliability[modality]) * len(members)
                flips = int(np.floor(expected + rng.random()))  # unbiased rounding
                agree[rng.permutation(members)[:flips], m] = False
    cues = np.where(agree, labels[:, None], 1 - labels[:, None])

    # Paths: a few with a space, a few with a host-name suffix, like BAH.
    quirks = rng.permutation(n)
    n_quirky = max(1, round(0.06 * n))
    with_space = set(int(i) for i in quirks[:n_quirky])
    with_suffix = set(int(i) for i in quirks[n_quirky : 2 * n_quirky])

    test_members = [i for i, r in enumerate(raw) if r["split"] == "test"]
    no_transcript = set(
        int(i)
        for i in rng.choice(
            test_members, size=settings.test_videos_without_transcript, replace=False
        )
    )
    transcribed = [i for i in range(n) if i not in no_transcript]
    n_yaml = round(len(transcribed) / 3)
    with_yaml = set(int(i) for i in rng.choice(transcribed, size=n_yaml, replace=False))
    degenerate, clip_seconds = _plan_degenerate(settings, raw, labels, no_transcript)

    planned = []
    for i, r in enumerate(raw):
        suffix = ""
        if i in with_space:
            suffix = f" ({int(rng.integers(1, 4))})"
        elif i in with_suffix:
            suffix = HOST_SUFFIXES[int(rng.integers(len(HOST_SUFFIXES)))]
        name = f"{r['participant']}_Question_{r['question']}_{r['stamp']}_Video{suffix}.mp4"
        relative = f"Videos/{r['participant']}/Visite_1/{name}"
        job = VideoJob(
            index=i,
            relative_path=relative,
            participant=r["participant"],
            participant_seed=r["participant_seed"],
            video_seed=_seed(settings.seed, 2, i),
            topic=TOPIC_ORDER[(r["question"] - 1) % len(TOPIC_ORDER)],
            label=int(labels[i]),
            text_cue=int(cues[i, 0]),
            audio_cue=int(cues[i, 1]),
            face_cue=int(cues[i, 2]),
            scene_cue=int(cues[i, 3]),
            fps=settings.fps,
            width=settings.width,
            height=settings.height,
            min_seconds=float(settings.min_seconds),
            max_seconds=float(settings.max_seconds),
            degenerate=degenerate.get(i, ""),
            clip_seconds=clip_seconds.get(i, 0.0),
        )
        kind = degenerate.get(i, "")
        planned.append(
            PlannedVideo(
                job=job,
                split=r["split"],
                has_transcript=i not in no_transcript and kind != "no_transcript",
                # A YAML's timestamps must point at audible speech: none for a
                # muted or cut-short video (their transcript is in the list).
                has_yaml=i in with_yaml and kind not in ("no_transcript", "silent", "very_short"),
                degenerate=kind,
            )
        )
    return planned


def _plan_degenerate(
    settings: DemoSettings, raw: list[dict], labels: np.ndarray, no_transcript: set[int]
) -> tuple[dict[int, str], dict[int, float]]:
    """Which videos are degenerate, of which kind, and how long the very short ones are.

    Drawn from a stream of its own (seed, 3), so the rest of the plan (labels,
    cues, paths, transcripts) is the same whatever the rates, and all rates 0
    leave the corpus as it was. Stratified like the cues, so that a small
    corpus gets its share and degeneracy says nothing about the label:

    - per split, the count of each kind is its rate times the split's size,
      rounded down or up at random (exact in expectation); the rounding is
      cumulative over the kinds (one random offset per split), so the kinds
      never claim more videos than the split has;
    - the split's videos are taken in an order that interleaves the two labels
      in proportion (each label's videos shuffled), and the kinds take
      consecutive runs of it: disjoint, and each kind's videos split between
      the labels in proportion (to within a video or two).

    The test videos already without a transcript (``test_videos_without_transcript``)
    are not drawn; when the rates add up to nearly 1 the last kinds may then
    fall short on the test split.
    """
    rng = np.random.default_rng(_seed(settings.seed, 3))
    cumulative = np.cumsum([float(settings.degenerate[kind]) for kind in DEGENERATE_KINDS])
    kind_of: dict[int, str] = {}
    for split in SPLITS:
        members = [i for i, r in enumerate(raw) if r["split"] == split]
        offset = float(rng.random())
        bounds = [0] + [int(np.floor(c * len(members) + offset)) for c in cumulative]
        keyed: list[tuple[float, int]] = []
        for label in (0, 1):
            group = [i for i in members if labels[i] == label and i not in no_transcript]
            shuffled = [int(i) for i in rng.permutation(group)] if group else []
            jitter = rng.random(len(shuffled))
            keyed += [
                ((rank + float(jitter[rank])) / len(shuffled), i) for rank, i in enumerate(shuffled)
            ]
        order = [i for _, i in sorted(keyed)]
        for k, kind in enumerate(DEGENERATE_KINDS):
            for i in order[min(bounds[k], len(order)) : min(bounds[k + 1], len(order))]:
                kind_of[i] = kind
    clips = {
        i: round(float(rng.uniform(*VERY_SHORT_SECONDS)), 3)
        for i in sorted(kind_of)
        if kind_of[i] == "very_short"
    }
    return kind_of, clips


def _write_atomic(path: Path, text: str) -> None:
    """Write a text file via a temporary file and a rename (never half-written)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with open(descriptor, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def transcript_yaml(result: VideoResult) -> str:
    """The timestamped transcript of a video: one chunk per sentence."""
    chunks = [
        {"timestamp": [float(a), float(b)], "text": text, "label": int(chunk_label)}
        for text, (a, b), chunk_label in zip(
            result.sentences, result.spans, result.chunk_labels, strict=True
        )
    ]
    return yaml.safe_dump(
        {"chunks": chunks}, sort_keys=False, default_flow_style=None, allow_unicode=True, width=1000
    )


def _pool_context() -> multiprocessing.context.BaseContext | None:
    """Fork on Linux: workers need no re-import of ``__main__``.

    Spawn and forkserver re-run the main module in every worker, which breaks
    scripts without an ``if __name__ == "__main__"`` guard (Snakemake's
    ``script:`` files have none). Workers must not call ``cv2.setNumThreads``:
    after a fork from a process whose OpenCV thread pool is running, that call
    deadlocks.
    """
    if sys.platform.startswith("linux"):
        return multiprocessing.get_context("fork")
    return None


def _check_tools() -> None:
    for tool, fix in (
        ("ffmpeg", "apt-get install ffmpeg, or pip install imageio-ffmpeg"),
        ("espeak-ng", "apt-get install espeak-ng (macOS: brew install espeak-ng)"),
    ):
        if shutil.which(tool) is None:
            raise RuntimeError(f"{tool} is not installed; the demo corpus needs it ({fix})")


def _progress(total: int, enabled: bool) -> tqdm:
    return tqdm(total=total, desc="demo videos", unit="video", disable=not enabled)


def generate_demo_corpus(
    root: Path, settings: DemoSettings, workers: int = 1, progress: bool = True
) -> None:
    """Write the demo corpus under ``root`` in the BAH layout.

    Writes the videos, the timestamped transcripts, then ``class_id.yaml``,
    ``demo_cues.csv`` and the split files last, so that complete split files
    mean a complete corpus. Output depends on ``settings`` only.
    """
    settings.validate()
    _check_tools()
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    planned = plan_corpus(settings)
    jobs = [p.job for p in planned]
    results: dict[int, VideoResult] = {}
    if workers > 1 and len(jobs) > 1:
        with ProcessPoolExecutor(
            max_workers=min(workers, len(jobs)), mp_context=_pool_context()
        ) as pool:
            # Submit (and so fork) before the progress bar starts its monitor thread.
            futures = [pool.submit(make_video, job, root) for job in jobs]
            try:
                with _progress(len(jobs), progress) as bar:
                    for future in as_completed(futures):
                        result = future.result()
                        results[result.index] = result
                        bar.update()
            except BaseException:
                for future in futures:  # fail fast: do not make the rest
                    future.cancel()
                raise
    else:
        with _progress(len(jobs), progress) as bar:
            for job in jobs:
                results[job.index] = make_video(job, root)
                bar.update()

    for item in planned:
        sidecar = (root / item.job.relative_path).with_suffix(".yaml")
        if item.has_yaml:
            _write_atomic(sidecar, transcript_yaml(results[item.job.index]))
        else:
            sidecar.unlink(missing_ok=True)  # a stale one would give it a transcript

    _write_atomic(root / "class_id.yaml", "With A-H: 1\nNo A-H: 0\n")
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CUES_HEADER)
    for item in planned:
        job = item.job
        writer.writerow(
            [
                job.relative_path,
                item.split,
                job.participant,
                job.label,
                job.text_cue,
                job.audio_cue,
                job.face_cue,
                job.scene_cue,
                f"{results[job.index].duration_s:.3f}",
                item.degenerate,
                *(int(item.cue_present(m)) for m in MODALITIES),
            ]
        )
    _write_atomic(root / "demo_cues.csv", buffer.getvalue())
    for split in SPLITS:
        lines = []
        for item in planned:
            if item.split != split:
                continue
            text = results[item.job.index].transcript if item.has_transcript else ""
            lines.append(f"{item.job.relative_path},{item.job.label},{text}\n")
        _write_atomic(root / f"{split}.txt", "".join(lines))
