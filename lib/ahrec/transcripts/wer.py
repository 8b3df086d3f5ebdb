"""Word error rate: how far a recognised transcript is from what was said.

The standard measure: the fewest word substitutions, deletions and insertions
that turn the hypothesis into the reference (a word-level Levenshtein
distance), over the number of reference words. Both texts are lower-cased and
stripped of punctuation first, so "Mr. Dashwood," and "mr dashwood" agree;
nothing else is normalised ("ten" and "10" differ, as do "mister" and "mr").
A group's rate is its total errors over its total reference words (so a long
sentence weighs more than a short command), not a mean of per-file rates.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

_NOT_WORD = re.compile(r"[^\w']+")


def words(text: str | None) -> list[str]:
    """Lower-cased words without punctuation (apostrophes inside a word are kept)."""
    cleaned = _NOT_WORD.sub(" ", (text or "").lower().replace("_", " "))
    return [word.strip("'") for word in cleaned.split() if word.strip("'")]


def edit_distance(reference: list[str], hypothesis: list[str]) -> int:
    """Fewest substitutions, deletions and insertions between two word lists."""
    previous = list(range(len(hypothesis) + 1))
    for i, ref_word in enumerate(reference, start=1):
        current = [i] + [0] * len(hypothesis)
        for j, hyp_word in enumerate(hypothesis, start=1):
            current[j] = min(
                previous[j] + 1,  # deletion
                current[j - 1] + 1,  # insertion
                previous[j - 1] + (ref_word != hyp_word),  # substitution or match
            )
        previous = current
    return previous[-1]


@dataclass(frozen=True)
class WordErrors:
    """Errors and reference words of one file or of a group of them."""

    errors: int
    reference_words: int

    @property
    def rate(self) -> float:
        return self.errors / self.reference_words if self.reference_words else 0.0


def word_errors(reference: str, hypothesis: str | None) -> WordErrors:
    """One file's errors (an absent hypothesis deletes every reference word)."""
    ref = words(reference)
    return WordErrors(edit_distance(ref, words(hypothesis)), len(ref))


def total(parts: Iterable[WordErrors]) -> WordErrors:
    """A group's errors: the sums of its files' errors and reference words."""
    items = list(parts)
    return WordErrors(sum(p.errors for p in items), sum(p.reference_words for p in items))
