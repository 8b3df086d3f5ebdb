"""The prototype-augmented multimodal fusion: its model, its training step, its ensemble and its search."""
