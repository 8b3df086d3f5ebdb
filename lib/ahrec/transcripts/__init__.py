"""transcripts stage of the workflow."""
