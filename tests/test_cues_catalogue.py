"""Every cue of the catalogue judged at each threshold boundary, on constructed strides.

The expected verdicts are written out by hand per cue (just inside, at, and beyond each
limit, in both directions for two-sided cues, at known speeds for the speed-scaled ones),
so a change to a threshold that was not meant shows up here as well as in docs/cues.md.
Information-only cues are checked never to judge, and validated ones to cite their basis.
"""

from __future__ import annotations

import math

import pytest

from edge.cues.catalogue import CATALOGUE, CUES_BY_ID, Measurability, Thresholds
from edge.cues.evaluate import evaluate_stride
from edge.cues.profiles import build_rules
from edge.types import (
    CueGroup,
    EventKind,
    GaitEvent,
    Leg,
    MetricValue,
    RunningSpeed,
    Stride,
    Verdict,
)

OK, WARN, FAULT = Verdict.OK, Verdict.WARN, Verdict.FAULT


def stride_with(metrics: dict[str, float], quality: float = 0.9) -> Stride:
    fs = GaitEvent(EventKind.FOOT_STRIKE, Leg.NEAR, 1.0)
    nfs = GaitEvent(EventKind.FOOT_STRIKE, Leg.NEAR, 1.7)
    values = {k: MetricValue(v, "", quality) for k, v in metrics.items()}
    return Stride(0, Leg.NEAR, fs, None, nfs, metrics=values)


def at(cue_id: str, *rows: tuple) -> list[tuple]:
    """``(cue_id, *row)`` for each row."""
    return [(cue_id, *row) for row in rows]


# (cue, value, verdict, threshold reported): each limit just inside, at and just beyond.
# Speed-scaled cues are judged here with the speed unknown: the most lenient band.
# fmt: off
BOUNDARIES = [
    # run tall: trunk lean from the vertical, two-sided (Teng & Powers 2014: 7.3 +- 3.6)
    *at("posture.run_tall",
        (7.0, OK, 0.1), (14.49, OK, 14.5), (14.5, WARN, 14.5), (18.09, WARN, 14.5),
        (18.1, FAULT, 18.1), (35.0, FAULT, 18.1), (0.11, OK, 0.1), (0.1, WARN, 0.1),
        (-3.49, WARN, 0.1), (-3.5, FAULT, -3.5), (-12.0, FAULT, -3.5)),
    # overstride: the shank's peak angle before the strike, not speed-scaled
    *at("legs.overstride",
        (10.0, OK, 18.0), (17.99, OK, 18.0), (18.0, WARN, 18.0), (24.99, WARN, 18.0),
        (25.0, FAULT, 25.0), (-5.0, OK, 18.0)),
    # knee drive at the slowest distance speed (2.0 m/s): 15.3 - 0.5 x 6.1 = 12.25
    *at("legs.knee_drive",
        (27.0, OK, 12.25), (12.26, OK, 12.25), (12.25, WARN, 12.25), (4.26, WARN, 12.25),
        (4.25, FAULT, 4.25)),
    # heel to hamstring at 2.0 m/s: 70.4 - 0.5 x 15.3 = 62.75
    *at("legs.heel_to_hamstring",
        (85.0, OK, 62.75), (62.76, OK, 62.75), (62.75, WARN, 62.75), (52.76, WARN, 62.75),
        (52.75, FAULT, 52.75)),
]
# (cue, speed m/s, value, verdict, threshold) for the speed-scaled cues at known speeds.
AT_SPEED = [
    *at("legs.heel_to_hamstring",
        (3.5, 85.7, WARN, 85.7),  # 70.4 + 15.3 at 3.5 m/s
        (3.5, 85.8, OK, 85.7), (2.5, 70.5, OK, 70.4),
        (9.0, 108.65, WARN, 108.65)),  # clamped to 5.0 m/s
    *at("legs.knee_drive",
        (3.5, 21.4, WARN, 21.4), (3.5, 13.4, FAULT, 13.4),
        (1.0, 12.25, WARN, 12.25)),  # clamped to 2.0 m/s
]
# fmt: on
INFORMATION_ONLY = {
    "posture.body_in_line",
    "head.look_ahead",
    "posture.square_shoulders",
    "arms.no_cross_body",
    "legs.push_off",
    "arms.elbows_back",
    "arms.hands_shoulder_height",
}


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


