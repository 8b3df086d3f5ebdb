"""Rule transcripts: corpus transcripts of one shard, completed by speech recognition."""

import _lib  # noqa: F401  (puts lib/ on sys.path)
from ahrec.runtime import rule_logging
from ahrec.transcripts.steps import transcripts_shard

params = snakemake.params
with rule_logging(snakemake.log[0], snakemake.threads):
    transcripts_shard(
        params.videos,
        params.wavs,
        snakemake.output[0],
        asr=params.asr,
        device=params.device,
        vad=params.vad,
    )
