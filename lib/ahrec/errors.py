"""Exceptions that carry what a user needs to fix a problem.

A workflow that fails deep inside a rule with a stack trace wastes a user's
afternoon; these errors name the file, the line and the fix instead.
"""

from __future__ import annotations


class AhrecError(Exception):
    """Base class of the errors this package raises on purpose."""


class ConfigError(AhrecError):
    """The configuration is invalid; the message names each bad key."""


class CorpusError(AhrecError):
    """The corpus (split files, CSV manifest, videos) is invalid.

    Collects every problem found so that a user fixes them all in one pass
    rather than one per run.
    """

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        count = len(self.problems)
        head = f"{count} problem{'s' if count != 1 else ''} in the corpus:"
        super().__init__("\n".join([head, *(f"  - {p}" for p in self.problems)]))


class ModelLoadError(AhrecError):
    """A model could not be loaded from the configured hub id, folder or file."""
