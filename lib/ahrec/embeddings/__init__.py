"""embeddings stage of the workflow."""
