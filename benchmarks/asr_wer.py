"""Word error rates of the offline speech recognisers on real recordings, and the speech gate.

Why: the text modality of a video without a corpus transcript is whatever
the recogniser heard, so its quality bounds what the text models can learn
from such videos; and a recogniser given music or noise invents words, which
the voice-activity detector (``transcripts.vad``) is there to stop. This
script measures both on the real recordings of ``ahrec.devtools.real_media``
(``python -m ahrec.devtools.real_media`` fetches them):

* read: five LibriVox sentences (public-domain audiobook, one reader);
* command: five spoken playing-card commands, "go forward ten meters" and
  two ALSA speaker-test voices ("front center", "rear right");
* non-speech (``--vad``): ALSA's ``Noise`` and the audio track of Big Buck
  Bunny (music and effects), extracted as the workflow does (``extract_audio``).

Per file it prints the reference, the hypothesis and the word error rate
(``ahrec.transcripts.wer``: word-level Levenshtein over the reference words,
lower-cased, punctuation stripped), then the rate per group and overall
(total errors over total reference words). Every file is recognised through
``transcribe_wav`` as the workflow's transcripts rule does, alone (each video
gets a fresh decoder). With ``--vad`` it also prints, per file, the detector's
decision and its longest run of speech chunks at the configured threshold and
at 0.5; with ``--demo N``, the same for N synthetic answers of the demo corpus
(espeak-ng, ``ahrec.demo``), whose videos without a corpus transcript rely on
speech recognition. ``--vad-minutes`` times the detector on a long recording without
speech (the worst case: it reads to the end) in a fresh process and reports
its peak RSS, to show memory stays flat in the duration.

    .venv/bin/python benchmarks/asr_wer.py --vad                      # pocketsphinx
    .venv/bin/python benchmarks/asr_wer.py --vad-minutes 1 10 60      # VAD speed, memory
    .venv/bin/python benchmarks/asr_wer.py --no-wer --demo 60         # synthetic demo speech
    # on a machine that reaches the hub (or with a local copy of the weights), on a GPU:
    .venv/bin/python benchmarks/asr_wer.py --recognizer whisper \\
        --model openai/whisper-large-v3 --device cuda
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "lib"))

from ahrec.devtools.real_media import media_dir, path_of, recordings  # noqa: E402
from ahrec.media.audio import extract_audio, iter_wav, read_wav, wav_info, write_wav  # noqa: E402
from ahrec.transcripts.asr import build_recognizer, transcribe_wav  # noqa: E402
from ahrec.transcripts.wer import total, word_errors  # noqa: E402

GROUPS = ("read", "command")
NON_SPEECH_VIDEO = "video/bigbuckbunny.mp4"


def longest_run(probabilities: np.ndarray, threshold: float) -> int:
    """Chunks in the longest run with p >= threshold."""
    run = best = 0
    for p in probabilities:
        run = run + 1 if p >= threshold else 0
        best = max(best, run)
    return best


def vad_rows(vad, files: list[tuple[str, str, Path]]) -> list[dict]:
    """The detector's decision and longest runs per file (all of it scored)."""
    from ahrec.transcripts.vad import CHUNK_MS

    rows = []
    for group, name, path in files:
        rate = wav_info(path)[1]
        probabilities = np.concatenate(list(vad.probabilities(iter_wav(path), rate)))
        decision = vad.decide_wav(path)
        rows.append(
            {
                "group": group,
                "file": name,
                "seconds": wav_info(path)[0] / rate,
                "speech": decision.speech,
                "longest_ms": longest_run(probabilities, vad.threshold) * CHUNK_MS,
                "longest_ms_p05": longest_run(probabilities, 0.5) * CHUNK_MS,
            }
        )
    return rows


