"""The built-in demo corpus: a small synthetic corpus in the BAH layout.

It lets ``snakemake results/submission.csv`` run end to end on a fresh clone,
offline, on a laptop CPU. Every video has real speech (espeak-ng), a real face
(photos shipped by scikit-image and matplotlib) and an ambivalence/hesitancy
label planted with noise in every modality (text, audio, face, scene), so each
modality alone is above chance, none is perfect, and fusion has something to
gain. ``demo_cues.csv`` records the planted cues for analysis.
"""

from ahrec.demo.fingerprint import corpus_fingerprint
from ahrec.demo.generator import generate_demo_corpus, plan_corpus
from ahrec.demo.settings import DemoSettings, DemoSettingsError

__all__ = [
    "DemoSettings",
    "DemoSettingsError",
    "corpus_fingerprint",
    "generate_demo_corpus",
    "plan_corpus",
]
