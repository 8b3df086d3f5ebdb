"""Throughput and peak memory of the media and embedding stages, against a plain ffmpeg decode.

Usage::

    python -m ahrec.reporting.stage_benchmark [--corpus DIR] [--limit N] [--out DIR]
        [--device auto|cpu|cuda] [--config config.yaml] [--json PATH] [--verbose]

Runs each stage of the media and embedding part of the workflow (scene
frames, face frames, audio, face detection and crops, transcripts, every
encoder configured under ``embeddings:``) over a BAH-layout corpus, by
calling the same library functions, with the same config values, as the
rules' scripts. It prints, per stage: videos per second, seconds of video
per second, the peak memory, and how many times longer the stage takes than
``ffmpeg`` needs merely to decode the same videos.

Design choices, and why:

* Every stage runs in its own Python process (this module, ``--run-stage``),
  so one stage's imports, models and caches do not inflate another's peak
  memory, and each gets the thread count its rule declares (``threads:``).
* A stage's time covers its library calls only: interpreter start-up and
  module imports are left out (they are reported as ``process_s`` in the
  JSON), because the benchmark processes all videos in one process while
  the workflow starts one job per video (media) or per shard (the rest).
  Model loading happens inside the library calls and is included.
* All selected videos form one shard: the encoders load once, as in one
  workflow job; with ``shards: 4`` the workflow loads each model 4 times.
* The baseline decodes every stream of each video with one thread
  (``ffmpeg -threads 1 ... -f null -``), sequentially, after the files have
  been read once so that neither it nor the stages pay for a cold disk cache.
  Ratios are stage seconds / baseline seconds over the stage's own videos.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

# Only the standard library at module level: a stage process imports this
# module first, and must set its thread limits before numpy or torch load.

LOG = logging.getLogger(__name__)
REPO = Path(__file__).resolve().parents[3]
LIB = REPO / "lib"
DEFAULT_CORPUS = Path("results/demo_corpus")
BASELINE = "ffmpeg decode (baseline)"
FFMPEG_DECODE = ["ffmpeg", "-nostdin", "-v", "error", "-threads", "1", "-i", "{video}"]
FFMPEG_DECODE += ["-f", "null", "-"]
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


# --- what is run ---------------------------------------------------------------


@dataclass(frozen=True)
class StagePlan:
    """One stage to benchmark: its label, what the stage process runs, its rule's threads."""

    label: str
    kind: str  # baseline | scene_frames | face_frames | audio | faces | transcripts | embed
    threads: int
    modality: str | None = None
    encoder: str | None = None


def plan_stages(config: Mapping[str, Any]) -> list[StagePlan]:
    """The baseline, the media stages, then every configured encoder, in dependency order.

    Thread counts are those of the rules (rules/media.smk, transcripts.smk,
    embeddings.smk), so that a stage is measured as the workflow runs it.
    """
    from ahrec.embeddings.specs import encoder_specs

    stages = [
        StagePlan(BASELINE, "baseline", 1),
        StagePlan("scene frames", "scene_frames", 1),
        StagePlan("face frames", "face_frames", 1),
        StagePlan("audio extraction", "audio", 1),
        StagePlan("face detection + crops", "faces", 2),
        StagePlan("transcripts", "transcripts", 2),
    ]
    for spec in encoder_specs(config):
        stages.append(
            StagePlan(
                f"embed {spec.modality}/{spec.name} ({spec.kind})",
                "embed",
                1 if spec.is_corpus_level else 2,
                spec.modality,
                spec.name,
            )
        )
    return stages


@dataclass
class StageResult:
    """What one stage did and cost. Rates are derived, so the JSON stays consistent."""

    stage: str
    videos: int
    video_seconds: float
    wall_s: float
    cpu_s: float
    baseline_s: float
    peak_rss_mb: float | None
    child_rss_mb: float | None
    process_s: float
    note: str = ""
    ok: bool = True

    @property
    def videos_per_s(self) -> float:
        return self.videos / self.wall_s if self.wall_s > 0 else float("nan")

    @property
    def video_seconds_per_s(self) -> float:
        return self.video_seconds / self.wall_s if self.wall_s > 0 else float("nan")

    @property
    def decode_ratio(self) -> float:
        return self.wall_s / self.baseline_s if self.baseline_s > 0 else float("nan")

    def as_dict(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "videos_per_s": self.videos_per_s,
            "video_seconds_per_s": self.video_seconds_per_s,
            "decode_ratio": self.decode_ratio,
        }


