"""Athlete profiles: one runner's height, threshold overrides and switched-off cues.

A profile adjusts the catalogue for one person; :func:`build_rules` applies it and gives the
evaluator one :class:`CueRule` per cue.  Profiles come from the ``[[athletes]]`` tables of
the config file (validated by :func:`edge.cues.settings.parse_athletes`)::

    [[athletes]]
    name = "Ana"
    height_cm = 168
    disabled = ["arms.hands_shoulder_height"]
    [athletes.overrides.legs.overstride]
    warn = 0.18
    fault = 0.26
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from edge.cues.catalogue import CATALOGUE, Cue, Thresholds

#: ``CueResult.reason`` of a cue that was switched off (globally or for the athlete).
REASON_OFF = "switched off"


@dataclass(frozen=True, slots=True)
class AthleteProfile:
    """One runner.

    ``height_cm`` (``None``: unknown) gives the gait stage a pixel → cm scale;
    ``overrides`` maps a cue id to replaced limits (``{"legs.overstride": {"fault": 0.26}}``);
    ``disabled`` holds cue ids never judged for this runner.
    """

    name: str
    height_cm: float | None = None
    overrides: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    disabled: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class CueRule:
    """A catalogue cue as it applies right now: effective thresholds, on or off."""

    cue: Cue
    thresholds: Thresholds | None
    enabled: bool = True


def build_rules(
    profile: AthleteProfile | None = None,
    disabled: Iterable[str] = (),
    catalogue: tuple[Cue, ...] = CATALOGUE,
) -> tuple[CueRule, ...]:
    """One rule per cue, in priority order, with the profile's overrides applied.

    ``disabled`` are cue ids switched off for everyone (config or a run-time command).
    Overrides are assumed valid (the config loader checked them).
    """
    off = set(disabled) | (set(profile.disabled) if profile else set())
    overrides = profile.overrides if profile else {}
    rules = []
    for cue in catalogue:
        thresholds = cue.thresholds
        if thresholds is not None and cue.id in overrides:
            thresholds = thresholds.with_limits(overrides[cue.id])
        rules.append(CueRule(cue, thresholds, cue.id not in off))
    return tuple(rules)
