"""Measure what the workflow's size costs before any media work: the manifest and the plan.

For each corpus size N, builds an N-video CSV corpus (docs/corpora.md, "csv")
out of the demo corpus's videos, a config pointing at it (``shards`` as given,
default max(4, N // 500)), and times, in a scratch working directory:

- the manifest alone, cold (empty results/) and warm (rebuilt at once with
  ``--forcerun manifest``, as when the list changes; with the probe cache
  nothing is probed again);
- ``snakemake -n`` of the default target once the manifest exists: wall
  time, peak RSS of the Snakemake process and the number of jobs planned.

``--checkout`` runs another checkout's Snakefile (and library) on the same
corpora, for a before/after comparison. A benchmark, not a test: the figures
depend on the machine and its load.

The corpus's videos must be distinct files: the manifest rejects two listings
of one file (links are resolved), so each listed video is a copy of a demo
video (about 100 kB each; 10 GB for 100,000). Copies are made once, under
``<workdir>/corpus``, and shared by every size. Probing 100,000 files takes
most of an hour on two cores, so above ``--seed-cache-above`` videos the
probe cache is filled instead from one probe of each distinct demo video (the
copies are byte-identical): the cold manifest is then not measured ("seeded"),
the warm one and the plan are.

    .venv/bin/python benchmarks/planning.py --workdir /tmp/planning --sizes 72 1000
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import re
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
DEMO_SPLITS = {"train": 14, "val": 5, "test": 5}  # the demo's participants per split
VIDEOS_PER_PARTICIPANT = 3
GNU_TIME = Path("/usr/bin/time")


def source_videos(videos: Path) -> list[tuple[Path, str]]:
    """The demo's videos and their transcripts (from the split files beside ``Videos``)."""
    transcripts: dict[str, str] = {}
    for split_file in videos.parent.glob("*.txt"):
        for line in split_file.read_text(encoding="utf-8").splitlines():
            parts = line.split(",", 2)
            if len(parts) == 3:
                transcripts[parts[0]] = parts[2]
    found = sorted(videos.rglob("*.mp4"))
    if not found:
        sys.exit(f"no videos under {videos}: run the workflow's demo_corpus rule, or pass --videos")
    return [(p, transcripts.get(f"Videos/{p.relative_to(videos).as_posix()}", "")) for p in found]


def ensure_copies(corpus: Path, sources: list[tuple[Path, str]], n: int) -> None:
    """``corpus/Videos/Pxxxxx/vxxxxxx.mp4`` for the first n videos (copies, made once)."""
    for index in range(n):
        target = corpus / video_path(index)
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(sources[index % len(sources)][0], target)


def video_path(index: int) -> str:
    return f"Videos/P{index // VIDEOS_PER_PARTICIPANT:05d}/v{index:06d}.mp4"


def split_of(participant: int) -> str:
    """Participant-disjoint splits in the demo's proportions (14/5/5)."""
    slot = participant % sum(DEMO_SPLITS.values())
    for split, count in DEMO_SPLITS.items():
        if slot < count:
            return split
        slot -= count
    raise AssertionError("unreachable")


def write_corpus_list(path: Path, sources: list[tuple[Path, str]], n: int) -> None:
    """The CSV corpus: video_path,split,label,participant,transcript (labels 0/1, seeded)."""
    rng = random.Random(n)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(["video_path", "split", "label", "participant", "transcript"])
        for index in range(n):
            participant = index // VIDEOS_PER_PARTICIPANT
            transcript = sources[index % len(sources)][1]
            writer.writerow(
                [video_path(index), split_of(participant), rng.randint(0, 1), "", transcript]
            )


def snakemake_command(checkout: Path, run_dir: Path, cores: int, *args: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "snakemake",
        "--snakefile",
        str(checkout / "Snakefile"),
        "--directory",
        str(run_dir),
        "--configfile",
        str(run_dir / "config.yaml"),
        "--cores",
        str(cores),
        *args,
    ]


def timed(command: list[str], timeout: float) -> tuple[float | None, float | None, str]:
    """Wall seconds (None on timeout), peak RSS in MiB of the process, and its output."""
    rss_file = None
    if GNU_TIME.exists():
        rss_file = Path(os.environ.get("TMPDIR", "/tmp")) / f"planning-rss-{os.getpid()}.txt"
        command = [str(GNU_TIME), "-v", "-o", str(rss_file), *command]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    start = time.monotonic()
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return None, None, ""
    seconds = time.monotonic() - start
    output = done.stdout + done.stderr
    if done.returncode:
        sys.exit(f"failed ({done.returncode}): {' '.join(command)}\n{output[-4000:]}")
    peak = None
    if rss_file is not None:
        match = re.search(r"Maximum resident set size \(kbytes\): (\d+)", rss_file.read_text())
        rss_file.unlink(missing_ok=True)
        peak = int(match.group(1)) / 1024 if match else None
    else:  # the largest child so far: exact for the first run, a bound afterwards
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return seconds, peak, output


