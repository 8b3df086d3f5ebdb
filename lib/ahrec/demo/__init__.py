"""The built-in demo corpus: a small synthetic corpus in the BAH layout.

It lets ``snakemake results/submission.csv`` run end to end on a fresh clone,
offline, on a laptop CPU. Every video has real speech (espeak-ng), a real face
(photos shipped by scikit-image and matplotlib) and an ambivalence/hesitancy
label planted with noise in every modality (text, audio, face, scene), so each
modality alone is above chance, none is perfect, and fusion has something to
gain. ``demo_cues.csv`` records the planted cues for analysis
(``ahrec.demo.ceilings`` turns them into the best score a model could reach).

The generator (OpenCV, ffmpeg-python) is imported on first use only, so that
reading settings or cue tables does not need the media stack.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ahrec.demo.settings import DemoSettings, DemoSettingsError

if TYPE_CHECKING:
    from ahrec.demo.fingerprint import corpus_fingerprint
    from ahrec.demo.generator import generate_demo_corpus, plan_corpus

_LAZY = {
    "corpus_fingerprint": "ahrec.demo.fingerprint",
    "generate_demo_corpus": "ahrec.demo.generator",
    "plan_corpus": "ahrec.demo.generator",
}

__all__ = [
    "DemoSettings",
    "DemoSettingsError",
    "corpus_fingerprint",
    "generate_demo_corpus",
    "plan_corpus",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
