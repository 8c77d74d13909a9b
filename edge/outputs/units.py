"""Numbers in the units a coach reads: cm when the runner's height is known, degrees, spm, ms.

The gait stage measures lengths in body units (leg lengths, arm lengths, shoulder widths)
because a camera sees no centimetres.  With the athlete's height a body unit becomes
centimetres through standard segment proportions; without it the value is said in words
("16 % of leg length"), never as an internal key such as ``leg_length``.  Pure functions.
"""

from __future__ import annotations

import math

#: Segment lengths as fractions of standing height, from Winter, *Biomechanics and Motor
#: Control of Human Movement* (4th ed., 2009), fig. 4.1 (after Drillis & Contini 1966):
#: leg = greater trochanter to the floor 0.530 H; arm = upper arm 0.186 H + forearm 0.146 H;
#: shoulder width (biacromial) 0.259 H.
HEIGHT_FRACTION = {"leg_length": 0.530, "arm_length": 0.332, "shoulder_width": 0.259}
_BODY_WORDS = {
    "leg_length": "leg length",
    "arm_length": "arm length",
    "shoulder_width": "shoulder width",
}
#: Unit suffixes as a person reads them (keys: the units in metric keys and cue results).
UNIT_LABELS = {
    "deg": "°",
    "ms": "ms",
    "spm": "steps/min",
    "cm": "cm",
    "percent": "%",
    "ratio": "× (ratio)",
    "s": "s",
    "leg_length": "× leg length",
    "arm_length": "× arm length",
    "shoulder_width": "× shoulder width",
}


def _finite(value: float | None) -> bool:
    return value is not None and isinstance(value, int | float) and math.isfinite(value)


def to_cm(value: float, unit: str, height_cm: float | None) -> float | None:
    """A body-unit length in cm for a runner of ``height_cm``; ``None`` if it cannot be."""
    fraction = HEIGHT_FRACTION.get(unit)
    if fraction is None or not _finite(height_cm) or not height_cm:
        return None
    return value * fraction * height_cm


def human_value(
    value: float | None, unit: str, height_cm: float | None = None, *, extra_digits: int = 0
) -> str:
    """``value`` in ``unit`` as a coach reads it, e.g. ``"12 cm"``, ``"7°"``, ``"172 spm"``.

    ``extra_digits`` adds decimals, for two numbers that would otherwise read the same
    (a value just past its limit)."""
    if not _finite(value):
        return "not measured"
    assert value is not None
    x = extra_digits
    if unit in HEIGHT_FRACTION:
        cm = to_cm(value, unit, height_cm)
        if cm is not None:
            return f"{cm:.{x}f} cm"
        return f"{100 * value:.{x}f} % of {_BODY_WORDS[unit]}"
    if unit == "deg":
        return f"{value:.{x}f}°"
    if unit == "spm":
        return f"{value:.{x}f} spm"
    if unit == "ms":
        return f"{value:.{x}f} ms"
    if unit == "cm":
        return f"{value:.{x}f} cm"
    if unit == "percent":
        return f"{value:.{1 + x}f} %"
    if unit == "ratio":
        return f"{value:.{2 + x}f}×"
    return f"{value:.{2 + x}f} {unit}".strip()


def unit_label(unit: str) -> str:
    """The column-header form of a unit (``"deg"`` → ``"°"``)."""
    return UNIT_LABELS.get(unit, unit)
