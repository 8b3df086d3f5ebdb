"""Exceptions that carry what a user needs to fix a problem.

A workflow that fails deep inside a rule with a stack trace wastes a user's
afternoon; these errors name the file, the line and the fix instead.
"""

from __future__ import annotations

from collections.abc import Sequence


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


ELLIPSIS = "..."


def quote(value: object, limit: int = 80) -> str:
    """A user-supplied value as a message echoes it: ``repr``, cut to ``limit`` characters.

    Fields of a list or a manifest can be hundreds of thousands of characters
    long and hold line breaks or control characters; echoed raw they bury the
    message or split it into lines that name no file. ``repr`` escapes line
    breaks and control characters, and a value over ``limit`` characters is
    cut, the cut marked with ``...`` after the closing quote.
    """
    if isinstance(value, str | bytes) and len(value) > limit:
        return repr(value[:limit]) + ELLIPSIS
    shown = repr(value)
    return shown if len(shown) <= limit + 2 else shown[:limit] + ELLIPSIS


def quote_all(values: Sequence[object], limit: int = 80, most: int = 5) -> str:
    """Values joined by ``, ``, each ``quote``d, the first ``most`` of them only."""
    shown = ", ".join(quote(value, limit) for value in values[:most])
    more = len(values) - most
    return shown + (f" and {more:,} more" if more > 0 else "")


def one_line(text: str, limit: int = 200) -> str:
    """Text (a path, a line of a file) shown as it is when printable, on one line and bounded.

    Unlike ``quote`` it adds no quotes, so a plain path reads as a path; a
    character that is not printable (a line break, a control character) is
    shown as its escape, and text over ``limit`` characters is cut, the cut
    marked with ``...``.
    """
    cut = text[:limit]
    shown = "".join(
        char if char.isprintable() else char.encode("unicode_escape").decode("ascii")
        for char in cut
    )
    return shown + (ELLIPSIS if len(text) > limit else "")
