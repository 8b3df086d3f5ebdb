"""Whether the demo generator's external tools are here, for the tests that render a corpus.

The demo speaks with espeak-ng and encodes with ffmpeg; without them those
tests skip (with this reason) instead of failing on a missing binary.
"""

import shutil

import pytest

TOOLS = shutil.which("ffmpeg") is not None and shutil.which("espeak-ng") is not None
needs_tools = pytest.mark.skipif(not TOOLS, reason="ffmpeg and espeak-ng are needed")
