"""Peak memory and wall time of audio extraction and speech recognition vs. duration.

Why: a corpus may hold hour-long recordings. A stage whose memory grows with
the duration of a video fails (out-of-memory kill) on exactly those videos,
and a one-hour utterance given to pocketsphinx in one piece runs for minutes
with no sign of life. This script checks that both stages are flat in
duration: it builds a 1-minute and a 60-minute test video (ffmpeg lavfi: a
tone switched on and off, with noise, plus a small test-pattern video
stream), then runs each step in a fresh Python process and reports that
process's peak RSS (``ru_maxrss``) and its ffmpeg child's, and the wall time.

Usage (from the repository root)::

    .venv/bin/python benchmarks/media_memory.py                  # this checkout
    .venv/bin/python benchmarks/media_memory.py --minutes 1 5    # quicker
    # the same measurement on another version of the library, e.g. before a change:
    git archive <commit> lib | tar -x -C /tmp/ahrec-before
    .venv/bin/python benchmarks/media_memory.py --lib /tmp/ahrec-before/lib

The steps are those the workflow's rules run: ``extract_audio`` (rule audio)
and speech recognition with pocketsphinx through ``resolve_transcripts``
(rule transcripts). Libraries whose ``resolve_transcripts`` accepts a wav
path (``ahrec.transcripts.asr.transcribe_wav`` exists) stream from the file;
older ones get the waveform read with ``read_wav``, as their stage did.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MiB = 1024 * 1024


def make_video(path: Path, seconds: float) -> Path:
    """A video with a tone that is on for 3 s and off for 1 s, over faint noise."""
    if path.is_file():
        return path
    tone = "aevalsrc=0.3*sin(2*PI*220*t)*lt(mod(t\\,4)\\,3):s=16000"
    command = [
        "ffmpeg", "-nostdin", "-v", "error", "-y",
        "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=5",
        "-f", "lavfi", "-i", tone,
        "-f", "lavfi", "-i", "anoisesrc=a=0.02:r=16000:seed=1",
        "-filter_complex", "[1:a][2:a]amix=inputs=2:duration=first[a]",
        "-map", "0:v", "-map", "[a]", "-t", str(seconds),
        "-c:v", "libx264", "-preset", "ultrafast", "-g", "50", "-pix_fmt", "yuv420p",
        "-c:a", "aac", "-b:a", "64k", "-ac", "1", str(path),
    ]  # fmt: skip
    subprocess.run(command, check=True)
    return path


def run_child(step: str, lib: Path, arguments: list[str], work: Path) -> dict:
    """Run one step in a fresh interpreter; its own and its children's peak RSS."""
    result = work / f"result-{step}.json"
    log = work / f"log-{step}.txt"
    result.unlink(missing_ok=True)
    command = [
        sys.executable,
        __file__,
        "--child",
        step,
        "--lib",
        str(lib),
        "--result",
        str(result),
    ]
    start = time.perf_counter()
    with open(log, "wb") as stderr:
        process = subprocess.Popen([*command, *arguments], stdout=stderr, stderr=stderr)
        _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - start
    text = log.read_text(errors="replace")
    if process.returncode != 0 or not result.is_file():
        raise SystemExit(f"{step} failed ({process.returncode}):\n{text[-3000:]}")
    report = json.loads(result.read_text())
    report["process_wall_s"] = wall
    report["tree_peak_rss_mb"] = usage.ru_maxrss * 1024 / MiB  # child and its reaped children
    report["cpu_s"] = usage.ru_utime + usage.ru_stime  # steadier than wall time on a busy machine
    report["log"] = text
    return report


