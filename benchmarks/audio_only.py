"""Audio-only recordings: the probe and the audio extraction on real voices in every container.

Re-encodes each real speech recording (``.real-media/speech``: LibriVox
readers, spoken commands, a channel announcement, noise) as ``.wav`` (copied),
``.flac``, ``.mp3``, ``.m4a``, ``.ogg``, ``.opus`` and ``.aac`` with ffmpeg,
probes each (``probe_video``) and extracts its audio (``extract_audio_track``,
16 kHz mono), and prints, per container, whether every file came out as a
readable audio-only recording with its audio, and how far the probed and the
extracted durations are from the source's.

    .venv/bin/python benchmarks/audio_only.py
"""

from __future__ import annotations

import sys
import tempfile
import time
import wave
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "lib"))
sys.path.insert(0, str(REPO))

from ahrec.devtools.real_media import path_of, recordings  # noqa: E402
from ahrec.media.audio import extract_audio_track  # noqa: E402
from ahrec.media.probe import probe_video  # noqa: E402
from tests.audio_only import CONTAINERS, make_audio  # noqa: E402


def main() -> None:
    by_container: dict[str, list[tuple[bool, float, float, float, float]]] = defaultdict(list)
    with tempfile.TemporaryDirectory() as tmp:
        for recording in recordings():
            if not recording.name.startswith("speech/"):
                continue
            source = path_of(recording.name)
            with wave.open(str(source)) as handle:
                seconds = handle.getnframes() / handle.getframerate()
            for suffix in CONTAINERS:
                target = make_audio(Path(tmp) / f"{source.stem}{suffix}", source)
                started = time.perf_counter()
                info = probe_video(target)
                probed = time.perf_counter() - started
                extracted = extract_audio_track(target, Path(tmp) / "out.wav")
                ok = (
                    info.readable
                    and not info.has_video
                    and info.has_audio
                    and extracted.reason is None
                )
                by_container[suffix].append(
                    (
                        ok,
                        abs((info.duration or 0.0) - seconds),
                        abs(extracted.seconds - seconds),
                        probed,
                        seconds,
                    )
                )
    total = sum(len(rows) for rows in by_container.values())
    print(
        f"{total} files, {sum(r[0] for v in by_container.values() for r in v)} readable audio-only"
    )
    for suffix, rows in by_container.items():
        print(
            f"{suffix:6} {len(rows)} files, all audio-only with audio: {all(r[0] for r in rows)}; "
            f"max |probed - source| {max(r[1] for r in rows):.3f} s, "
            f"max |extracted - source| {max(r[2] for r in rows):.3f} s, "
            f"probe at most {1000 * max(r[3] for r in rows):.0f} ms"
        )


if __name__ == "__main__":
    main()
