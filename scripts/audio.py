"""Rule audio: the audio track as 16 kHz mono wav."""

import _lib  # noqa: F401  (puts lib/ on sys.path)
from ahrec.runtime import rule_logging
from ahrec.stages.media import extract_audio_file

with rule_logging(snakemake.log[0], snakemake.threads):
    extract_audio_file(
        snakemake.input.video,
        snakemake.output.wav,
        sample_rate=snakemake.params.sample_rate,
        has_audio=snakemake.params.has_audio,
    )
