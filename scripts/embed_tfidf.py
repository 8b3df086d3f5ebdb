"""Rule embed_tfidf: TF-IDF fitted on training transcripts, applied to all."""

import _lib  # noqa: F401  (puts lib/ on sys.path)
from ahrec.embeddings.kinds import EncoderSpec
from ahrec.embeddings.steps import embed_tfidf
from ahrec.runtime import paths, rule_logging

with rule_logging(snakemake.log[0], snakemake.threads):
    embed_tfidf(
        EncoderSpec.from_params(snakemake.params.spec),
        paths(snakemake.input.transcripts),
        snakemake.params.train_ids,
        snakemake.output[0],
    )