def test_boundaries_cover_every_validated_cue_and_every_limit():
    covered: dict[str, set[float]] = {}
    for cue_id, _value, _verdict, threshold in BOUNDARIES:
        covered.setdefault(cue_id, set()).add(threshold)
    validated = {c.id for c in CATALOGUE if c.validated}
    assert set(covered) == validated
    for rule in build_rules():
        if rule.cue.validated:
            limits = sorted(rule.thresholds_at(None).limits().values())
            assert limits == pytest.approx(sorted(covered[rule.cue.id])), rule.cue.id


@pytest.mark.parametrize(("cue_id", "speed", "value", "verdict", "threshold"), AT_SPEED)
def test_speed_scaled_limits_move_with_the_running_speed(cue_id, speed, value, verdict, threshold):
    cue = CUES_BY_ID[cue_id]
    report = evaluate_stride(
        stride_with({cue.metric: value}),
        build_rules(),
        "side",
        speed=RunningSpeed(speed, "session"),
    )
    result = next(r for r in report.cues if r.cue_id == cue_id)
    assert result.verdict is verdict
    assert result.threshold == pytest.approx(threshold)


@pytest.mark.parametrize("cue_id", sorted(INFORMATION_ONLY))
def test_information_only_cues_show_their_value_and_never_judge(cue_id):
    cue = CUES_BY_ID[cue_id]
    assert cue.information_only and cue.thresholds is None and not cue.validated
    for value in (-100.0, 0.0, 0.5, 100.0):
        report = evaluate_stride(stride_with({cue.metric: value}), build_rules(), cue.views[0])
        result = next(r for r in report.cues if r.cue_id == cue_id)
        assert result.verdict is Verdict.INFO and result.value == value
        assert result.information_only and result.threshold is None
        assert result.reason.startswith("information only: ")
        assert report.grade is Verdict.UNKNOWN  # nothing validated was measured


def test_every_validated_cue_cites_a_basis_with_population_and_speed():
    validated = [c for c in CATALOGUE if c.validated]
    assert {c.id for c in validated} == {
        "posture.run_tall",
        "legs.overstride",
        "legs.knee_drive",
        "legs.heel_to_hamstring",
    }
    for cue in validated:
        assert cue.basis, cue.id
        for basis in cue.basis:
            assert basis.source and basis.population and basis.speed and basis.finding
            assert any(ch.isdigit() for ch in basis.source), basis.source  # a year
    assert {c.id for c in CATALOGUE if c.judged and not c.validated} == INFORMATION_ONLY


def test_a_speed_scaled_cue_is_most_lenient_when_the_speed_is_unknown():
    for cue in CATALOGUE:
        if cue.speed is None:
            continue
        assert cue.thresholds is not None and cue.thresholds.direction != "outside", cue.id
        unknown = cue.speed.at(cue.thresholds, None)
        for v in (2.0, 2.5, 3.5, 5.0):
            at = cue.speed.at(cue.thresholds, v)
            assert unknown.low.warn <= at.low.warn and unknown.low.fault <= at.low.fault


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
        if cue.validated:
            assert cue.metric and cue.unit and cue.views and cue.justification and cue.short
            assert cue.thresholds is not None and cue.thresholds.problem() is None
            assert set(cue.views) <= {"side", "front"}
            lo, hi = cue.limit_range
            assert all(lo <= v <= hi for v in cue.thresholds.limits().values())
        elif cue.judged:
            assert cue.metric and cue.unit and cue.views and cue.justification and cue.short
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
    assert base.with_limits({"fault": 15.0}).problem()[0] == "fault"
    two = CUES_BY_ID["posture.run_tall"].thresholds
    assert two.with_limits({"fault_low": 2.0}).problem()[0] == "fault_low"
    assert two.with_limits({"warn_low": 15.0, "fault_low": 10.0}).problem()[0] == "warn_high"
    assert two.with_limits({"warn_high": 9.0}).problem() is None
    assert isinstance(two.with_limits({}), Thresholds) and two.with_limits({}) == two


def test_nan_value_never_judges():
    verdict, _ = CUES_BY_ID["legs.overstride"].thresholds.judge(30.0)
    assert verdict is FAULT
    report = evaluate_stride(
        stride_with({"peak_shank_angle_before_strike_deg": math.nan}), build_rules(), "side"
    )
    assert next(r for r in report.cues if r.cue_id == "legs.overstride").verdict is Verdict.UNKNOWN
