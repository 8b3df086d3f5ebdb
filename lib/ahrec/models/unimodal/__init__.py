"""The unimodal models: one per modality, each giving probabilities and an embedding.

``build_unimodal(kind, spec, input_dim, device)`` makes a fresh model of a
configured kind; ``load_unimodal(folder, device)`` reads a saved one back.
Implementations are imported on first use (CatBoost and transformers are heavy).
"""

from ahrec.models.unimodal.base import (
    Item,
    UnimodalModel,
    build_unimodal,
    load_unimodal,
    model_class,
)

__all__ = ["Item", "UnimodalModel", "build_unimodal", "load_unimodal", "model_class"]
