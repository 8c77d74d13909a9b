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
ATHLETE_KEYS = ("name", "height_cm", "speed_mps", "focus", "disabled", "overrides")
#: A runner acts on one thing at a time: one or two focus cues.
MAX_FOCUS_CUES = 2
#: Running speeds a speed setting accepts (m/s): a walk-jog to a sprint.
SPEED_LIMITS_MPS = (1.0, 12.0)


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


def focus_problem(cue_ids: Sequence[str]) -> str | None:
    """What is wrong with ``cue_ids`` as focus cues (``None``: nothing): at most
    :data:`MAX_FOCUS_CUES`, no repeats, each a validated cue (one that can alert)."""
    if len(cue_ids) > MAX_FOCUS_CUES:
        return f"expected at most {MAX_FOCUS_CUES} focus cues, got {len(cue_ids)}"
    if len(set(cue_ids)) != len(cue_ids):
        return "expected different cue ids, got a repeat"
    validated = [c.id for c in CUES_BY_ID.values() if c.validated]
    for cue_id in cue_ids:
        cue = CUES_BY_ID.get(cue_id)
        if cue is None or not cue.validated:
            why = "information only" if cue is not None and cue.information_only else "unknown"
            return f"{cue_id!r} cannot be a focus cue ({why}); expected one of: " + ", ".join(
                validated
            )
    return None


@dataclass(frozen=True)
class FocusList(Check):
    """One or two validated cue ids (e.g. ``["posture.run_tall"]``); ``[]``: none."""

    expected = f"a list of at most {MAX_FOCUS_CUES} validated cue ids"

    def __call__(self, value: Any) -> tuple[str, ...]:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.fail(value)
        problem = focus_problem(value)
        if problem is not None:
            raise Invalid(problem)
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
    disabled: tuple[str, ...] = setting((), CueIdList(), "Cue ids switched off for everyone.")
    speed_mps: float = setting(
        0.0,
        Number(0.0, SPEED_LIMITS_MPS[1]),
        "Running speed in m/s when known, e.g. the treadmill's belt speed (0: not known); "
        "speed-scaled limits use it. Set per session with the MQTT command set_speed.",
    )
    focus: tuple[str, ...] = setting(
        (),
        FocusList(),
        "One or two cue ids the runner's LED and buzzer follow ([]: the stride grade); per "
        "athlete with [[athletes]] focus, per session with the MQTT command set_focus.",
    )
    # 3: the smallest median that outvotes a single odd stride (it brought the per-cue flip
    # rate on the movup treadmill clip from 0.25 to 0.12, docs/cue-calibration.md section 6).
    smooth_strides: int = setting(
        3,
        Int(1, 9),
        "Each cue is judged on the median of its last n reliable readings (1: each stride "
        "alone), so one odd stride does not flip the verdict.",
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
            if cue.information_only:
                raise Invalid(
                    f"{at}: this cue is information only ({cue.information_only}): it has "
                    "no thresholds to override"
                )
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
        "speed_mps": Number(*SPEED_LIMITS_MPS),
        "focus": FocusList(),
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
        speed_mps=values.get("speed_mps"),
        focus=values.get("focus", ()),
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
    if 0.0 < cues.speed_mps < SPEED_LIMITS_MPS[0]:
        raise Invalid(
            f"cues.speed_mps: expected 0 (not known) or a running speed of "
            f"{SPEED_LIMITS_MPS[0]:g}-{SPEED_LIMITS_MPS[1]:g} m/s, got {cues.speed_mps:g}"
        )
    names = [a.name for a in athletes]
    if cues.athlete and cues.athlete not in names:
        known = ", ".join(f'"{n}"' for n in names) or "none defined"
        raise Invalid(
            f"cues.athlete: expected the name of an [[athletes]] profile ({known}), "
            f"got {show_value(cues.athlete)}"
        )