@dataclass
class Machine:
    """Where the figures come from; timings only compare on the same machine."""

    cpu_count: int
    cpu_model: str
    torch_device: str
    load_average: tuple[float, float, float]
    python: str = field(default_factory=platform.python_version)


# --- the stage process -------------------------------------------------------------


class Context:
    """A stage process's view of the job: config, the selected videos, where files go."""

    def __init__(self, job: Mapping[str, Any]) -> None:
        from ahrec.corpus.manifest import read_manifest

        self.job = job
        self.config: dict[str, Any] = job["config"]
        self.work = Path(job["work"])
        self.device: str = job["device"]
        self.manifest = read_manifest(job["manifest"])
        self.shard = 0  # the whole selection is one shard (see the module docstring)

    def rows(self) -> list[dict[str, Any]]:
        from ahrec import plan

        return [
            {key: plan.cell(value) for key, value in row.items()}
            for row in self.manifest.to_dict("records")
        ]

    def ids(self) -> list[str]:
        from ahrec import plan

        return plan.shard_video_ids(self.manifest, self.shard)

    def scene_frames(self, video_id: str) -> Path:
        return self.work / "media" / "scene_frames" / f"{video_id}.npz"

    def face_frames(self, video_id: str) -> Path:
        return self.work / "media" / "face_frames" / f"{video_id}.npz"

    def audio(self, video_id: str) -> Path:
        return self.work / "media" / "audio" / f"{video_id}.wav"

    @property
    def crops(self) -> Path:
        return self.work / "faces" / "shard-0.npz"

    @property
    def face_stats(self) -> Path:
        return self.work / "faces" / "shard-0.parquet"

    @property
    def transcripts(self) -> Path:
        return self.work / "transcripts" / "shard-0.parquet"

    def embeddings(self, modality: str, encoder: str) -> Path:
        return self.work / "embeddings" / modality / f"{encoder}.parquet"


@dataclass
class Prepared:
    """A stage ready to time: ``work`` does the stage and returns a note for the table.

    ``video_ids`` are the videos the stage's figures count (all of them, but
    for speech recognition the ones it ran on). ``after`` builds a note from
    the outputs, outside the timed section.
    """

    work: Callable[[], str | None]
    video_ids: list[str]
    after: Callable[[], str] | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _prepare_baseline(ctx: Context) -> Prepared:
    per_video: dict[str, float] = {}
    failed: list[str] = []

    def work() -> str:
        for row in ctx.rows():
            command = [part.replace("{video}", row["path"]) for part in FFMPEG_DECODE]
            started = time.perf_counter()
            done = subprocess.run(command, capture_output=True, check=False)
            per_video[row["video_id"]] = time.perf_counter() - started
            if done.returncode != 0:
                failed.append(row["video_id"])
        return f"ffmpeg failed on {len(failed)} videos" if failed else ""

    prepared = Prepared(work, ctx.ids())
    prepared.extra["per_video_s"] = per_video
    return prepared


def _frames_stage(
    ctx: Context, sampling: Mapping[str, Any], out: Callable[[str], Path]
) -> Prepared:
    """As scripts/frames.py: one call per video, with that rule's ``sampling`` params."""
    from ahrec.runtime import progress
    from ahrec.stages.media import extract_frames

    rows = ctx.rows()
    jpeg_quality = ctx.config["media"]["jpeg_quality"]

    def work() -> str:
        failed = 0
        for row in progress(rows, len(rows), "frames"):
            reason = extract_frames(
                row["path"],
                row["video_id"],
                out(row["video_id"]),
                n_frames=sampling["n_frames"],
                jpeg_quality=jpeg_quality,
                short_side=sampling.get("short_side"),
                max_side=sampling.get("max_side"),
                n_frames_hint=row["n_frames"],
                problem=row["problem"],
            )
            failed += reason is not None
        return f"{failed} videos without frames" if failed else ""

    return Prepared(work, ctx.ids())


def _prepare_scene_frames(ctx: Context) -> Prepared:
    return _frames_stage(ctx, ctx.config["scene"], ctx.scene_frames)


