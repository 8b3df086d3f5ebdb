"""Rule embed_tfidf: TF-IDF fitted on training transcripts, applied to all."""

import _lib  # noqa: F401  (puts lib/ on sys.path)
from ahrec.runtime import paths, rule_logging
from ahrec.stages.embeddings import embed_tfidf, spec_from_params

with rule_logging(snakemake.log[0], snakemake.threads):
    embed_tfidf(
        spec_from_params("text", snakemake.wildcards.encoder, snakemake.params.spec),
        paths(snakemake.input.transcripts),
        snakemake.params.train_ids,
        snakemake.output[0],
    )
