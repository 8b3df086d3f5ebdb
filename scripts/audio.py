"""Rule audio: the audio track as 16 kHz mono wav."""

import _lib  # noqa: F401  (puts lib/ on sys.path)
from ahrec.media.steps import extract_audio_file
from ahrec.runtime import rule_logging

with rule_logging(snakemake.log[0], snakemake.threads):
    extract_audio_file(
        snakemake.input.video,
        snakemake.output.wav,
        sample_rate=snakemake.params.sample_rate,
        has_audio=snakemake.params.has_audio,
        max_seconds=snakemake.params.max_seconds,
    )
