"""The per-stride evaluator: unknown reasons, view gating, confidence, grade and worst cue."""

from __future__ import annotations

import math

import pytest

from edge.cues.evaluate import CueEvaluator, evaluate_stride, grade
from edge.cues.profiles import AthleteProfile, build_rules
from edge.cues.view import resolve_view, view_name
from edge.errors import ConfigError
from edge.gait.frontview import CameraView, ViewEstimate
from edge.types import CueResult, EventKind, GaitEvent, Leg, MetricValue, Stride, Verdict

GOOD_SIDE = {
    "trunk_lean_deg": 7.0,
    "overstride_leg_length": 0.05,
    "hip_ahead_of_ankle_midstance_leg_length": 0.02,
    "head_pitch_deg": 8.0,
    "hip_extension_at_toe_off_deg": 15.0,
    "elbow_behind_hip_leg_length": 0.04,
    "wrist_height_forward_arm_length": -0.1,
    "peak_thigh_angle_swing_deg": 48.0,
    "peak_knee_flexion_swing_deg": 110.0,
}
GOOD_FRONT = {"shoulder_tilt_max_deg": 4.0, "wrist_crossing_shoulder_width": -0.2}


def stride_with(metrics: dict[str, float | MetricValue], index: int = 0) -> Stride:
    fs = GaitEvent(EventKind.FOOT_STRIKE, Leg.NEAR, 1.0 + index)
    nfs = GaitEvent(EventKind.FOOT_STRIKE, Leg.NEAR, 1.7 + index)
    values = {
        k: v if isinstance(v, MetricValue) else MetricValue(v, "", 0.8) for k, v in metrics.items()
    }
    return Stride(index, Leg.NEAR, fs, None, nfs, metrics=values)


def result(report, cue_id) -> CueResult:
    return next(r for r in report.cues if r.cue_id == cue_id)


def test_a_clean_side_stride_is_ok_everywhere_it_can_be_judged():
    report = evaluate_stride(stride_with(GOOD_SIDE), build_rules(), "side")
    assert report.grade is Verdict.OK and report.worst_cue is None
    judged = {r.cue_id for r in report.cues if r.verdict is Verdict.OK}
    assert len(judged) == 9
    assert result(report, "posture.square_shoulders").reason == "needs a front view"
    assert result(report, "arms.no_cross_body").reason == "needs a front view"


def test_front_view_gates_side_cues_and_judges_front_cues():
    report = evaluate_stride(stride_with({**GOOD_SIDE, **GOOD_FRONT}), build_rules(), "front")
    assert result(report, "posture.square_shoulders").verdict is Verdict.OK
    assert result(report, "arms.no_cross_body").verdict is Verdict.OK
    lean = result(report, "posture.run_tall")
    assert lean.verdict is Verdict.UNKNOWN and lean.reason == "needs a side view"
    assert math.isnan(lean.value)


def test_unrecognised_view_leaves_every_cue_unknown():
    report = evaluate_stride(stride_with(GOOD_SIDE), build_rules(), None)
    assert report.grade is Verdict.UNKNOWN and report.worst_cue is None
    assert {r.reason for r in report.cues if r.cue_id == "posture.run_tall"} == {
        "camera view not recognised"
    }


def test_nan_metric_is_unknown_with_the_gait_stage_reason():
    metrics = {
        **GOOD_SIDE,
        "overstride_leg_length": MetricValue(
            float("nan"), "leg_length", 0.0, "overstride: keypoints not seen around t=1.000s"
        ),
    }
    r = result(evaluate_stride(stride_with(metrics), build_rules(), "side"), "legs.overstride")
    assert r.verdict is Verdict.UNKNOWN
    assert r.reason == "not measured: overstride: keypoints not seen around t=1.000s"
    assert r.confidence == 0.0 and r.threshold is None


def test_missing_metric_key_is_unknown_and_named():
    metrics = {k: v for k, v in GOOD_SIDE.items() if k != "head_pitch_deg"}
    r = result(evaluate_stride(stride_with(metrics), build_rules(), "side"), "head.look_ahead")
    assert r.verdict is Verdict.UNKNOWN and r.reason == "metric head_pitch_deg not computed"


