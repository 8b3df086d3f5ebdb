"""faces stage of the workflow."""