def _prepare_face_frames(ctx: Context) -> Prepared:
    sampling = {
        "n_frames": ctx.config["face"]["n_frames"],
        "max_side": ctx.config["media"]["face_frame_max_side"],
    }
    return _frames_stage(ctx, sampling, ctx.face_frames)


def _prepare_audio(ctx: Context) -> Prepared:
    """As scripts/audio.py."""
    from ahrec.runtime import progress
    from ahrec.stages.media import extract_audio_file

    rows = ctx.rows()
    sample_rate = ctx.config["media"]["audio_sample_rate"]

    def work() -> str:
        empty = 0
        for row in progress(rows, len(rows), "audio"):
            reason = extract_audio_file(
                row["path"],
                ctx.audio(row["video_id"]),
                sample_rate=sample_rate,
                has_audio=bool(row["has_audio"]),
            )
            empty += reason is not None
        return f"{empty} videos without audio" if empty else ""

    return Prepared(work, ctx.ids())


def _prepare_faces(ctx: Context) -> Prepared:
    """As scripts/faces.py, on the face frames the face-frames stage wrote."""
    from ahrec.stages.faces import detect_faces_shard

    ids = ctx.ids()
    frame_files = [ctx.face_frames(v) for v in ids]
    face = ctx.config["face"]

    def work() -> str:
        table = detect_faces_shard(
            frame_files,
            ctx.crops,
            ctx.face_stats,
            detector=face["detector"],
            crop_size=face["crop_size"],
            jpeg_quality=ctx.config["media"]["jpeg_quality"],
            device=ctx.device,
        )
        usable = table[table["n_frames"] > 0]
        rate = usable["n_detected"].sum() / max(int(usable["n_frames"].sum()), 1)
        return (
            f"{face['detector']['kind']} detector; face found in {100 * rate:.0f}% "
            f"of {int(usable['n_frames'].sum())} frames"
        )

    return Prepared(work, ids)


def _prepare_transcripts(ctx: Context) -> Prepared:
    """As scripts/transcripts.py; counts the videos recognition ran on, since the rest is free."""
    from ahrec import plan
    from ahrec.stages.transcripts import transcripts_shard

    asr = ctx.config["transcripts"]["asr"]
    videos = plan.corpus_transcripts(ctx.manifest, ctx.shard)
    needs = plan.asr_video_ids(ctx.manifest, ctx.shard, asr["kind"])
    wavs = {v: str(ctx.audio(v)) for v in needs}
    total = len(videos)

    def work() -> str:
        table = transcripts_shard(videos, wavs, ctx.transcripts, asr=asr, device=ctx.device)
        sources = table["source"].fillna("none").value_counts().to_dict()
        sources_text = ", ".join(f"{k} {v}" for k, v in sorted(sources.items()))
        if not needs:
            return f"no ASR needed: every transcript from the corpus (sources: {sources_text})"
        return (
            f"ASR ({asr['kind']}) on the {len(needs)} of {total} videos without a corpus "
            f"transcript; figures count those {len(needs)} (sources: {sources_text})"
        )

    return Prepared(work, needs or ctx.ids())


def _embedding_note(path: Path) -> str:
    from ahrec.embeddings.table import read_embeddings

    table = read_embeddings(path)
    return f"dim {table.vectors.shape[1]}, {int(table.available.sum())}/{len(table.available)} available"


