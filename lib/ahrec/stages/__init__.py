"""One function per workflow step: plain paths and values in, files out.

The Snakemake scripts call these and nothing else, so every step can be
run and tested without Snakemake.
"""