def jobs_planned(output: str) -> int | None:
    """The total of the dry run's "Job stats" table (0 when nothing is to be done)."""
    match = re.search(r"^total\s+(\d+)\s*$", output, re.MULTILINE)
    if match:
        return int(match.group(1))
    return 0 if "Nothing to be done" in output else None


def probes(run_dir: Path) -> str:
    """``run/reused`` from the manifest's log (the probe cache's line), or ``?``."""
    log = run_dir / "results" / "logs" / "manifest.log"
    text = log.read_text() if log.exists() else ""
    match = re.search(r"(\d+) probes run, (\d+) reused", text)
    return f"{match.group(1)}/{match.group(2)}" if match else "?"


def seed_cache(run_dir: Path, corpus: Path, sources: list[tuple[Path, str]], n: int) -> None:
    """The probe cache of ``run_dir`` filled from one digest and probe per distinct source
    video (the copies are byte-identical)."""
    sys.path.insert(0, str(REPO / "lib"))
    from ahrec.corpus.probe_cache import ProbeCache, file_key
    from ahrec.io import content_digest
    from ahrec.media.probe import probe_video

    infos = {path: (content_digest(path), probe_video(path)) for path, _ in sources}
    cache = ProbeCache(run_dir / "results" / "cache" / "probes.parquet")
    for index in range(n):
        key = file_key(corpus / video_path(index))
        if key is not None:
            cache.put(key, *infos[sources[index % len(sources)][0]])
    cache.save()


def fmt(value: float | None, unit: str) -> str:
    return "timeout" if value is None else f"{value:.1f} {unit}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[72, 1000, 5000, 10000, 100000])
    parser.add_argument("--workdir", type=Path, required=True, help="scratch folder")
    parser.add_argument("--checkout", type=Path, default=REPO, help="the Snakefile's checkout")
    parser.add_argument(
        "--videos",
        type=Path,
        default=None,
        help="demo videos (default: <checkout>/results/demo_corpus/Videos)",
    )
    parser.add_argument("--shards", type=int, default=None, help="default: max(4, N // 500)")
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=3600, help="seconds per Snakemake call")
    parser.add_argument(
        "--seed-cache-above",
        type=int,
        default=5000,
        help="above this many videos, fill the probe cache instead of timing the cold manifest",
    )
    args = parser.parse_args()
    checkout = args.checkout.resolve()
    videos = (args.videos or checkout / "results" / "demo_corpus" / "Videos").resolve()
    sources = source_videos(videos)
    corpus = args.workdir.resolve() / "corpus"
    print(f"# checkout {checkout}, --cores {args.cores}, videos copied from {videos}")
    print(
        "| videos | shards | jobs planned | `snakemake -n` | peak RSS | manifest cold "
        "| manifest warm | probes run/reused (cold; warm) |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for n in args.sizes:
        shards = args.shards or max(4, n // 500)
        ensure_copies(corpus, sources, n)
        run_dir = args.workdir.resolve() / f"n{n}"
        shutil.rmtree(run_dir, ignore_errors=True)
        run_dir.mkdir(parents=True)
        corpus_list = run_dir / "corpus.csv"
        write_corpus_list(corpus_list, sources, n)
        config = {
            "results": "results",
            "shards": shards,
            "corpus": {"type": "csv", "manifest": str(corpus_list), "root": str(corpus)},
        }
        (run_dir / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
        manifest = snakemake_command(checkout, run_dir, args.cores, "results/manifest.parquet")
        seeded = n > args.seed_cache_above
        if seeded:
            seed_cache(run_dir, corpus, sources, n)
        cold, _, _ = timed(manifest, args.timeout)
        cold_probes = "seeded" if seeded else probes(run_dir)
        warm = warm_probes = None
        if cold is not None:
            # rebuilt as when the list changes (a touch alone is not enough: Snakemake
            # compares a small input's checksum, not only its date)
            warm, _, _ = timed([*manifest, "--forcerun", "manifest"], args.timeout)
            warm_probes = probes(run_dir)
        seconds = peak = jobs = None
        if cold is not None:
            dry = snakemake_command(checkout, run_dir, args.cores, "-n")
            seconds, peak, output = timed(dry, args.timeout)
            jobs = jobs_planned(output)
        print(
            f"| {n} | {shards} | {jobs if jobs is not None else '?'} | {fmt(seconds, 's')} "
            f"| {fmt(peak, 'MiB')} | {'seeded' if seeded else fmt(cold, 's')} | {fmt(warm, 's')} "
            f"| {cold_probes}; {warm_probes or '-'} |",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