def _prepare_embed(ctx: Context) -> Prepared:
    """As scripts/embed_*.py: the spec goes through ``as_params`` like a rule's params."""
    from ahrec import plan
    from ahrec.embeddings.specs import encoder_spec
    from ahrec.stages.embeddings import (
        embed_audio_shard,
        embed_frames_shard,
        embed_text_shard,
        embed_tfidf,
        spec_from_params,
    )

    modality, name = ctx.job["modality"], ctx.job["encoder"]
    params = encoder_spec(ctx.config, modality, name).as_params()
    spec = spec_from_params(modality, name, params)
    out = ctx.embeddings(modality, name)
    ids = ctx.ids()
    note = ""
    work: Callable[[], None]
    if spec.is_corpus_level:  # TF-IDF: fitted on the training split, for the whole corpus
        train_ids = plan.split_ids(ctx.manifest, "train")
        if not train_ids:
            train_ids, note = ids, "; fitted on all videos (no training video selected)"

        def work() -> None:
            embed_tfidf(spec, [ctx.transcripts], train_ids, out)

    elif modality in ("scene", "face"):
        files = [ctx.scene_frames(v) for v in ids] if modality == "scene" else [ctx.crops]
        n_frames = ctx.config[modality]["n_frames"]

        def work() -> None:
            embed_frames_shard(spec, files, out, device=ctx.device, n_frames=n_frames)

    elif modality == "audio":
        wavs = {v: str(ctx.audio(v)) for v in ids}
        reasons = plan.audio_reasons(ctx.manifest, ctx.shard)

        def work() -> None:
            embed_audio_shard(spec, wavs, reasons, out, device=ctx.device)

    elif modality == "text":

        def work() -> None:
            embed_text_shard(spec, ctx.transcripts, out, device=ctx.device)

    else:
        raise ValueError(f"no benchmark for the {modality} modality")

    def timed() -> str:
        work()
        return ""

    return Prepared(timed, ids, after=lambda: _embedding_note(out) + note)


PREPARERS: dict[str, Callable[[Context], Prepared]] = {
    "baseline": _prepare_baseline,
    "scene_frames": _prepare_scene_frames,
    "face_frames": _prepare_face_frames,
    "audio": _prepare_audio,
    "faces": _prepare_faces,
    "transcripts": _prepare_transcripts,
    "embed": _prepare_embed,
}


def _peak_rss_mb() -> float:
    """This process's peak resident set size in MB.

    ``VmHWM`` is the high-water mark of this process's own memory map, which
    starts afresh at exec. ``ru_maxrss`` does not on Linux: it also counts
    the parent's pages the process was forked with, so every stage would
    report at least the driver's size. It is the fallback off Linux.
    """
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def _descendants(pid: int) -> list[int]:
    """Child process ids, recursively, from ``/proc/<pid>/task/*/children`` (Linux)."""
    found: list[int] = []
    for tid in os.listdir(f"/proc/{pid}/task"):
        with contextlib.suppress(OSError):
            children = Path(f"/proc/{pid}/task/{tid}/children").read_text(encoding="ascii")
            for child in map(int, children.split()):
                found.append(child)
                with contextlib.suppress(OSError):
                    found.extend(_descendants(child))
    return found


