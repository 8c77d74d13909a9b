"""Every cue of the catalogue judged at each threshold boundary, on constructed strides.

The expected verdicts are written out by hand per cue (just inside, at, and beyond each
limit, in both directions for two-sided cues), so a change to a threshold that was not meant
shows up here as well as in docs/cues.md.
"""

from __future__ import annotations

import math

import pytest

from edge.cues.catalogue import CATALOGUE, CUES_BY_ID, Measurability, Thresholds
from edge.cues.evaluate import evaluate_stride
from edge.cues.profiles import build_rules
from edge.types import CueGroup, EventKind, GaitEvent, Leg, MetricValue, Stride, Verdict

OK, WARN, FAULT = Verdict.OK, Verdict.WARN, Verdict.FAULT


def stride_with(metrics: dict[str, float], quality: float = 0.9) -> Stride:
    fs = GaitEvent(EventKind.FOOT_STRIKE, Leg.NEAR, 1.0)
    nfs = GaitEvent(EventKind.FOOT_STRIKE, Leg.NEAR, 1.7)
    values = {k: MetricValue(v, "", quality) for k, v in metrics.items()}
    return Stride(0, Leg.NEAR, fs, None, nfs, metrics=values)


# (cue, value, verdict, threshold reported): each limit just inside, at and just beyond.
BOUNDARIES = [
    # run tall: forward lean, two-sided
    ("posture.run_tall", 7.0, OK, 13.0),
    ("posture.run_tall", 12.99, OK, 13.0),
    ("posture.run_tall", 13.0, WARN, 13.0),
    ("posture.run_tall", 19.99, WARN, 13.0),
    ("posture.run_tall", 20.0, FAULT, 20.0),
    ("posture.run_tall", 35.0, FAULT, 20.0),
    ("posture.run_tall", 0.01, OK, 0.0),
    ("posture.run_tall", 0.0, WARN, 0.0),
    ("posture.run_tall", -4.99, WARN, 0.0),
    ("posture.run_tall", -5.0, FAULT, -5.0),
    ("posture.run_tall", -12.0, FAULT, -5.0),
    ("legs.overstride", 0.249, OK, 0.25),
    ("legs.overstride", 0.25, WARN, 0.25),
    ("legs.overstride", 0.319, WARN, 0.25),
    ("legs.overstride", 0.32, FAULT, 0.32),
    ("legs.overstride", -0.1, OK, 0.25),
    ("posture.body_in_line", 0.0, OK, -0.08),
    ("posture.body_in_line", 0.149, OK, 0.15),
    ("posture.body_in_line", 0.15, WARN, 0.15),
    ("posture.body_in_line", 0.249, WARN, 0.15),
    ("posture.body_in_line", 0.25, FAULT, 0.25),
    ("posture.body_in_line", -0.079, OK, -0.08),
    ("posture.body_in_line", -0.08, WARN, -0.08),
    ("posture.body_in_line", -0.149, WARN, -0.08),
    ("posture.body_in_line", -0.15, FAULT, -0.15),
    ("head.look_ahead", 8.0, OK, 20.0),
    ("head.look_ahead", 19.9, OK, 20.0),
    ("head.look_ahead", 20.0, WARN, 20.0),
    ("head.look_ahead", 29.9, WARN, 20.0),
    ("head.look_ahead", 30.0, FAULT, 30.0),
    ("head.look_ahead", -4.9, OK, -5.0),
    ("head.look_ahead", -5.0, WARN, -5.0),
    ("head.look_ahead", -11.9, WARN, -5.0),
    ("head.look_ahead", -12.0, FAULT, -12.0),
    ("posture.square_shoulders", 7.9, OK, 8.0),
    ("posture.square_shoulders", 8.0, WARN, 8.0),
    ("posture.square_shoulders", 11.9, WARN, 8.0),
    ("posture.square_shoulders", 12.0, FAULT, 12.0),
    ("arms.no_cross_body", -0.3, OK, 0.05),
    ("arms.no_cross_body", 0.049, OK, 0.05),
    ("arms.no_cross_body", 0.05, WARN, 0.05),
    ("arms.no_cross_body", 0.199, WARN, 0.05),
    ("arms.no_cross_body", 0.2, FAULT, 0.2),
    ("legs.push_off", 15.0, OK, 8.0),
    ("legs.push_off", 8.01, OK, 8.0),
    ("legs.push_off", 8.0, WARN, 8.0),
    ("legs.push_off", 3.01, WARN, 8.0),
    ("legs.push_off", 3.0, FAULT, 3.0),
    ("arms.elbows_back", 0.05, OK, -0.02),
    ("arms.elbows_back", -0.019, OK, -0.02),
    ("arms.elbows_back", -0.02, WARN, -0.02),
    ("arms.elbows_back", -0.079, WARN, -0.02),
    ("arms.elbows_back", -0.08, FAULT, -0.08),
    ("arms.hands_shoulder_height", -0.299, OK, -0.30),
    ("arms.hands_shoulder_height", -0.30, WARN, -0.30),
    ("arms.hands_shoulder_height", -0.499, WARN, -0.30),
    ("arms.hands_shoulder_height", -0.50, FAULT, -0.50),
    ("legs.knee_drive", 45.0, OK, 35.0),
    ("legs.knee_drive", 35.01, OK, 35.0),
    ("legs.knee_drive", 35.0, WARN, 35.0),
    ("legs.knee_drive", 25.01, WARN, 35.0),
    ("legs.knee_drive", 25.0, FAULT, 25.0),
    ("legs.heel_to_hamstring", 110.0, OK, 85.0),
    ("legs.heel_to_hamstring", 85.01, OK, 85.0),
    ("legs.heel_to_hamstring", 85.0, WARN, 85.0),
    ("legs.heel_to_hamstring", 70.01, WARN, 85.0),
    ("legs.heel_to_hamstring", 70.0, FAULT, 70.0),
]


