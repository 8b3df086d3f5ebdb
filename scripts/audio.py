"""Rule audio: the audio track of a shard's videos as 16 kHz mono wavs."""

import _lib  # noqa: F401  (puts lib/ on sys.path)
from ahrec.media.steps import extract_audio_shard
from ahrec.runtime import rule_logging

params = snakemake.params
with rule_logging(snakemake.log[0], snakemake.threads):
    extract_audio_shard(
        params.videos,
        params.out_dir,
        snakemake.output[0],
        sample_rate=params.sample_rate,
        max_seconds=params.max_seconds,
        threads=snakemake.threads,
        extract_again=params.extract_again,
    )
