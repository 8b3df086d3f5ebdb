"""What the built-in demo corpus looks like: its options, declared once.

These are the options of the demo corpus format (``corpus: {type: demo, ...}``;
``ahrec.corpus.formats.DemoSpec`` adds where the corpus is generated): the
configuration is checked against them, with one message per problem naming the
key, and ``docs/configuration.md`` lists them. Generating a corpus takes a while,
so a bad value (splits that do not add up, a reliability that plants no signal)
fails when the configuration is read, not after half the videos are written.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ahrec.errors import ConfigError
from ahrec.kinds import check_field, count, number, option, parse_options, random_seed

SPLITS: tuple[str, ...] = ("train", "val", "test")
MODALITIES: tuple[str, ...] = ("text", "audio", "face", "scene")
# Kinds of degenerate video the corpus can hold (see DemoSettings.degenerate).
DEGENERATE_KINDS: tuple[str, ...] = ("no_face", "very_short", "silent", "no_transcript")


class DemoSettingsError(ConfigError, ValueError):
    """A demo setting is invalid; the message names the key.

    A ValueError as well as a ConfigError so that callers catching either work
    (``parse_options`` reports a ValueError of ``__post_init__`` as a problem).
    """


def _default_splits() -> dict[str, int]:
    return {"train": 14, "val": 5, "test": 5}


def _default_degenerate() -> dict[str, float]:
    return dict.fromkeys(DEGENERATE_KINDS, 0.0)


@dataclass(frozen=True)
class DemoSettings:
    """What the demo corpus looks like: its size, splits, videos and signal strength.

    ``cue_reliability`` is the probability that one modality shows the cue that
    agrees with the video's label; each modality draws on its own, so every
    modality alone is above chance, none is perfect, and they complement each
    other (which is what a fusion model should exploit). One number applies to
    every modality; a mapping ``{text, audio, face, scene}`` sets each on its
    own (to make one modality the strong one, as in real corpora).

    ``degenerate`` maps each kind in ``DEGENERATE_KINDS`` to the share of
    videos made that way, so that the workflow's handling of bad inputs (no
    face found, a clip too short to say anything, a muted microphone, no
    transcript at all) is exercised at known rates. The cases are disjoint and
    come on top of ``test_videos_without_transcript``; all zero (the default)
    leaves the corpus exactly as without the setting.
    """

    participants: int = count(24, "people in the corpus (at least 3: one per split)", low=3)
    questions_per_participant: int = count(3, "videos per person", high=20)
    split_participants: dict[str, int] = option(
        default_factory=_default_splits,
        doc="participants per split (participant-disjoint): train, val and test, "
        "adding up to participants",
        low=1,
    )
    seed: int = random_seed(2026, "seed of everything the generator draws")
    min_seconds: float = number(3.0, "shortest answer (seconds)", low=1.0)
    max_seconds: float = number(
        8.0, "longest answer (seconds, at least min_seconds)", low=1.0, high=600.0
    )
    fps: int = count(25, "frames per second", high=120)
    width: int = count(
        320, "frame width (even: H.264 with yuv420p needs even sizes)", low=64, high=3840
    )
    height: int = count(240, "frame height (even)", low=64, high=3840)
    cue_reliability: float | dict[str, float] = option(
        0.75,
        "probability that a modality's planted cue agrees with the label (0.5 no signal, "
        "1 perfect); one number for every modality, or a mapping of text, audio, face "
        "and scene to one each",
        low=0.5,
        high=1.0,
    )
    test_videos_without_transcript: int = count(
        4,
        "test videos listed without a transcript (speech recognition fills them in); "
        "at most the number of test videos",
        low=0,
    )
    degenerate: dict[str, float] = option(
        default_factory=_default_degenerate,
        doc="share of videos made degenerate, per kind (disjoint, drawn from the seed within "
        "each split and label, on top of test_videos_without_transcript, adding up to at "
        "most 1; a kind left out is 0): no_face (the person turned away, no face), "
        "very_short (a 0.2-0.4 s clip), silent (a muted audio track), no_transcript "
        "(none in the list, no YAML)",
        low=0.0,
        high=1.0,
    )

    def __post_init__(self) -> None:
        if isinstance(self.degenerate, Mapping):
            # Kinds left out are 0 (none of them).
            object.__setattr__(self, "degenerate", {**_default_degenerate(), **self.degenerate})
        if isinstance(self.cue_reliability, Mapping):
            object.__setattr__(self, "cue_reliability", dict(self.cue_reliability))
        if isinstance(self.split_participants, Mapping):
            object.__setattr__(self, "split_participants", dict(self.split_participants))
        self.validate()

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any] | None, where: str = "corpus") -> DemoSettings:
        """Settings from a mapping of options (missing keys take their defaults).

        Keys that are not options raise (a misspelt key silently falling back to a
        default is the classic way a rerun "changes nothing"), and so does every
        other problem, all in one DemoSettingsError naming ``where.<key>``.
        """
        settings, problems = parse_options(where, cls, cfg or {})
        if problems:
            raise DemoSettingsError("; ".join(problems))
        assert settings is not None
        return settings

    def settings(self) -> dict[str, Any]:
        """The demo settings alone, as plain values (what the generator depends on)."""
        return {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(DemoSettings)}

    @property
    def n_videos(self) -> int:
        """How many videos the corpus holds."""
        return self.participants * self.questions_per_participant

    @property
    def reliabilities(self) -> dict[str, float]:
        """``cue_reliability`` of each modality (the same for all when one number)."""
        if isinstance(self.cue_reliability, Mapping):
            return {m: float(self.cue_reliability[m]) for m in MODALITIES}
        return dict.fromkeys(MODALITIES, float(self.cue_reliability))

    def validate(self) -> None:
        """Raise DemoSettingsError naming the first bad key.

        Each value is held to its option's type and bounds (as when read from a
        configuration), then the options are checked against each other.
        """
        for fld in dataclasses.fields(DemoSettings):
            problem = check_field(fld.name, DemoSettings, fld.name, getattr(self, fld.name))
            if problem:
                raise DemoSettingsError(problem)
        problem = self._mismatch()
        if problem:
            raise DemoSettingsError(problem)

    def _mismatch(self) -> str | None:
        """The first problem between options whose values are each valid, or None."""
        splits = self.split_participants
        if set(splits) != set(SPLITS):
            return (
                "split_participants: needs exactly the keys train, val and test, "
                f"got {', '.join(map(str, splits)) or 'none'}"
            )
        for name in SPLITS:
            if splits[name] * self.questions_per_participant < 2:
                return (
                    f"split_participants.{name}: the split needs at least 2 videos so that "
                    "both labels appear; raise it or questions_per_participant"
                )
        if sum(splits.values()) != self.participants:
            return (
                "split_participants: the train/val/test counts must add up to "
                f"participants ({self.participants}), they add up to {sum(splits.values())}"
            )
        if self.max_seconds < self.min_seconds:
            return (
                f"max_seconds: must be at least min_seconds ({self.min_seconds}), "
                f"got {self.max_seconds}"
            )
        for key in ("width", "height"):
            if getattr(self, key) % 2:
                return (
                    f"{key}: must be even (H.264 with yuv420p needs even sizes), "
                    f"got {getattr(self, key)}"
                )
        reliability = self.cue_reliability
        if isinstance(reliability, Mapping) and set(reliability) != set(MODALITIES):
            unknown = sorted(map(str, set(reliability) - set(MODALITIES)))
            missing = [m for m in MODALITIES if m not in reliability]
            found = [f"unknown {', '.join(unknown)}"] if unknown else []
            found += [f"missing {', '.join(missing)}"] if missing else []
            return (
                "cue_reliability: a mapping needs exactly the modalities "
                f"{', '.join(MODALITIES)} ({'; '.join(found)})"
            )
        unknown = sorted(map(str, set(self.degenerate) - set(DEGENERATE_KINDS)))
        if unknown:
            return (
                f"degenerate.{unknown[0]}: unknown kind of degenerate video; "
                f"known kinds are: {', '.join(DEGENERATE_KINDS)}"
            )
        total = sum(self.degenerate.values())
        if total > 1.0:
            return (
                "degenerate: the shares are of disjoint sets of videos and must add up "
                f"to at most 1, they add up to {total:g}"
            )
        n_test = splits["test"] * self.questions_per_participant
        if self.test_videos_without_transcript > n_test:
            return (
                "test_videos_without_transcript: must be at most the number of test "
                f"videos ({n_test}), got {self.test_videos_without_transcript}"
            )
        return None


def _plain(value: Any) -> Any:
    return dict(value) if isinstance(value, Mapping) else value
