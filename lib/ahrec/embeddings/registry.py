"""From a config entry to a loaded encoder.

Heavy libraries are imported only for the kind that is asked for, so that
the offline defaults never import transformers or timm and a CPU-only
install stays quick to start. ``IMPLEMENTATIONS`` is also what the conda
environment test reads to know which modules a rule may load.
"""

from __future__ import annotations

import importlib
from typing import Any

from ahrec.embeddings.specs import EncoderSpec

# kind -> (module, class); tfidf is fitted per corpus (ahrec.stages.embeddings.embed_tfidf).
IMPLEMENTATIONS: dict[str, tuple[str, str | None]] = {
    "motion_stats": ("ahrec.embeddings.motion_stats", "MotionStatsEncoder"),
    "hog_stats": ("ahrec.embeddings.hog_stats", "HogStatsEncoder"),
    "opensmile": ("ahrec.embeddings.opensmile_lld", "OpenSmileEncoder"),
    "videomae": ("ahrec.embeddings.videomae", "VideoMAEEncoder"),
    "timm": ("ahrec.embeddings.timm_face", "TimmFaceEncoder"),
    "wav2vec2": ("ahrec.embeddings.wav2vec2", "Wav2Vec2Encoder"),
    "transformer": ("ahrec.embeddings.text_transformer", "TransformerTextEncoder"),
    "tfidf": ("ahrec.embeddings.tfidf", None),
}
# Kinds that run a torch model on a device (the others are classical, CPU only).
NEURAL_KINDS = frozenset({"videomae", "timm", "wav2vec2", "transformer"})


def build_encoder(spec: EncoderSpec, device: str = "auto", n_frames: int | None = None) -> Any:
    """Load the encoder of ``spec`` once; the caller feeds it a whole shard.

    ``device`` is the config preference (auto, cpu, cuda); it is resolved, and
    torch imported, only for the neural kinds.
    """
    module, name = IMPLEMENTATIONS[spec.kind]
    if name is None:
        raise ValueError(
            f"embeddings.{spec.modality}.{spec.name}: {spec.kind} is fitted on the corpus, "
            "not run per shard"
        )
    cls = getattr(importlib.import_module(module), name)
    if spec.kind not in NEURAL_KINDS:
        return cls(spec.options)
    from ahrec.embeddings.device import select_device

    torch_device = select_device(device)
    if spec.kind == "videomae":
        if n_frames is None:
            raise ValueError("videomae needs the number of scene frames (scene.n_frames)")
        return cls(spec.options, torch_device, n_frames)
    return cls(spec.options, torch_device)


def encoder_meta(spec: EncoderSpec) -> dict[str, Any]:
    """What a table records about the encoder that made it."""
    return {"modality": spec.modality, "encoder": spec.name, **spec.as_params()}
