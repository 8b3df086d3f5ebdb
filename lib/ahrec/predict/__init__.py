"""Prediction on new videos with an exported ensemble, and the export itself."""
