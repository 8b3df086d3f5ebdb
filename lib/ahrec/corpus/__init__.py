"""corpus stage of the workflow."""
