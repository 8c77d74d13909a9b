"""Config sections of the cue stage: ``[cues]`` and the ``[[athletes]]`` array of tables.

``[cues]`` is a flat section like the others (:class:`CuesConfig`).  ``[[athletes]]`` is an
array of nested tables, validated as a whole by :func:`parse_athletes` (also usable as the
:class:`AthleteList` check); its errors name the full path, e.g.
``athletes[1].overrides.legs.overstride.fault: expected a number between -2 and 2, got "high"``
(indices count from 0, in file order).  :func:`check_cues_settings` checks what involves
several keys at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from edge.cues.catalogue import CUE_IDS, CUES_BY_ID
from edge.cues.profiles import AthleteProfile
from edge.settings import Check, Choice, Int, Invalid, Number, Text, setting, show_value
from edge.types import CueGroup

VIEW_CHOICES = ("auto", "side", "front")
ALERT_LEVELS = ("fault", "warn")
ATHLETE_KEYS = ("name", "height_cm", "disabled", "overrides")


@dataclass(frozen=True)
class CueIdList(Check):
    """A list of cue ids from the catalogue (e.g. ``["arms.elbows_back"]``)."""

    expected = "a list of cue ids"

    def __call__(self, value: Any) -> tuple[str, ...]:
        if not isinstance(value, list):
            self.fail(value)
        for item in value:
            if item not in CUES_BY_ID:
                raise Invalid(
                    f"expected cue ids (one of: {', '.join(CUE_IDS)}), got {show_value(item)}"
                )
        return tuple(value)


@dataclass(frozen=True)
class CuesConfig:
    """``[cues]``: how strides are judged and when an alert is raised."""

    view: str = setting(
        "auto",
        Choice(VIEW_CHOICES),
        'Camera view: "auto" detects side vs front/rear from the keypoints; force "side" or '
        '"front" for a fixed mount.',
    )
    hold_strides: int = setting(
        4,
        Int(1, 50),
        "k: an alert is raised when its cue is bad in k of the last window_strides judged "
        "strides, and cleared when it is back to ok in k of them.",
    )
    window_strides: int = setting(
        6,
        Int(1, 50),
        "n: how many recent judged strides the alert rule looks at (k must be more than n/2).",
    )
    alert_level: str = setting(
        "fault",
        Choice(ALERT_LEVELS),
        'Which verdict counts as bad for alerts: "fault" or "warn" (warn or fault).',
    )
    min_confidence: float = setting(
        0.25,
        Number(0.0, 1.0),
        "A metric whose keypoint quality is below this is reported unknown, not judged.",
    )
    athlete: str = setting(
        "", Text(), "Name of the [[athletes]] profile active at start (empty: catalogue defaults)."
    )
    # legs.push_off ships switched off: on real footage its hip extension at toe-off still
    # reads implausibly low (median -6° on the treadmill clip), so its faults are not yet
    # trustworthy; switch it on with disabled = [] to try it.
    disabled: tuple[str, ...] = setting(
        ("legs.push_off",),
        CueIdList(),
        "Cue ids switched off for everyone (push-off is off until it proves reliable).",
    )


def _path(index: int, *keys: str) -> str:
    return f"athletes[{index}]" + "".join(f".{k}" for k in keys)


def _parse_overrides(raw: Any, index: int) -> dict[str, dict[str, float]]:
    where = _path(index, "overrides")
    if not isinstance(raw, dict):
        raise Invalid(f"{where}: expected a table of cue groups, got {show_value(raw)}")
    out: dict[str, dict[str, float]] = {}
    for group, cues in raw.items():
        if group not in tuple(CueGroup):
            raise Invalid(
                f"{where}.{group}: unknown cue group (expected one of: {', '.join(CueGroup)})"
            )
        if not isinstance(cues, dict):
            raise Invalid(f"{where}.{group}: expected a table of cues, got {show_value(cues)}")
        for name, limits in cues.items():
            cue_id = f"{group}.{name}"
            at = f"{where}.{cue_id}"
            cue = CUES_BY_ID.get(cue_id)
            if cue is None:
                names = [c.split(".", 1)[1] for c in CUE_IDS if c.startswith(group + ".")]
                raise Invalid(f"{at}: unknown cue (expected one of: {', '.join(names)})")
            if cue.thresholds is None:
                raise Invalid(f"{at}: this cue is not measurable and has no thresholds")
            if not isinstance(limits, dict):
                raise Invalid(f"{at}: expected a table of limits, got {show_value(limits)}")
            allowed = cue.thresholds.limits()
            check = Number(*cue.limit_range)
            parsed: dict[str, float] = {}
            for key, value in limits.items():
                if key not in allowed:
                    raise Invalid(
                        f"{at}.{key}: unknown limit (expected one of: {', '.join(allowed)})"
                    )
                try:
                    parsed[key] = check(value)
                except Invalid:
                    raise Invalid(
                        f"{at}.{key}: expected a number between {check.low:g} and "
                        f"{check.high:g} ({cue.unit}), got {show_value(value)}"
                    ) from None
            problem = cue.thresholds.with_limits(parsed).problem()
            if problem is not None:
                raise Invalid(f"{at}.{problem[0]}: {problem[1]}")
            out[cue_id] = parsed
    return out


def parse_athlete(raw: Any, index: int) -> AthleteProfile:
    """One ``[[athletes]]`` table → :class:`AthleteProfile`; errors name ``athletes[i]``."""
    if not isinstance(raw, dict):
        raise Invalid(f"{_path(index)}: expected a table ([[athletes]]), got {show_value(raw)}")
    for key in raw:
        if key not in ATHLETE_KEYS:
            raise Invalid(
                f"{_path(index, key)}: unknown key (expected one of: {', '.join(ATHLETE_KEYS)})"
            )
    if "name" not in raw:
        raise Invalid(f"{_path(index, 'name')}: missing (every athlete needs a name)")
    checks: dict[str, Check] = {
        "name": Text(allow_empty=False),
        "height_cm": Number(50, 250),
        "disabled": CueIdList(),
    }
    values: dict[str, Any] = {}
    for key, check in checks.items():
        if key in raw:
            try:
                values[key] = check(raw[key])
            except Invalid as exc:
                raise Invalid(f"{_path(index, key)}: {exc}") from None
    return AthleteProfile(
        name=values["name"],
        height_cm=values.get("height_cm"),
        overrides=_parse_overrides(raw.get("overrides", {}), index),
        disabled=frozenset(values.get("disabled", ())),
    )


def parse_athletes(raw: Any) -> tuple[AthleteProfile, ...]:
    """The whole ``[[athletes]]`` array; raises :class:`Invalid` naming the exact key."""
    if not isinstance(raw, list):
        raise Invalid(
            f"athletes: expected an array of tables ([[athletes]]), got {show_value(raw)}"
        )
    profiles = tuple(parse_athlete(item, i) for i, item in enumerate(raw))
    seen: dict[str, int] = {}
    for i, profile in enumerate(profiles):
        key = profile.name.casefold()
        if key in seen:
            raise Invalid(
                f'{_path(i, "name")}: "{profile.name}" is already the name of athletes[{seen[key]}]'
            )
        seen[key] = i
    return profiles


@dataclass(frozen=True)
class AthleteList(Check):
    """The ``[[athletes]]`` array as a :class:`Check` (messages carry the full path)."""

    expected = "an array of [[athletes]] tables"

    def __call__(self, value: Any) -> tuple[AthleteProfile, ...]:
        return parse_athletes(value)


def check_cues_settings(cues: CuesConfig, athletes: Sequence[AthleteProfile] = ()) -> None:
    """Rules across keys; raises :class:`Invalid` starting with the dotted key."""
    if cues.hold_strides > cues.window_strides:
        raise Invalid(
            f"cues.hold_strides: expected at most window_strides "
            f"({cues.window_strides}), got {cues.hold_strides}"
        )
    if 2 * cues.hold_strides <= cues.window_strides:
        raise Invalid(
            f"cues.hold_strides: expected more than half of window_strides "
            f"({cues.window_strides}) so raising and clearing cannot both hold, "
            f"got {cues.hold_strides}"
        )
    names = [a.name for a in athletes]
    if cues.athlete and cues.athlete not in names:
        known = ", ".join(f'"{n}"' for n in names) or "none defined"
        raise Invalid(
            f"cues.athlete: expected the name of an [[athletes]] profile ({known}), "
            f"got {show_value(cues.athlete)}"
        )
