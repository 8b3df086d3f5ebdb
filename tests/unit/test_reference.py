"""The configuration reference is generated from what validates the configuration, and is current."""

from pathlib import Path

from ahrec.corpus.formats import FORMATS
from ahrec.embeddings.kinds import ENCODERS
from ahrec.faces.kinds import DETECTORS
from ahrec.fusion.params import FusionParams, SearchOptions
from ahrec.kinds import describe_options
from ahrec.reference import render
from ahrec.transcripts.kinds import RECOGNIZERS
from ahrec.unimodal.kinds import UNIMODAL_KINDS

REPO = Path(__file__).resolve().parents[2]


def test_docs_configuration_md_is_the_generated_reference():
    current = (REPO / "docs" / "configuration.md").read_text()
    assert current == render(), "regenerate: python -m ahrec.reference > docs/configuration.md"


def test_every_option_of_every_kind_is_described():
    classes = [
        row.options
        for table in (FORMATS, DETECTORS, RECOGNIZERS, ENCODERS, UNIMODAL_KINDS)
        for row in table
    ]
    for cls in [*classes, FusionParams, SearchOptions]:
        for row in describe_options(cls):
            assert row["doc"], f"{cls.__name__}.{row['name']} has no description"
