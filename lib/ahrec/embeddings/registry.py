"""From a config entry to a loaded encoder.

Heavy libraries are imported only for the kind that is asked for, so that
the offline defaults never import transformers or timm and a CPU-only
install stays quick to start.
"""

from __future__ import annotations

from typing import Any

from ahrec.embeddings.specs import EncoderSpec


def build_encoder(spec: EncoderSpec, device: str = "auto", n_frames: int | None = None) -> Any:
    """Load the encoder of ``spec`` once; the caller feeds it a whole shard.

    ``device`` is the config preference (auto, cpu, cuda); it is resolved, and
    torch imported, only for the neural kinds.
    """
    kind, options = spec.kind, spec.options
    if kind == "motion_stats":
        from ahrec.embeddings.motion_stats import MotionStatsEncoder

        return MotionStatsEncoder(options)
    if kind == "hog_stats":
        from ahrec.embeddings.hog_stats import HogStatsEncoder

        return HogStatsEncoder(options)
    if kind == "opensmile":
        from ahrec.embeddings.opensmile_lld import OpenSmileEncoder

        return OpenSmileEncoder(options)
    if kind == "videomae":
        from ahrec.embeddings.videomae import VideoMAEEncoder

        if n_frames is None:
            raise ValueError("videomae needs the number of scene frames (scene.n_frames)")
        return VideoMAEEncoder(options, _torch_device(device), n_frames)
    if kind == "timm":
        from ahrec.embeddings.timm_face import TimmFaceEncoder

        return TimmFaceEncoder(options, _torch_device(device))
    if kind == "wav2vec2":
        from ahrec.embeddings.wav2vec2 import Wav2Vec2Encoder

        return Wav2Vec2Encoder(options, _torch_device(device))
    if kind == "transformer":
        from ahrec.embeddings.text_transformer import TransformerTextEncoder

        return TransformerTextEncoder(options, _torch_device(device))
    raise ValueError(f"embeddings.{spec.modality}.{spec.name}: {kind} is not a per-shard encoder")


def encoder_meta(spec: EncoderSpec) -> dict[str, Any]:
    """What a table records about the encoder that made it."""
    return {"modality": spec.modality, "encoder": spec.name, **spec.as_params()}


def _torch_device(preference: str) -> Any:
    from ahrec.embeddings.device import select_device

    return select_device(preference)
