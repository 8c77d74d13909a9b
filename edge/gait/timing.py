"""Steps and strides from gait events, and their timing metrics.

Definitions (all times on the source clock, in seconds unless stated):

* **step**: from one leg's foot strike to the other leg's next foot strike.
  ``step_time`` is its duration; ``cadence`` = 60 / step_time, in **steps per minute**
  (both feet counted, the usual running convention: 170–190 steps/min for trained runners).
* **stride**: from one leg's foot strike to the same leg's next strike (a full gait cycle).
  ``stride_time`` is its duration.
* **contact_time** (ground contact time): foot strike to toe-off of the same contact.
* **flight_time**: this leg's toe-off to the other leg's next foot strike (negative in
  walking, where both feet are down at once — double support).
* **duty_factor**: contact_time / stride_time (running < 0.5, walking > 0.5).

A step or stride is only built from strictly alternating strikes: a strike seen twice in a
row on the same leg means one of the other leg was missed, and the interval is skipped
instead of reported as a double-length step.

**Plausibility guard.** A contact shorter than :data:`MIN_PLAUSIBLE_CONTACT` or a duty
factor above :data:`MAX_PLAUSIBLE_DUTY_FACTOR` is not running (sprinters' contacts are
~0.08 s; even slow joggers stay below a duty factor of ~0.6): the toe-off was misplaced.
Every metric that depends on that toe-off keeps its value but gets quality
:data:`IMPLAUSIBLE_QUALITY` and a note, so no consumer mistakes it for a confident value.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence

from edge.types import EventKind, GaitEvent, Leg, MetricValue, Step, Stride

# Intervals longer than this are pauses or missed events, not steps.
MAX_STEP_TIME = 1.0  # s (a slow walk is ~0.6 s per step)
MAX_STRIDE_TIME = 2.0  # s
MIN_PLAUSIBLE_CONTACT = 0.08  # s
MAX_PLAUSIBLE_DUTY_FACTOR = 0.65
IMPLAUSIBLE_QUALITY = 0.05
# Per-stride kinematic metrics (edge.gait.metrics) read at or bounded by the toe-off.
TOE_OFF_METRICS = (
    "contact_time",
    "duty_factor",
    "flight_time",
    "peak_knee_flexion_stance_deg",
    "peak_knee_flexion_swing_deg",
    "peak_thigh_angle_swing_deg",
    "hip_extension_at_toe_off_deg",
    "hip_ahead_of_ankle_midstance_leg_length",
)


def implausible_contact(contact: float, cycle: float) -> str | None:
    """Why a contact of ``contact`` s in a gait cycle (stride) of ``cycle`` s cannot be a
    running contact, or ``None`` when it can."""
    if contact < MIN_PLAUSIBLE_CONTACT:
        return f"implausible toe-off: contact {contact:.3f} s < {MIN_PLAUSIBLE_CONTACT} s"
    if cycle > 0 and contact / cycle > MAX_PLAUSIBLE_DUTY_FACTOR:
        return (
            f"implausible toe-off: duty factor {contact / cycle:.2f} > "
            f"{MAX_PLAUSIBLE_DUTY_FACTOR} (not running)"
        )
    return None


def flag_toe_off_metrics(metrics: dict[str, MetricValue], note: str) -> dict[str, MetricValue]:
    """``metrics`` with every toe-off-derived value downgraded to a low quality and ``note``."""
    out = dict(metrics)
    for key in TOE_OFF_METRICS:
        m = out.get(key)
        if m is not None and m.value == m.value:  # leave nan (already "not measured") alone
            out[key] = MetricValue(m.value, m.unit, min(m.quality, IMPLAUSIBLE_QUALITY), note)
    return out


def _quality(*events: GaitEvent | None) -> float:
    present = [e.confidence for e in events if e is not None]
    return float(min(present)) if present else 0.0


def step_metrics(
    strike: GaitEvent, toe_off: GaitEvent | None, next_strike: GaitEvent
) -> dict[str, MetricValue]:
    """Timing metrics of one step (see the module docstring for definitions)."""
    metrics = _interval_metrics(strike, next_strike, 1, "step_time", "cadence")
    # A step is half a stride: the stride's duty-factor bound is on 2 x step time.
    step_time = metrics["step_time"].value
    missing = "toe-off not detected"
    return {
        **metrics,
        **_contact_metrics(strike, toe_off, next_strike, 2 * step_time, None, missing),
    }


def stride_timing(
    strike: GaitEvent,
    toe_off: GaitEvent | None,
    next_strike: GaitEvent,
    opposite: Sequence[GaitEvent],
) -> dict[str, MetricValue]:
    """Timing metrics of one stride; ``opposite`` holds the other leg's events inside it."""
    metrics = _interval_metrics(strike, next_strike, 2, "stride_time", "stride_cadence")
    stride_time, q = metrics["stride_time"].value, metrics["stride_time"].quality
    flight_end = None
    if toe_off is not None:
        later = [e for e in opposite if e.kind is EventKind.FOOT_STRIKE and e.time > toe_off.time]
        flight_end = later[0] if later else None
    missing = "toe-off or the other leg's strike after it not detected"
    return {**metrics, **_contact_metrics(strike, toe_off, flight_end, stride_time, q, missing)}


