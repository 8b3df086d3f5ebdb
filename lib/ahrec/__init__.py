"""ahrec: video-level ambivalence/hesitancy recognition.

The importable library behind the Snakemake workflow. Every piece of logic the
workflow runs lives here so that it can be unit-tested without Snakemake; the
workflow's ``scripts/`` only adapt Snakemake's objects to these functions.
"""

__version__ = "0.1.0"
