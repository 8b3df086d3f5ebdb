"""The unimodal models: one per modality, each giving probabilities and an embedding.

``kinds`` declares the model kinds (light, read at parse time); ``base`` builds
and loads models; ``steps`` trains one with out-of-fold embeddings for the fusion.
"""