def test_not_measurable_cues_are_always_unknown_with_why():
    report = evaluate_stride(stride_with(GOOD_SIDE), build_rules(), "side")
    for cue_id, word in (
        ("head.relaxed_face", "expression"),
        ("arms.loose_hands", "fingers"),
        ("legs.midfoot_strike", "heel or toe"),
    ):
        r = result(report, cue_id)
        assert r.verdict is Verdict.UNKNOWN
        assert r.reason.startswith("not measurable:") and word in r.reason


def test_low_keypoint_quality_is_unknown_but_keeps_the_value():
    metrics = {**GOOD_SIDE, "trunk_lean_deg": MetricValue(30.0, "deg", 0.1)}
    r = result(
        evaluate_stride(stride_with(metrics), build_rules(), "side", min_confidence=0.25),
        "posture.run_tall",
    )
    assert r.verdict is Verdict.UNKNOWN and "0.10 < 0.25" in r.reason
    assert r.value == 30.0 and r.confidence == pytest.approx(0.1)
    ok = result(
        evaluate_stride(stride_with(metrics), build_rules(), "side", min_confidence=0.1),
        "posture.run_tall",
    )
    assert ok.verdict is Verdict.FAULT and ok.confidence == pytest.approx(0.1)


def test_grade_is_the_worst_verdict_and_priority_breaks_ties():
    # Two faults: run tall (priority 1) beats hands (priority 9).
    metrics = {**GOOD_SIDE, "trunk_lean_deg": 25.0, "wrist_height_forward_arm_length": -0.7}
    report = evaluate_stride(stride_with(metrics), build_rules(), "side")
    assert report.grade is Verdict.FAULT and report.worst_cue == "posture.run_tall"
    # A fault anywhere outranks a warn on a higher-priority cue.
    metrics = {**GOOD_SIDE, "trunk_lean_deg": 15.0, "peak_knee_flexion_swing_deg": 60.0}
    report = evaluate_stride(stride_with(metrics), build_rules(), "side")
    assert report.grade is Verdict.FAULT and report.worst_cue == "legs.heel_to_hamstring"
    metrics = {**GOOD_SIDE, "overstride_leg_length": 0.26, "head_pitch_deg": 22.0}
    report = evaluate_stride(stride_with(metrics), build_rules(), "side")
    assert report.grade is Verdict.WARN and report.worst_cue == "legs.overstride"


def test_grade_ignores_unknowns():
    results = [
        CueResult("arms.loose_hands", Verdict.UNKNOWN, math.nan, "", ""),
        CueResult("legs.knee_drive", Verdict.WARN, 30.0, "deg", ""),
    ]
    assert grade(results) == (Verdict.WARN, "legs.knee_drive")
    assert grade(results[:1]) == (Verdict.UNKNOWN, None)


def test_evaluator_athlete_switch_changes_thresholds_at_run_time():
    ana = AthleteProfile("Ana", 168.0, {"legs.overstride": {"warn": 0.3, "fault": 0.4}})
    bo = AthleteProfile("Bo", None, {}, frozenset({"legs.overstride"}))
    evaluator = CueEvaluator(athletes=[ana, bo], view="auto")
    stride = stride_with({**GOOD_SIDE, "overstride_leg_length": 0.34})
    assert result(evaluator.evaluate(stride, "side"), "legs.overstride").verdict is Verdict.FAULT
    assert evaluator.select_athlete("Ana") is ana and evaluator.athlete is ana
    r = result(evaluator.evaluate(stride, "side"), "legs.overstride")
    assert r.verdict is Verdict.WARN and r.threshold == 0.3
    evaluator.select_athlete("Bo")
    r = result(evaluator.evaluate(stride, "side"), "legs.overstride")
    assert r.verdict is Verdict.UNKNOWN and r.reason == "switched off"
    assert "legs.overstride" in evaluator.disabled
    evaluator.select_athlete(None)
    assert result(evaluator.evaluate(stride, "side"), "legs.overstride").verdict is Verdict.FAULT