def child(step: str, lib: Path, result: Path, paths: list[str]) -> None:
    """The measured work, in its own process."""
    import logging

    sys.path.insert(0, str(lib))
    logging.basicConfig(level=logging.INFO, format="%(name)s %(levelname)s %(message)s")
    start = time.perf_counter()
    report: dict = {}
    if step == "audio":
        from ahrec.media.audio import extract_audio

        video, wav = paths
        report["reason"] = extract_audio(video, wav, 16000)
        report["wav_mb"] = Path(wav).stat().st_size / MiB
    elif step == "asr":
        from ahrec.media import audio as audio_module
        from ahrec.transcripts import asr

        (wav,) = paths
        recognizer = asr.PocketsphinxRecognizer()
        videos = [{"video_id": "v", "transcript": None, "transcript_source": None}]
        if hasattr(asr, "transcribe_wav"):
            report["mode"] = "stream from the wav file"
            waveforms = {"v": wav}
        else:
            report["mode"] = "read_wav, one array per video"
            waveforms = {"v": audio_module.read_wav(wav)}
        (row,) = asr.resolve_transcripts(videos, waveforms, recognizer)
        report["words"] = len((row.transcript or "").split())
    else:
        raise SystemExit(f"unknown step {step}")
    report["step_wall_s"] = time.perf_counter() - start
    report["self_peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / MiB
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    report["ffmpeg_peak_rss_mb"] = children * 1024 / MiB if children else None
    result.write_text(json.dumps(report))


PROGRESS = re.compile(r"ahrec\.transcripts\.asr INFO (.*)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, nargs="+", default=[1.0, 60.0])
    parser.add_argument(
        "--lib", type=Path, default=ROOT / "lib", help="the ahrec library to measure"
    )
    parser.add_argument("--work", type=Path, help="folder for the test inputs (kept; reused)")
    parser.add_argument("--steps", nargs="+", default=["audio", "asr"], choices=["audio", "asr"])
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args, rest = parser.parse_known_args(argv)
    if args.child:
        child(args.child, args.lib.resolve(), args.result, rest)
        return 0
    work = args.work or Path(tempfile.mkdtemp(prefix="media-memory-"))
    work.mkdir(parents=True, exist_ok=True)
    print(
        f"library: {args.lib.resolve()}\ninputs: {work}\nmachine: {os.cpu_count()} CPUs, load {os.getloadavg()}"
    )
    rows = []
    for minutes in args.minutes:
        video = make_video(work / f"video-{minutes:g}min.mp4", minutes * 60)
        wav = work / f"audio-{minutes:g}min.wav"
        for step in args.steps:
            arguments = [str(video), str(wav)] if step == "audio" else [str(wav)]
            if step == "asr" and not wav.is_file():
                run_child("audio", args.lib.resolve(), [str(video), str(wav)], work)
            report = run_child(step, args.lib.resolve(), arguments, work)
            progress = PROGRESS.findall(report.pop("log"))
            report.update(step=step, minutes=minutes, progress_lines=len(progress))
            rows.append(report)
            ffmpeg_mb = report["ffmpeg_peak_rss_mb"]
            print(
                f"{step:5} {minutes:5g} min: python peak RSS {report['self_peak_rss_mb']:7.1f} MB, "
                f"ffmpeg peak RSS {ffmpeg_mb if ffmpeg_mb is None else round(ffmpeg_mb, 1)} MB, "
                f"step {report['step_wall_s']:7.1f} s, process {report['process_wall_s']:7.1f} s "
                f"({report['cpu_s']:.1f} CPU s)"
                + (f", {report.get('mode')}, {report['words']} words" if step == "asr" else "")
                + (f", {len(progress)} progress lines" if step == "asr" else "")
            )
            for line in progress[:2] + (["..."] + progress[-1:] if len(progress) > 2 else []):
                print(f"      {line}")
    by = {(r["step"], r["minutes"]): r for r in rows}
    if len(args.minutes) >= 2:
        low, high = min(args.minutes), max(args.minutes)
        for step in args.steps:
            grow = by[(step, high)]["self_peak_rss_mb"] - by[(step, low)]["self_peak_rss_mb"]
            per_hour = grow / ((high - low) / 60)
            print(f"{step}: python peak RSS grows {per_hour:+.1f} MB per hour of media")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