def as_workflow_audio(source: Path, work: Path) -> Path:
    """The recording as the workflow's audio rule writes it: a 16 kHz mono wav."""
    target = work / f"{source.parent.name}-{source.stem}.wav"
    reason = extract_audio(source, target, 16000)
    if reason:
        raise SystemExit(f"{source}: {reason}")
    return target


def demo_answers(count: int, vad) -> list[tuple[float, int, int, bool]]:
    """(longest run ms, seed, audio cue, speech) for ``count`` synthetic demo answers.

    Each is a demo video's whole sound track as ``ahrec.demo.render.plan_speech``
    makes it (espeak-ng phrases, pauses, noise and hum; fluent and hesitant
    delivery alternating), at 16 kHz like the workflow's extracted audio.
    """
    from ahrec.demo import render, script, speech
    from ahrec.media.resample import resample

    topics = list(script.TOPICS)
    rows = []
    for i in range(count):
        cue = i % 2
        job = render.VideoJob(
            i, "x.mp4", f"P{i % 12}", 7 + i % 12, 1000 + i, topics[i % len(topics)],
            cue, (i // 2) % 2, cue, 0, 0, 25, 64, 64, 3.0, 8.0,
        )  # fmt: skip
        traits = render.participant_traits(job.participant_seed)
        _, answer, _ = render.plan_speech(job, traits, np.random.default_rng(job.video_seed))
        samples = resample(answer.samples, speech.SAMPLE_RATE, 16000)
        probabilities = np.concatenate(list(vad.probabilities([samples], 16000)))
        longest = longest_run(probabilities, vad.threshold) * 1000.0 * 512 / 16000
        rows.append((longest, job.video_seed, cue, vad.decide_samples(samples, 16000).speech))
    return rows


def vad_memory_child(wav: str, result: str) -> None:
    """Run the detector on ``wav`` in this (fresh) process; write time and peak RSS."""
    from ahrec.transcripts.vad import SileroVad

    vad = SileroVad()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    start = time.perf_counter()
    decision = vad.decide_wav(wav)
    report = {
        "seconds": time.perf_counter() - start,
        "speech": decision.speech,
        "peak_rss_mb_after_load": before,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    Path(result).write_text(json.dumps(report))


def vad_memory(minutes: list[float], source: Path, work: Path) -> None:
    samples, rate = read_wav(source)
    for length in minutes:
        wav = work / f"no-speech-{length:g}min.wav"
        n = int(length * 60 * rate)
        write_wav(wav, np.tile(samples, n // len(samples) + 1)[:n], rate)
        result = work / "vad-memory.json"
        subprocess.run([sys.executable, __file__, "--vad-child", str(wav), str(result)], check=True)
        report = json.loads(result.read_text())
        print(
            f"vad on {length:g} min without speech: {report['seconds']:.1f} s "
            f"({report['seconds'] / length:.2f} s per minute), speech={report['speech']}, "
            f"peak RSS {report['peak_rss_mb']:.0f} MB "
            f"(after loading: {report['peak_rss_mb_after_load']:.0f} MB)"
        )
        wav.unlink()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recognizer", default="pocketsphinx", choices=["pocketsphinx", "whisper"])
    parser.add_argument("--model", help="Whisper: hub id or local folder")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--vad", action="store_true", help="also print the gate's decisions")
    parser.add_argument("--vad-minutes", type=float, nargs="*", default=[])
    parser.add_argument(
        "--demo", type=int, default=0, help="also gate this many synthetic demo answers"
    )
    parser.add_argument("--no-wer", action="store_true", help="skip speech recognition")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--vad-child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.vad_child:
        vad_memory_child(*args.vad_child)
        return 0
    print(f"real recordings: {media_dir()}")
    out: dict = {}
    speech_files = [
        (group, r.name.split("/")[-1], path_of(r.name), r.transcript or "")
        for group in GROUPS
        for r in recordings(group)
    ]
    missing = [str(p) for _, _, p, _ in speech_files if not p.is_file()]
    if missing:
        raise SystemExit(f"missing recordings (python -m ahrec.devtools.real_media): {missing}")
    with tempfile.TemporaryDirectory(prefix="asr-wer-") as temporary:
        work = Path(temporary)
        # 16 kHz mono, as the workflow's audio rule extracts any video's track (the ALSA
        # recordings are 48 kHz; the others come out sample for sample as they are)
        speech_files = [
            (group, name, as_workflow_audio(path, work), reference)
            for group, name, path, reference in speech_files
        ]
        if not args.no_wer:
            settings = {"kind": args.recognizer, "language": "en"}
            if args.recognizer == "whisper":
                settings["model"] = args.model
            recognizer = build_recognizer(settings, args.device)
            rows = []
            for group, name, path, reference in speech_files:
                start = time.perf_counter()
                hypothesis = transcribe_wav(recognizer, path)
                elapsed = time.perf_counter() - start
                errors = word_errors(reference, hypothesis)
                rows.append((group, name, reference, hypothesis, errors, elapsed))
                print(
                    f"{group:8} {name:18} WER {errors.rate:6.1%} ({errors.errors}/"
                    f"{errors.reference_words}) {elapsed:5.1f} s\n"
                    f"    ref: {reference}\n    hyp: {hypothesis}"
                )
            print(f"\n{args.recognizer}{' ' + args.model if args.model else ''}:")
            for group in GROUPS:
                part = total(r[4] for r in rows if r[0] == group)
                print(f"  {group:8} WER {part.rate:6.1%} ({part.errors}/{part.reference_words})")
            overall = total(r[4] for r in rows)
            print(
                f"  overall  WER {overall.rate:6.1%} ({overall.errors}/{overall.reference_words})"
            )
            out["wer"] = [
                {
                    "group": g,
                    "file": n,
                    "reference": ref,
                    "hypothesis": hyp,
                    "errors": e.errors,
                    "reference_words": e.reference_words,
                    "seconds": s,
                }
                for g, n, ref, hyp, e, s in rows
            ]
        if args.vad or args.vad_minutes:
            bunny = work / "bigbuckbunny.wav"
            reason = extract_audio(path_of(NON_SPEECH_VIDEO), bunny, 16000)
            if reason:
                raise SystemExit(f"{NON_SPEECH_VIDEO}: {reason}")
        if args.vad:
            from ahrec.transcripts.vad import SileroVad

            vad = SileroVad()
            files = [(g, n, p) for g, n, p, _ in speech_files]
            files += [
                ("non_speech", r.name.split("/")[-1], as_workflow_audio(path_of(r.name), work))
                for r in recordings("non_speech")
            ]
            files.append(("non_speech", "bigbuckbunny (audio)", bunny))
            out["vad"] = vad_rows(vad, files)
            print(
                f"\nvoice-activity detector (silero, p >= {vad.threshold:g}, "
                f"min_speech_ms {vad.min_speech_ms:g}):"
            )
            for row in out["vad"]:
                print(
                    f"  {row['group']:10} {row['file']:22} {row['seconds']:5.2f} s  "
                    f"speech={row['speech']!s:5}  longest run {row['longest_ms']:5.0f} ms "
                    f"(at p >= 0.5: {row['longest_ms_p05']:5.0f} ms)"
                )
        if args.demo:
            from ahrec.transcripts.vad import SileroVad

            rows = demo_answers(args.demo, SileroVad())
            out["demo"] = [
                dict(zip(("longest_ms", "seed", "audio_cue", "speech"), r, strict=True))
                for r in rows
            ]
            shortest = min(rows)
            print(
                f"\ndemo answers: {sum(r[3] for r in rows)} of {len(rows)} pass the gate; "
                f"shortest longest run {shortest[0]:.0f} ms (seed {shortest[1]}, audio cue "
                f"{shortest[2]})"
            )
        if args.vad_minutes:
            vad_memory(args.vad_minutes, bunny, work)
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
