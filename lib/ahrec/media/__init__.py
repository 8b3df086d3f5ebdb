"""media stage of the workflow."""
