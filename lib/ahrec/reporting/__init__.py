"""Summaries of a run for people: benchmarks, tables, plots."""