class ChildMemory:
    """The peak summed RSS of this process's descendants (ffmpeg, for instance), sampled.

    Their ``ru_maxrss`` would include the Python process they were forked
    from (see ``_peak_rss_mb``), so their RSS is sampled from ``/proc`` every
    ``interval`` seconds instead: short peaks between two samples are missed.
    A descendant still running our own executable is a fork that has not
    exec'd yet, whose pages are this process's: it is skipped, so Python
    worker processes would not be counted (none of these stages starts one).
    Reading ``/proc`` directly costs about 0.03 ms a sample, where psutil's
    process scan costs 1.5 ms, which would steal CPU from the stage timed.
    ``peak_mb`` stays None when no child was seen, and off Linux.
    """

    def __init__(self, interval: float = 0.01) -> None:
        self.interval = interval
        self.peak_mb: float | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _sample(self, own_exe: str, page: int) -> None:
        total = 0
        for pid in _descendants(os.getpid()):
            with contextlib.suppress(OSError, ValueError, IndexError):
                if os.readlink(f"/proc/{pid}/exe") == own_exe:
                    continue
                resident = Path(f"/proc/{pid}/statm").read_text(encoding="ascii").split()[1]
                total += int(resident) * page
        if total:
            self.peak_mb = max(self.peak_mb or 0.0, total / (1024 * 1024))

    def __enter__(self) -> ChildMemory:
        if not Path(f"/proc/{os.getpid()}/task").is_dir():
            return self
        own_exe = os.readlink("/proc/self/exe")
        page = os.sysconf("SC_PAGE_SIZE")

        def run() -> None:
            while not self._stop.wait(self.interval):
                self._sample(own_exe, page)

        self._thread = threading.Thread(target=run, name="child-memory", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()


def _cpu_seconds() -> float:
    """User + system CPU time of this process and of its finished children."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def run_stage_job(job_path: str | Path, result_path: str | Path, verbose: bool = False) -> None:
    """The body of a stage process: prepare (untimed), run (timed), record time and memory."""
    job = json.loads(Path(job_path).read_text(encoding="utf-8"))
    from ahrec.runtime import limit_threads

    limit_threads(job["threads"])
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(message)s",
        stream=sys.stderr,
    )
    ctx = Context(job)
    prepared = PREPARERS[job["kind"]](ctx)
    cpu_before = _cpu_seconds()
    with ChildMemory() as children:
        started = time.perf_counter()
        note = prepared.work() or ""
        wall = time.perf_counter() - started
    cpu = _cpu_seconds() - cpu_before
    if prepared.after is not None:
        note = "; ".join(part for part in (note, prepared.after()) if part)
    result = {
        "wall_s": wall,
        "cpu_s": cpu,
        "video_ids": prepared.video_ids,
        "note": note,
        "peak_rss_mb": _peak_rss_mb(),
        "child_rss_mb": children.peak_mb,
        **prepared.extra,
    }
    Path(result_path).write_text(json.dumps(result), encoding="utf-8")


# --- the driver ----------------------------------------------------------------------


def _child_env(threads: int) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(LIB), env.get("PYTHONPATH")]))
    for variable in THREAD_VARIABLES:  # before the interpreter starts, so numpy sees them too
        env[variable] = str(threads)
    return env


def run_stage(
    stage: StagePlan,
    job: Mapping[str, Any],
    jobs_dir: Path,
    verbose: bool = False,
) -> tuple[dict[str, Any] | None, float]:
    """Run one stage in a fresh Python process; its result, or None if it failed."""
    slug = "".join(c if c.isalnum() else "-" for c in stage.label).strip("-")
    job_path = jobs_dir / f"{slug}.job.json"
    result_path = jobs_dir / f"{slug}.result.json"
    job_path.write_text(
        json.dumps(
            {
                **job,
                "kind": stage.kind,
                "threads": stage.threads,
                "modality": stage.modality,
                "encoder": stage.encoder,
            }
        ),
        encoding="utf-8",
    )
    command = [sys.executable, "-m", "ahrec.reporting.stage_benchmark"]
    command += ["--run-stage", str(job_path), "--result", str(result_path)]
    if verbose:
        command.append("--verbose")
    started = time.perf_counter()
    done = subprocess.run(command, env=_child_env(stage.threads), check=False)
    process_s = time.perf_counter() - started
    if done.returncode != 0 or not result_path.is_file():
        print(f"  {stage.label}: FAILED (exit {done.returncode})", file=sys.stderr)
        return None, process_s
    return json.loads(result_path.read_text(encoding="utf-8")), process_s


def load_benchmark_config(path: str | Path | None) -> dict[str, Any]:
    """The workflow config with every default filled in (``validate_config``)."""
    from ahrec.config import load_config, validate_config

    if path is None:
        candidate = Path("config.yaml")
        path = candidate if candidate.is_file() else REPO / "config.yaml"
    return load_config(path) if Path(path).is_file() else validate_config({})


def ensure_corpus(corpus: Path | None, config: Mapping[str, Any], work: Path) -> Path:
    """The corpus to read; the demo corpus is generated into ``work`` when it is missing."""
    if corpus is not None:
        if not (corpus / "train.txt").is_file():
            raise SystemExit(f"--corpus {corpus}: no train.txt (a BAH-layout folder is needed)")
        return corpus.resolve()
    for root in (DEFAULT_CORPUS, REPO / DEFAULT_CORPUS):  # the working directory, the repo
        if (root / "train.txt").is_file():
            return root.resolve()
    from ahrec.demo import DemoSettings, generate_demo_corpus

    target = work / "demo_corpus"
    print(f"{DEFAULT_CORPUS} not found: generating the demo corpus in {target}", file=sys.stderr)
    generate_demo_corpus(
        target, DemoSettings.from_config(config["demo"]), workers=os.cpu_count() or 1
    )
    return target


def build_selection(
    corpus: Path, config: Mapping[str, Any], work: Path, limit: int | None
) -> tuple[Path, Any]:
    """Probe the corpus into a one-shard manifest and keep its first ``limit`` rows."""
    from ahrec.corpus.manifest import read_manifest, write_manifest
    from ahrec.stages.manifest import build_manifest_file

    settings = dict(config["corpus"])
    hidden = settings.get("hidden_test")
    settings.update(
        type="bah",
        root=str(corpus),
        hidden_test=hidden if hidden and (corpus / hidden).is_file() else None,
    )
    everything = work / "manifest-all.parquet"
    build_manifest_file(settings, 1, everything, workers=2 * (os.cpu_count() or 1))
    manifest = read_manifest(everything)
    if limit is not None:
        manifest = manifest.iloc[:limit].reset_index(drop=True)
    path = work / "manifest.parquet"
    write_manifest(manifest, path)
    return path, manifest


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def describe_machine(device: str) -> Machine:
    from ahrec.embeddings.device import select_device

    return Machine(
        cpu_count=os.cpu_count() or 1,
        cpu_model=_cpu_model(),
        torch_device=str(select_device(device)),
        load_average=tuple(round(x, 2) for x in os.getloadavg()),  # type: ignore[arg-type]
    )


def _warm_cache(paths: Sequence[str]) -> None:
    """Read every video once so that the first timed pass does not pay for the disk."""
    for path in paths:
        with contextlib.suppress(OSError), open(path, "rb") as handle:
            while handle.read(1 << 20):
                pass


def benchmark(
    corpus: Path | None = None,
    limit: int | None = None,
    out: Path | None = None,
    device: str | None = None,
    config_path: str | Path | None = None,
    verbose: bool = False,
) -> tuple[Machine, list[StageResult], dict[str, Any]]:
    """Run the baseline and every stage; returns the machine, per-stage results and facts."""
    from ahrec import plan

    config = load_benchmark_config(config_path)
    device = device or config["device"]
    keep = out is not None
    work = Path(out) if out is not None else Path(tempfile.mkdtemp(prefix="ahrec-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    work = work.resolve()
    try:
        root = ensure_corpus(corpus, config, work)
        print(f"probing the corpus {root}", file=sys.stderr)
        manifest_path, manifest = build_selection(root, config, work, limit)
        durations = {
            row.video_id: float(plan.cell(row.duration) or 0.0)
            for row in manifest.itertuples(index=False)
        }
        machine = describe_machine(device)
        _warm_cache(list(manifest["path"]))
        jobs_dir = work / "jobs"
        jobs_dir.mkdir(exist_ok=True)
        job = {
            "config": config,
            "work": str(work),
            "device": device,
            "manifest": str(manifest_path),
        }
        per_video_baseline: dict[str, float] = {}
        results: list[StageResult] = []
        stages = plan_stages(config)
        for number, stage in enumerate(stages, start=1):
            print(
                f"[{number}/{len(stages)}] {stage.label} "
                f"({stage.threads} thread{'s' if stage.threads != 1 else ''})",
                file=sys.stderr,
                flush=True,
            )
            outcome, process_s = run_stage(stage, job, jobs_dir, verbose)
            if outcome is None:
                results.append(
                    StageResult(
                        stage.label, 0, 0.0, 0.0, 0.0, 0.0, None, None, process_s, "", False
                    )
                )
                continue
            if stage.kind == "baseline":
                per_video_baseline = outcome["per_video_s"]
            ids = outcome["video_ids"]
            result = StageResult(
                stage=stage.label,
                videos=len(ids),
                video_seconds=sum(durations.get(v, 0.0) for v in ids),
                wall_s=outcome["wall_s"],
                cpu_s=outcome["cpu_s"],
                baseline_s=sum(per_video_baseline.get(v, 0.0) for v in ids),
                peak_rss_mb=outcome["peak_rss_mb"],
                child_rss_mb=outcome["child_rss_mb"],
                process_s=process_s,
                note=outcome["note"],
            )
            if stage.kind == "baseline":  # the launcher's own memory means nothing here
                result.peak_rss_mb = None
            print(
                f"  {result.wall_s:.2f} s, {result.videos_per_s:.2f} videos/s",
                file=sys.stderr,
                flush=True,
            )
            results.append(result)
        facts = {
            "corpus": str(root),
            "videos": len(manifest),
            "video_seconds": sum(durations.values()),
            "device": device,
            "load_average_end": [round(x, 2) for x in os.getloadavg()],
            "baseline_command": " ".join(FFMPEG_DECODE).replace("{video}", "VIDEO"),
            "work": str(work) if keep else None,
        }
        return machine, results, facts
    finally:
        if not keep:
            shutil.rmtree(work, ignore_errors=True)


# --- output --------------------------------------------------------------------------


def _number(value: float | None) -> str:
    """About three significant figures, without exponents (the table is for people)."""
    if value is None or value != value:
        return "-"
    if value >= 100:
        return f"{value:.0f}"
    if value >= 10:
        return f"{value:.1f}"
    if value >= 1:
        return f"{value:.2f}"
    return f"{value:.3f}"


COLUMNS = [
    "stage",
    "videos",
    "video s",
    "wall s",
    "CPU s",
    "videos/s",
    "video s/s",
    "x decode",
    "peak RSS MB",
    "child RSS MB",
]


def format_report(
    machine: Machine, results: Sequence[StageResult], facts: Mapping[str, Any]
) -> str:
    """A Markdown table, aligned so that it also reads as plain text, with its context."""
    load_start = " ".join(f"{x:.2f}" for x in machine.load_average)
    load_end = " ".join(f"{x:.2f}" for x in facts["load_average_end"])
    lines = [
        f"machine: {machine.cpu_count} CPUs ({machine.cpu_model}), torch device "
        f"{machine.torch_device}, Python {machine.python}; load average {load_start} at the "
        f"start, {load_end} at the end",
        f"corpus: {facts['corpus']}: {facts['videos']} videos, "
        f"{facts['video_seconds']:.1f} s of video",
        f"baseline: `{facts['baseline_command']}`, one video after another",
        "",
    ]
    rows = []
    for r in results:
        if not r.ok:
            rows.append([r.stage, "failed"] + [""] * (len(COLUMNS) - 2))
            continue
        rows.append(
            [
                r.stage,
                str(r.videos),
                _number(r.video_seconds),
                _number(r.wall_s),
                _number(r.cpu_s),
                _number(r.videos_per_s),
                _number(r.video_seconds_per_s),
                _number(r.decode_ratio),
                _number(r.peak_rss_mb),
                _number(r.child_rss_mb),
            ]
        )
    widths = [max(len(COLUMNS[i]), *(len(row[i]) for row in rows)) for i in range(len(COLUMNS))]

    def line(cells: Sequence[str]) -> str:
        padded = [
            cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i])
            for i, cell in enumerate(cells)
        ]
        return "| " + " | ".join(padded) + " |"

    lines.append(line(COLUMNS))
    lines.append(
        "|"
        + "|".join(("-" * (w + 1) + ":") if i else ("-" * (w + 2)) for i, w in enumerate(widths))
        + "|"
    )
    lines.extend(line(row) for row in rows)
    notes = [f"- {r.stage}: {r.note}" for r in results if r.note]
    if notes:
        lines += ["", *notes]
    return "\n".join(lines)


def write_json(
    path: str | Path, machine: Machine, results: Sequence[StageResult], facts: Mapping[str, Any]
) -> None:
    payload = {
        "machine": asdict(machine),
        **facts,
        "stages": [r.as_dict() for r in results],
    }
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(payload, indent=2, default=str) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ahrec.reporting.stage_benchmark",
        description=(__doc__ or "").splitlines()[0],
    )
    parser.add_argument(
        "--corpus",
        type=Path,
        default=None,
        help=f"BAH-layout corpus root (default {DEFAULT_CORPUS}; generated when missing)",
    )
    parser.add_argument("--limit", type=int, default=None, help="the first N videos only")
    parser.add_argument(
        "--out", type=Path, default=None, help="keep intermediate files here (default: temporary)"
    )
    parser.add_argument(
        "--device", choices=["auto", "cpu", "cuda"], default=None, help="default: config's"
    )
    parser.add_argument("--config", type=Path, default=None, help="default: config.yaml")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    parser.add_argument("--verbose", action="store_true", help="the stages' own log lines too")
    parser.add_argument("--run-stage", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.run_stage is not None:
        run_stage_job(args.run_stage, args.result, verbose=args.verbose)
        return 0
    if args.limit is not None and args.limit < 1:
        parser.error("--limit must be at least 1")
    machine, results, facts = benchmark(
        corpus=args.corpus,
        limit=args.limit,
        out=args.out,
        device=args.device,
        config_path=args.config,
        verbose=args.verbose,
    )
    print(format_report(machine, results, facts))
    if args.json is not None:
        write_json(args.json, machine, results, facts)
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
