"""Settings of the built-in demo corpus, validated before any video is made.

Generating a corpus takes a while; a bad value (splits that do not add up, a
reliability that plants no signal) should fail at once with a message naming
the key, not after half the videos are written.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ahrec.errors import ConfigError

SPLITS: tuple[str, ...] = ("train", "val", "test")
MODALITIES: tuple[str, ...] = ("text", "audio", "face", "scene")
# Kinds of degenerate video the corpus can hold (see DemoSettings.degenerate).
DEGENERATE_KINDS: tuple[str, ...] = ("no_face", "very_short", "silent", "no_transcript")


class DemoSettingsError(ConfigError, ValueError):
    """A demo setting is invalid; the message names the key (``demo.<key>``).

    A ValueError as well as a ConfigError so that callers catching either work.
    """


def _default_splits() -> dict[str, int]:
    return {"train": 14, "val": 5, "test": 5}


def _default_degenerate() -> dict[str, float]:
    return dict.fromkeys(DEGENERATE_KINDS, 0.0)


def _is_number(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, int | float)


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
    transcript at all) is exercised at known rates: ``no_face`` (the person
    sits with their back to the camera: no face in any frame), ``very_short``
    (a 0.2-0.4 s clip), ``silent`` (an audio track of digital silence) and
    ``no_transcript`` (no transcript in the list and no YAML). The cases are disjoint and come on top of
    ``test_videos_without_transcript``; all zero (the default) leaves the
    corpus exactly as without the setting.
    """

    participants: int = 24
    questions_per_participant: int = 3
    split_participants: dict[str, int] = field(default_factory=_default_splits)
    seed: int = 2026
    min_seconds: float = 3.0
    max_seconds: float = 8.0
    fps: int = 25
    width: int = 320
    height: int = 240
    cue_reliability: float | dict[str, float] = 0.75
    test_videos_without_transcript: int = 4
    degenerate: dict[str, float] = field(default_factory=_default_degenerate)

    def __post_init__(self) -> None:
        if isinstance(self.degenerate, Mapping):
            # Kinds left out are 0 (none of them), as the schema's defaults say.
            object.__setattr__(self, "degenerate", {**_default_degenerate(), **self.degenerate})
        if isinstance(self.cue_reliability, Mapping):
            object.__setattr__(self, "cue_reliability", dict(self.cue_reliability))
        self.validate()

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any] | None) -> DemoSettings:
        """Settings from ``config["demo"]``; missing keys take their defaults.

        Unknown keys raise rather than being ignored: a misspelt key silently
        falling back to a default is the classic way a rerun "changes nothing".
        """
        cfg = dict(cfg or {})
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(cfg) - known)
        if unknown:
            raise DemoSettingsError(
                f"demo.{unknown[0]}: unknown setting"
                + (f" (also unknown: {', '.join(unknown[1:])})" if len(unknown) > 1 else "")
                + f"; known settings are: {', '.join(sorted(known))}"
            )
        if "split_participants" in cfg:
            splits = cfg["split_participants"]
            if not isinstance(splits, Mapping):
                raise DemoSettingsError(
                    "demo.split_participants: expected a mapping like "
                    "{train: 14, val: 5, test: 5}, got " + repr(splits)
                )
            cfg["split_participants"] = dict(splits)
        return cls(**cfg)

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
        """Raise DemoSettingsError naming the first bad key."""
        ints = (
            "participants",
            "questions_per_participant",
            "seed",
            "fps",
            "width",
            "height",
            "test_videos_without_transcript",
        )
        for key in ints:
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int):
                raise DemoSettingsError(f"demo.{key}: expected an integer, got {value!r}")
        for key in ("min_seconds", "max_seconds"):
            value = getattr(self, key)
            if not _is_number(value):
                raise DemoSettingsError(f"demo.{key}: expected a number, got {value!r}")
        if self.participants < 3:
            raise DemoSettingsError(
                f"demo.participants: need at least 3 (one per split), got {self.participants}"
            )
        if not 1 <= self.questions_per_participant <= 20:
            raise DemoSettingsError(
                "demo.questions_per_participant: must be between 1 and 20, "
                f"got {self.questions_per_participant}"
            )
        self._validate_splits()
        self._validate_degenerate()
        if self.seed < 0:
            raise DemoSettingsError(f"demo.seed: must be >= 0, got {self.seed}")
        if self.min_seconds < 1:
            raise DemoSettingsError(f"demo.min_seconds: must be >= 1, got {self.min_seconds}")
        if self.max_seconds < self.min_seconds:
            raise DemoSettingsError(
                f"demo.max_seconds: must be >= demo.min_seconds ({self.min_seconds}), "
                f"got {self.max_seconds}"
            )
        if self.max_seconds > 600:
            raise DemoSettingsError(f"demo.max_seconds: must be <= 600, got {self.max_seconds}")
        if not 1 <= self.fps <= 120:
            raise DemoSettingsError(f"demo.fps: must be between 1 and 120, got {self.fps}")
        for key in ("width", "height"):
            value = getattr(self, key)
            if not 64 <= value <= 3840:
                raise DemoSettingsError(f"demo.{key}: must be between 64 and 3840, got {value}")
            if value % 2:
                raise DemoSettingsError(
                    f"demo.{key}: must be even (H.264 with yuv420p needs even sizes), got {value}"
                )
        self._validate_reliability()
        n_test = self.split_participants["test"] * self.questions_per_participant
        if not 0 <= self.test_videos_without_transcript <= n_test:
            raise DemoSettingsError(
                "demo.test_videos_without_transcript: must be between 0 and the number of "
                f"test videos ({n_test}), got {self.test_videos_without_transcript}"
            )

    def _validate_reliability(self) -> None:
        value = self.cue_reliability
        if isinstance(value, Mapping):
            if set(value) != set(MODALITIES):
                unknown = sorted(map(str, set(value) - set(MODALITIES)))
                missing = [m for m in MODALITIES if m not in value]
                problem = f"unknown {', '.join(unknown)}" if unknown else ""
                if missing:
                    problem += ("; " if problem else "") + f"missing {', '.join(missing)}"
                raise DemoSettingsError(
                    "demo.cue_reliability: a mapping needs exactly the modalities "
                    f"{', '.join(MODALITIES)} ({problem})"
                )
            items = [(f"demo.cue_reliability.{m}", value[m]) for m in MODALITIES]
        else:
            items = [("demo.cue_reliability", value)]
        for key, number in items:
            if not _is_number(number):
                raise DemoSettingsError(
                    f"{key}: expected a number (or, for demo.cue_reliability, a mapping "
                    f"of {', '.join(MODALITIES)} to numbers), got {number!r}"
                )
            if not 0.5 <= number <= 1.0:
                raise DemoSettingsError(
                    f"{key}: must be between 0.5 (no signal) and 1.0 (perfect), got {number}"
                )

    def _validate_degenerate(self) -> None:
        rates = self.degenerate
        if not isinstance(rates, Mapping):
            raise DemoSettingsError(
                "demo.degenerate: expected a mapping like "
                f"{{{', '.join(f'{k}: 0.0' for k in DEGENERATE_KINDS)}}}, got {rates!r}"
            )
        unknown = sorted(map(str, set(rates) - set(DEGENERATE_KINDS)))
        if unknown:
            raise DemoSettingsError(
                f"demo.degenerate.{unknown[0]}: unknown kind of degenerate video; "
                f"known kinds are: {', '.join(DEGENERATE_KINDS)}"
            )
        missing = [kind for kind in DEGENERATE_KINDS if kind not in rates]
        if missing:
            raise DemoSettingsError(
                f"demo.degenerate.{missing[0]}: missing (give every kind a share, 0 for none)"
            )
        for kind in DEGENERATE_KINDS:
            rate = rates[kind]
            if not _is_number(rate) or not 0.0 <= rate <= 1.0:
                raise DemoSettingsError(
                    f"demo.degenerate.{kind}: must be a share between 0 and 1, got {rate!r}"
                )
        total = sum(rates.values())
        if total > 1.0:
            raise DemoSettingsError(
                "demo.degenerate: the shares are of disjoint sets of videos and must add up "
                f"to at most 1, they add up to {total:g}"
            )

    def _validate_splits(self) -> None:
        splits = self.split_participants
        if not isinstance(splits, Mapping):
            raise DemoSettingsError(
                f"demo.split_participants: expected a mapping like {_default_splits()}, "
                f"got {splits!r}"
            )
        if set(splits) != set(SPLITS):
            raise DemoSettingsError(
                "demo.split_participants: needs exactly the keys train, val and test, "
                f"got {', '.join(map(str, splits)) or 'none'}"
            )
        for name in SPLITS:
            count = splits[name]
            if isinstance(count, bool) or not isinstance(count, int) or count < 1:
                raise DemoSettingsError(
                    f"demo.split_participants.{name}: must be an integer >= 1, got {count!r}"
                )
            if count * self.questions_per_participant < 2:
                raise DemoSettingsError(
                    f"demo.split_participants.{name}: the split needs at least 2 videos so "
                    "that both labels appear; raise it or demo.questions_per_participant"
                )
        total = sum(splits.values())
        if total != self.participants:
            raise DemoSettingsError(
                "demo.split_participants: the train/val/test counts must add up to "
                f"demo.participants ({self.participants}), they add up to {total}"
            )
