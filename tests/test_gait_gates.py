"""Plausibility gates on constructed strides: each bound, what it covers, its history.

The gates on real recorded poses (strikes misplaced, a keypoint on the wrong joint, a
missed strike in real MoveNet output; every true lab stride admitted) are tested in
tests/test_cues_realclips.py and tests/test_validate_cues.py.
"""

from __future__ import annotations

import math

import pytest

from edge.gait.frontview import FRONTVIEW_UNITS
from edge.gait.gates import (
    EVENT_METRICS,
    GATES,
    MIN_ROLLING_STRIDES,
    WHOLE_CYCLE_METRICS,
    GateInput,
    GateScope,
    check_stride,
    stride_time_ratio,
)
from edge.gait.metric_units import METRIC_UNITS
from edge.gait.timing import TOE_OFF_METRICS
from edge.types import EventKind, GaitEvent, Leg, MetricValue, Stride

GATE = {g.name: g for g in GATES}
# A plausible stride: every gated quantity inside its bound (lab-like values).
PLAUSIBLE = {
    "duty_factor": 0.34,
    "knee_flexion_at_foot_strike_deg": 10.0,
    "shank_angle_at_foot_strike_deg": 7.0,
    "overstride_leg_length": 0.2,
    "leg_segment_length_change": 0.04,
}


def stride(duration: float = 0.7, **metrics: float) -> Stride:
    fs = GaitEvent(EventKind.FOOT_STRIKE, Leg.NEAR, 1.0)
    nfs = GaitEvent(EventKind.FOOT_STRIKE, Leg.NEAR, 1.0 + duration)
    values = {k: MetricValue(v, "", 0.9) for k, v in {**PLAUSIBLE, **metrics}.items()}
    return Stride(0, Leg.NEAR, fs, None, nfs, metrics=values)


def test_a_plausible_stride_seen_from_the_front_passes_every_gate():
    inp = GateInput(stride(), previous_stride_times=(0.7, 0.71, 0.69), front_confidence=0.8)
    assert check_stride(inp) == ()


@pytest.mark.parametrize(
    ("gate", "metric", "inside", "outside"),
    [
        ("duty factor", "duty_factor", [0.15, 0.5], [0.14, 0.55]),
        ("knee at strike", "knee_flexion_at_foot_strike_deg", [-10.0, 50.0], [-10.5, 61.8]),
        ("shank at strike", "shank_angle_at_foot_strike_deg", [-20.0, 35.0], [-49.0, 35.5]),
        ("foot ahead at strike", "overstride_leg_length", [-0.15, 0.6], [-0.72, 0.61]),
        ("segment length", "leg_segment_length_change", [0.0, 0.3], [0.31, 0.65]),
    ],
)
def test_each_metric_gate_admits_its_bounds_and_names_what_is_outside(
    gate, metric, inside, outside
):
    g = GATE[gate]
    for value in inside:
        assert g.reason(GateInput(stride(**{metric: value}))) is None, value
    for value in outside:
        why = g.reason(GateInput(stride(**{metric: value})))
        assert why is not None and why.startswith(f"{gate}: ") and f"{value:.3g}" in why
    # Not measured is not impossible: the gate cannot be checked.
    assert g.reason(GateInput(stride(**{metric: math.nan}))) is None


def test_the_stride_time_gate_needs_history_and_fires_beyond_a_quarter():
    g = GATE["stride time"]
    history = (0.7, 0.7, 0.72)
    assert MIN_ROLLING_STRIDES == 3
    assert g.reason(GateInput(stride(1.05), previous_stride_times=history[:2])) is None
    why = g.reason(GateInput(stride(1.05), previous_stride_times=history))
    assert why is not None and "1.5 outside [0.75, 1.25]" in why
    assert g.reason(GateInput(stride(0.5), previous_stride_times=history)) is not None
    assert g.reason(GateInput(stride(0.85), previous_stride_times=history)) is None
    # The median of the last five: one odd stride in the history does not move it.
    assert stride_time_ratio(
        GateInput(stride(0.7), previous_stride_times=(2.0, 0.7, 0.7, 1.4, 0.7, 0.7))
    ) == pytest.approx(1.0)


def test_the_front_view_gate_flags_front_metrics_of_a_side_or_unsure_view():
    g = GATE["front view"]
    assert g.reason(GateInput(stride(), front_confidence=0.0)) is not None  # a side view
    assert g.reason(GateInput(stride(), front_confidence=0.4)) is not None
    assert g.reason(GateInput(stride(), front_confidence=0.5)) is None
    (failure,) = check_stride(GateInput(stride(), previous_stride_times=(0.7,) * 3))
    assert failure.gate == "front view" and failure.metrics == frozenset(FRONTVIEW_UNITS)


def test_scopes_say_what_a_failure_makes_unreliable():
    assert GateScope.STRIDE.metrics() is None
    assert GateScope.TOE_OFF.metrics() == frozenset(TOE_OFF_METRICS)
    assert GateScope.FRONT.metrics() == frozenset(FRONTVIEW_UNITS)
    events = GateScope.EVENTS.metrics()
    assert events == EVENT_METRICS
    # Event-bound: everything at or between the events and from the leg's joints ...
    for key in ("overstride_leg_length", "peak_shank_angle_before_strike_deg",
                "peak_knee_flexion_swing_deg", "hip_extension_at_toe_off_deg",
                "trunk_lean_at_foot_strike_deg", "duty_factor"):  # fmt: skip
        assert key in events, key
    # ... but not what averages or peaks over the whole cycle.
    assert not events & WHOLE_CYCLE_METRICS
    assert WHOLE_CYCLE_METRICS.issubset(METRIC_UNITS)
    assert set(METRIC_UNITS) <= events | WHOLE_CYCLE_METRICS


def test_check_stride_lists_every_failed_gate_with_its_scope():
    bad = stride(knee_flexion_at_foot_strike_deg=85.0, shank_angle_at_foot_strike_deg=-60.0)
    failures = check_stride(GateInput(bad, (0.7,) * 3, front_confidence=0.9))
    assert [f.gate for f in failures] == ["knee at strike", "shank at strike"]
    assert all(f.metrics == EVENT_METRICS for f in failures)
    assert all(f.covers("overstride_leg_length") for f in failures)
    assert not any(f.covers("trunk_lean_deg") for f in failures)
    missed = check_stride(GateInput(stride(1.4), (0.7,) * 3, front_confidence=0.9))
    assert [(f.gate, f.metrics) for f in missed] == [("stride time", None)]
    assert missed[0].covers("trunk_lean_deg")


def test_every_gate_cites_its_source():
    for gate in GATES:
        assert gate.source and gate.what and gate.low < gate.high, gate.name
