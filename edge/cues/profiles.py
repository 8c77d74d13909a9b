"""Athlete profiles: one runner's height, usual speed, focus cues, threshold overrides and
switched-off cues.

A profile adjusts the catalogue for one person; :func:`build_rules` applies it and gives the
evaluator one :class:`CueRule` per cue.  Profiles come from the ``[[athletes]]`` tables of
the config file (validated by :func:`edge.cues.settings.parse_athletes`)::

    [[athletes]]
    name = "Ana"
    height_cm = 168
    speed_mps = 3.2
    focus = ["posture.run_tall"]
    disabled = ["legs.knee_drive"]
    [athletes.overrides.legs.overstride]
    warn = 16
    fault = 23

An override sets the limits outright: they are this runner's own, so a speed-scaled cue
with an override no longer moves with speed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from edge.cues.catalogue import CATALOGUE, Cue, SpeedScaling, Thresholds

#: ``CueResult.reason`` of a cue that was switched off (globally or for the athlete).
REASON_OFF = "switched off"


@dataclass(frozen=True, slots=True)
class AthleteProfile:
    """One runner.

    ``height_cm`` (``None``: unknown) gives the gait stage a pixel → cm scale;
    ``speed_mps`` (``None``: unknown) is the runner's usual speed, which speed-scaled limits
    use when the session sets none; ``focus`` are the one or two cues the runner's LED and
    buzzer follow; ``overrides`` maps a cue id to replaced limits
    (``{"legs.overstride": {"fault": 23}}``); ``disabled`` holds cue ids never judged for
    this runner.
    """

    name: str
    height_cm: float | None = None
    overrides: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    disabled: frozenset[str] = frozenset()
    speed_mps: float | None = None
    focus: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CueRule:
    """A catalogue cue as it applies right now: effective thresholds (at the reference
    speed when ``speed`` scales them), on or off."""

    cue: Cue
    thresholds: Thresholds | None
    enabled: bool = True
    speed: SpeedScaling | None = None

    def thresholds_at(self, speed_mps: float | None) -> Thresholds | None:
        """The limits at a running speed (``None``: unknown, the most lenient band)."""
        if self.thresholds is None or self.speed is None:
            return self.thresholds
        return self.speed.at(self.thresholds, speed_mps)


def build_rules(
    profile: AthleteProfile | None = None,
    disabled: Iterable[str] = (),
    catalogue: tuple[Cue, ...] = CATALOGUE,
) -> tuple[CueRule, ...]:
    """One rule per cue, in priority order, with the profile's overrides applied.

    ``disabled`` are cue ids switched off for everyone (config or a run-time command).
    Overrides are assumed valid (the config loader checked them); an overridden cue keeps
    its limits whatever the speed.
    """
    off = set(disabled) | (set(profile.disabled) if profile else set())
    overrides = profile.overrides if profile else {}
    rules = []
    for cue in catalogue:
        thresholds, speed = cue.thresholds, cue.speed
        if thresholds is not None and cue.id in overrides:
            thresholds, speed = thresholds.with_limits(overrides[cue.id]), None
        rules.append(CueRule(cue, thresholds, cue.id not in off, speed))
    return tuple(rules)