def _interval_metrics(
    start: GaitEvent, end: GaitEvent, steps: int, time_name: str, cadence_name: str
) -> dict[str, MetricValue]:
    """Duration of the interval from ``start`` to ``end`` strike and the cadence it implies
    (``steps`` steps in the interval, in steps per minute)."""
    duration = end.time - start.time
    q = _quality(start, end)
    return {
        time_name: MetricValue(duration, "s", q),
        cadence_name: MetricValue(60.0 * steps / duration, "steps/min", q),
    }


def _contact_metrics(
    strike: GaitEvent,
    toe_off: GaitEvent | None,
    flight_end: GaitEvent | None,
    cycle: float,
    duty_quality: float | None,
    missing: str,
) -> dict[str, MetricValue]:
    """Contact time, duty factor and flight time of the contact that starts at ``strike``.

    ``flight_end`` is the other leg's strike that ends the flight after ``toe_off``;
    ``cycle`` the gait cycle the plausibility guard compares the contact with.  The duty
    factor (contact / ``cycle``) is included when ``duty_quality`` (the quality of the
    cycle's own strikes) is given; a step has none.  A value that cannot be measured is
    ``nan`` with the note ``missing``.
    """
    names: tuple[str, ...] = ("contact_time", "flight_time")
    if duty_quality is not None:
        names = ("contact_time", "duty_factor", "flight_time")
    metrics: dict[str, MetricValue] = {}
    if toe_off is not None:
        contact = toe_off.time - strike.time
        qc = _quality(strike, toe_off)
        metrics["contact_time"] = MetricValue(contact, "s", qc)
        if duty_quality is not None:
            metrics["duty_factor"] = MetricValue(contact / cycle, "ratio", min(duty_quality, qc))
        if flight_end is not None:
            flight = flight_end.time - toe_off.time
            metrics["flight_time"] = MetricValue(flight, "s", _quality(toe_off, flight_end))
    units = {"contact_time": "s", "duty_factor": "ratio", "flight_time": "s"}
    for name in names:
        metrics.setdefault(name, MetricValue(float("nan"), units[name], 0.0, missing))
    if toe_off is not None:
        why = implausible_contact(toe_off.time - strike.time, cycle)
        if why is not None:
            metrics = flag_toe_off_metrics(metrics, why)
    return metrics


def toe_off_between(
    events: Sequence[GaitEvent], leg: Leg, start: float, end: float
) -> GaitEvent | None:
    """The first toe-off of ``leg`` strictly between ``start`` and ``end``."""
    for e in events:
        if e.kind is EventKind.TOE_OFF and e.leg is leg and start < e.time < end:
            return e
    return None


