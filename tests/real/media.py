"""The real recordings the tests in this folder use, or a clear skip.

They are fetched by ``setup.sh`` (``python -m ahrec.devtools.real_media``), not
by the tests: tests never touch the network. Locally a missing folder skips
these tests with the command that fetches it; on CI (``CI=true``) it fails,
since CI runs setup and a skip there would hide a broken fetch.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ahrec.devtools.real_media import Recording, media_dir, missing, path_of, recordings

FETCH = ".venv/bin/python -m ahrec.devtools.real_media"


def require_real_media() -> Path:
    """The real-media folder, verified; skip (locally) or fail (CI) when it is not there."""
    problems = missing()
    if problems:
        message = f"real recordings missing or changed ({problems[0]}, ...): run `{FETCH}`"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return media_dir()


__all__ = ["Recording", "path_of", "recordings", "require_real_media"]