@pytest.mark.parametrize(("cue_id", "value", "verdict", "threshold"), BOUNDARIES)
def test_every_boundary_of_every_cue(cue_id, value, verdict, threshold):
    cue = CUES_BY_ID[cue_id]
    view = cue.views[0]
    report = evaluate_stride(stride_with({cue.metric: value}), build_rules(), view)
    result = next(r for r in report.cues if r.cue_id == cue_id)
    assert result.verdict is verdict
    assert result.threshold == pytest.approx(threshold)
    assert result.value == value
    assert result.unit == cue.unit
    assert result.confidence == pytest.approx(0.9)


def test_boundaries_cover_every_judged_cue_and_every_limit():
    covered: dict[str, set[float]] = {}
    for cue_id, _value, _verdict, threshold in BOUNDARIES:
        covered.setdefault(cue_id, set()).add(threshold)
    judged = {c.id for c in CATALOGUE if c.judged}
    assert set(covered) == judged
    for cue_id in judged:
        limits = set(CUES_BY_ID[cue_id].thresholds.limits().values())
        assert limits <= covered[cue_id], cue_id


def test_catalogue_shape():
    assert CATALOGUE[0].id == "posture.run_tall"
    ids = [c.id for c in CATALOGUE]
    assert len(ids) == len(set(ids)) == 14
    sheet_groups = {c.group for c in CATALOGUE}
    assert sheet_groups == set(CueGroup)
    for cue in CATALOGUE:
        assert cue.group in set(CueGroup) and cue.name.replace("_", "").isalnum()
        assert len(cue.message) <= 60, cue.id  # fits a phone notification line
        assert cue.measurability_note
        if cue.judged:
            assert cue.metric and cue.unit and cue.views and cue.justification and cue.short
            assert cue.thresholds is not None and cue.thresholds.problem() is None
            assert set(cue.views) <= {"side", "front"}
            lo, hi = cue.limit_range
            assert all(lo <= v <= hi for v in cue.thresholds.limits().values())
        else:
            assert cue.metric is None and cue.thresholds is None


def test_not_measurable_cues_are_the_ones_keypoints_cannot_see():
    unseen = {c.id for c in CATALOGUE if c.measurability is Measurability.NOT_MEASURABLE}
    assert unseen == {"head.relaxed_face", "arms.loose_hands", "legs.midfoot_strike"}


def test_catalogue_reads_only_metrics_the_gait_stage_produces():
    from edge.gait.frontview import FRONTVIEW_UNITS
    from edge.gait.metrics import METRIC_UNITS

    units = {**METRIC_UNITS, **FRONTVIEW_UNITS}
    for cue in CATALOGUE:
        if cue.judged:
            assert cue.metric in units, cue.id
            assert units[cue.metric] == cue.unit, cue.id


def test_two_sided_messages_follow_the_side_crossed():
    rules = build_rules()
    low = evaluate_stride(stride_with({"trunk_lean_deg": -6.0}), rules, "side").cues[0]
    high = evaluate_stride(stride_with({"trunk_lean_deg": 25.0}), rules, "side").cues[0]
    assert "not back" in low.message and "fold" in high.message


def test_threshold_order_problems_are_named():
    base = CUES_BY_ID["legs.overstride"].thresholds
    assert base.with_limits({"fault": 0.2}).problem()[0] == "fault"
    two = CUES_BY_ID["posture.run_tall"].thresholds
    assert two.with_limits({"fault_low": 2.0}).problem()[0] == "fault_low"
    assert two.with_limits({"warn_low": 14.0, "fault_low": 10.0}).problem()[0] == "warn_high"
    assert two.with_limits({"warn_high": 9.0}).problem() is None
    assert isinstance(two.with_limits({}), Thresholds) and two.with_limits({}) == two


def test_nan_value_never_judges():
    verdict, _ = CUES_BY_ID["legs.overstride"].thresholds.judge(0.4)
    assert verdict is FAULT
    report = evaluate_stride(
        stride_with({"overstride_leg_length": math.nan}), build_rules(), "side"
    )
    assert next(r for r in report.cues if r.cue_id == "legs.overstride").verdict is Verdict.UNKNOWN
