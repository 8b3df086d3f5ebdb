"""Scoring: metrics, their uncertainty, the results table and the submission."""