def assemble(
    events: Sequence[GaitEvent],
    *,
    stride_extra: Callable[[Stride, Sequence[GaitEvent]], Mapping[str, MetricValue]] | None = None,
) -> tuple[list[Step], list[Stride]]:
    """All steps and strides in a time-ordered event list.

    ``stride_extra(stride, opposite_events)`` may add metrics (the per-stride kinematic
    metrics); its result is merged over the timing metrics.
    """
    events = sorted(events, key=lambda e: e.time)
    strikes = [e for e in events if e.kind is EventKind.FOOT_STRIKE]
    steps: list[Step] = []
    strides: list[Stride] = []
    for a, b in itertools.pairwise(strikes):
        step = make_step(len(steps), a, b, events)
        if step is not None:
            steps.append(step)
    for i in range(len(strikes) - 2):
        a, mid, b = strikes[i], strikes[i + 1], strikes[i + 2]
        stride = make_stride(len(strides), a, mid, b, events, stride_extra)
        if stride is not None:
            strides.append(stride)
    return steps, strides


def make_step(
    index: int, strike: GaitEvent, next_strike: GaitEvent, events: Sequence[GaitEvent]
) -> Step | None:
    """A step from one leg's strike to the other leg's next strike, or ``None``."""
    if strike.leg is next_strike.leg or not (0 < next_strike.time - strike.time <= MAX_STEP_TIME):
        return None
    toe = toe_off_between(events, strike.leg, strike.time, next_strike.time)
    return Step(
        index=index,
        leg=strike.leg,
        foot_strike=strike,
        toe_off=toe,
        next_foot_strike=next_strike,
        metrics=step_metrics(strike, toe, next_strike),
        emitted_at=_latest(strike, next_strike),
    )


def make_stride(
    index: int,
    strike: GaitEvent,
    other_strike: GaitEvent,
    next_strike: GaitEvent,
    events: Sequence[GaitEvent],
    stride_extra: Callable[[Stride, Sequence[GaitEvent]], Mapping[str, MetricValue]] | None,
) -> Stride | None:
    """A stride from three alternating strikes (this leg, the other, this leg), or ``None``."""
    if not (strike.leg is next_strike.leg and other_strike.leg is not strike.leg):
        return None
    if not (0 < next_strike.time - strike.time <= MAX_STRIDE_TIME):
        return None
    toe = toe_off_between(events, strike.leg, strike.time, next_strike.time)
    opposite = [
        e for e in events if e.leg is not strike.leg and strike.time < e.time < next_strike.time
    ]
    stride = Stride(
        index=index,
        leg=strike.leg,
        foot_strike=strike,
        toe_off=toe,
        next_foot_strike=next_strike,
        side=strike.side,
        metrics=stride_timing(strike, toe, next_strike, opposite),
        emitted_at=_latest(strike, next_strike),
    )
    if stride_extra is not None:
        merged = {**stride.metrics, **stride_extra(stride, opposite)}
        why = None if toe is None else implausible_contact(toe.time - strike.time, stride.duration)
        if why is not None:
            merged = flag_toe_off_metrics(merged, why)
        stride = Stride(
            index=stride.index,
            leg=stride.leg,
            foot_strike=strike,
            toe_off=toe,
            next_foot_strike=next_strike,
            side=stride.side,
            metrics=merged,
            emitted_at=stride.emitted_at,
        )
    return stride


def _latest(*events: GaitEvent) -> float | None:
    stamps = [e.emitted_at for e in events if e.emitted_at is not None]
    return max(stamps) if stamps else None


def overall_cadence(steps: Sequence[Step]) -> MetricValue:
    """Cadence over many steps: 60 / median step time (steps/min).

    The median keeps one missed strike (a double-length "step" that slipped through) from
    dragging the figure down.
    """
    if not steps:
        return MetricValue(float("nan"), "steps/min", 0.0, "no complete steps")
    durations = sorted(s.duration for s in steps)
    mid = len(durations) // 2
    median = durations[mid] if len(durations) % 2 else (durations[mid - 1] + durations[mid]) / 2
    quality = min(1.0, len(steps) / 10)
    return MetricValue(60.0 / median, "steps/min", quality)
