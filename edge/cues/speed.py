"""The running speed that speed-scaled limits are drawn at, and where it came from.

In order of trust: the session's speed (set with the MQTT command ``set_speed`` or the
``cues.speed_mps`` setting, e.g. the treadmill's belt speed), the athlete profile's usual
``speed_mps``, an estimate from stride length x stride rate (needs a centimetre scale, so
the athlete's height or a calibration, and an overground run past a static camera), else
unknown, and the catalogue draws the most lenient band (:class:`~edge.cues.catalogue.
SpeedScaling`).  Pure functions; :class:`~edge.cues.evaluate.CueEvaluator` keeps the recent
estimates.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from edge.cues.settings import SPEED_LIMITS_MPS
from edge.types import UNKNOWN_SPEED, RunningSpeed, Stride

#: Estimates pooled by their median: one stride's hip travel is noisy (a frame of event
#: timing is ~5 % of a stride), five give a steady value within a few seconds of running.
ESTIMATE_STRIDES = 5


def stride_speed_estimate(stride: Stride) -> float | None:
    """Stride length / stride time in m/s, when the stride length was measured in cm and
    the result is a running speed (:data:`~edge.cues.settings.SPEED_LIMITS_MPS`)."""
    length = stride.metrics.get("stride_length_cm")
    if length is None or not math.isfinite(length.value) or stride.duration <= 0:
        return None
    speed = length.value / 100.0 / stride.duration
    low, high = SPEED_LIMITS_MPS
    return speed if low <= speed <= high else None


def choose_speed(
    session_mps: float | None, athlete_mps: float | None, estimates: Sequence[float]
) -> RunningSpeed:
    """The most trusted speed known (see the module docstring)."""
    if session_mps is not None:
        return RunningSpeed(session_mps, "session")
    if athlete_mps is not None:
        return RunningSpeed(athlete_mps, "athlete")
    if estimates:
        recent = estimates[-ESTIMATE_STRIDES:]
        return RunningSpeed(round(float(np.median(recent)), 2), "estimated")
    return UNKNOWN_SPEED