def test_unknown_athlete_is_refused_and_keeps_the_current_one():
    ana = AthleteProfile("Ana")
    evaluator = CueEvaluator(athletes=[ana], athlete="Ana")
    with pytest.raises(ConfigError, match=r'no profile named "Zed".*"Ana"'):
        evaluator.select_athlete("Zed")
    assert evaluator.athlete is ana


def test_cue_switched_off_and_on_at_run_time():
    evaluator = CueEvaluator()
    stride = stride_with({**GOOD_SIDE, "trunk_lean_deg": 30.0})
    evaluator.set_cue_enabled("posture.run_tall", False)
    report = evaluator.evaluate(stride, "side")
    assert result(report, "posture.run_tall").reason == "switched off"
    assert report.grade is Verdict.OK
    evaluator.set_cue_enabled("posture.run_tall", True)
    assert evaluator.evaluate(stride, "side").grade is Verdict.FAULT
    with pytest.raises(ConfigError, match=r"posture\.run_taller"):
        evaluator.set_cue_enabled("posture.run_taller", False)


def test_forced_view_overrides_the_detected_one():
    evaluator = CueEvaluator(view="front")
    report = evaluator.evaluate(stride_with({**GOOD_SIDE, **GOOD_FRONT}), "side")
    assert result(report, "arms.no_cross_body").verdict is Verdict.OK
    assert result(report, "posture.run_tall").reason == "needs a side view"


def test_view_names_from_the_classifier():
    assert view_name(CameraView.FRONT_OR_REAR) == "front"
    assert view_name(CameraView.SIDE) == "side"
    assert view_name(CameraView.UNKNOWN) is None
    assert view_name(ViewEstimate(CameraView.SIDE, 0.9, 0.1, 0.02)) == "side"
    assert view_name(ViewEstimate(CameraView.SIDE, 0.05, 0.45, 0.2)) is None  # 3/4 view
    assert resolve_view("auto", CameraView.FRONT_OR_REAR) == "front"
    assert resolve_view("side", CameraView.FRONT_OR_REAR) == "side"


def test_view_tracker_holds_the_view_through_uncertain_strides():
    from edge.cues.view import ViewTracker

    side = ViewEstimate(CameraView.SIDE, 0.9, 0.1, 0.03)
    front = ViewEstimate(CameraView.FRONT_OR_REAR, 0.8, 0.7, 0.4)
    murky = ViewEstimate(CameraView.FRONT_OR_REAR, 0.1, 0.3, 0.18)
    tracker = ViewTracker()
    assert tracker.update(murky) is None  # nothing confident seen yet
    assert tracker.update(side) == "side"
    assert tracker.update(murky) == "side"
    assert tracker.update(CameraView.UNKNOWN) == "side"
    assert tracker.update(front) == "side"  # one confident front stride is not enough...
    assert tracker.update(side) == "side"
    assert tracker.update(front) == "side"
    assert tracker.update(front) == "front"  # ...two in a row are
    tracker.reset()
    assert tracker.current is None
    assert ViewTracker("side").update(front) == "side"


def test_view_tracker_needs_a_confident_or_repeated_front_view_to_start_in_front():
    """Trackside stands beside the track: side is the view to expect, front must be shown."""
    from edge.cues.view import ViewTracker

    side = ViewEstimate(CameraView.SIDE, 0.6, 0.12, 0.1)
    weak_front = ViewEstimate(CameraView.FRONT_OR_REAR, 0.43, 0.4, 0.18)
    tracker = ViewTracker()
    assert tracker.update(weak_front) is None  # a runner entering the frame, half seen
    assert tracker.update(side) == "side"
    tracker.reset()
    assert tracker.update(weak_front) is None
    assert tracker.update(weak_front) == "front"  # seen twice in a row: it is a front view
    assert ViewTracker().update(ViewEstimate(CameraView.FRONT_OR_REAR, 0.8, 0.7, 0.4)) == "front"
