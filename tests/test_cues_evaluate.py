"""The per-stride evaluator: unknown reasons, view gating, confidence, information-only cues,
plausibility gates, speed, the running median, focus, grade and worst cue."""

from __future__ import annotations

import dataclasses
import math

import pytest

from edge.cues.evaluate import CueEvaluator, evaluate_stride, grade
from edge.cues.profiles import AthleteProfile, build_rules
from edge.cues.view import resolve_view, view_name
from edge.errors import ConfigError
from edge.gait.frontview import CameraView, ViewEstimate
from edge.gait.gates import EVENT_METRICS
from edge.types import CueResult, EventKind, GaitEvent, Leg, MetricValue, Stride, Verdict

GOOD_SIDE = {
    "trunk_lean_deg": 7.0,
    "peak_shank_angle_before_strike_deg": 9.0,
    "hip_ahead_of_ankle_midstance_leg_length": 0.12,
    "head_pitch_deg": 8.0,
    "hip_extension_at_toe_off_deg": 15.0,
    "elbow_behind_hip_leg_length": 0.3,
    "wrist_height_forward_arm_length": -0.5,
    "peak_thigh_angle_swing_deg": 28.0,
    "peak_knee_flexion_swing_deg": 86.0,
}
VALIDATED_SIDE = (
    "posture.run_tall",
    "legs.overstride",
    "legs.knee_drive",
    "legs.heel_to_hamstring",
)
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


def test_a_clean_side_stride_is_ok_where_judged_and_shows_the_rest_as_information():
    report = evaluate_stride(stride_with(GOOD_SIDE), build_rules(), "side")
    assert report.grade is Verdict.OK and report.worst_cue is None
    assert {r.cue_id for r in report.cues if r.verdict is Verdict.OK} == set(VALIDATED_SIDE)
    info = {r.cue_id for r in report.cues if r.verdict is Verdict.INFO}
    assert info == {
        "posture.body_in_line",
        "head.look_ahead",
        "legs.push_off",
        "arms.elbows_back",
        "arms.hands_shoulder_height",
    }
    assert result(report, "posture.square_shoulders").reason == "needs a front view"
    assert result(report, "arms.no_cross_body").reason == "needs a front view"


def test_front_view_gates_side_cues_and_shows_front_cues():
    report = evaluate_stride(stride_with({**GOOD_SIDE, **GOOD_FRONT}), build_rules(), "front")
    assert result(report, "posture.square_shoulders").verdict is Verdict.INFO
    assert result(report, "arms.no_cross_body").verdict is Verdict.INFO
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
    why = "shank reach before strike: keypoints unseen for 80 ms of the window"
    metrics = {
        **GOOD_SIDE,
        "peak_shank_angle_before_strike_deg": MetricValue(float("nan"), "deg", 0.0, why),
    }
    r = result(evaluate_stride(stride_with(metrics), build_rules(), "side"), "legs.overstride")
    assert r.verdict is Verdict.UNKNOWN
    assert r.reason == "not measured: " + why
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


def test_grade_is_the_worst_validated_verdict_and_priority_breaks_ties():
    # Two faults: run tall (priority 1) beats overstride (priority 2).
    metrics = {**GOOD_SIDE, "trunk_lean_deg": 25.0, "peak_shank_angle_before_strike_deg": 30.0}
    report = evaluate_stride(stride_with(metrics), build_rules(), "side")
    assert report.grade is Verdict.FAULT and report.worst_cue == "posture.run_tall"
    # A fault anywhere outranks a warn on a higher-priority cue.
    metrics = {**GOOD_SIDE, "trunk_lean_deg": 15.0, "peak_knee_flexion_swing_deg": 50.0}
    report = evaluate_stride(stride_with(metrics), build_rules(), "side")
    assert report.grade is Verdict.FAULT and report.worst_cue == "legs.heel_to_hamstring"
    # An information-only cue never counts, however far out its value is.
    metrics = {**GOOD_SIDE, "peak_shank_angle_before_strike_deg": 20.0, "head_pitch_deg": 60.0}
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
    ana = AthleteProfile("Ana", 168.0, {"legs.overstride": {"warn": 26.0, "fault": 32.0}})
    bo = AthleteProfile("Bo", None, {}, frozenset({"legs.overstride"}))
    evaluator = CueEvaluator(athletes=[ana, bo], view="auto")
    stride = stride_with({**GOOD_SIDE, "peak_shank_angle_before_strike_deg": 28.0})
    assert result(evaluator.evaluate(stride, "side"), "legs.overstride").verdict is Verdict.FAULT
    assert evaluator.select_athlete("Ana") is ana and evaluator.athlete is ana
    r = result(evaluator.evaluate(stride, "side"), "legs.overstride")
    assert r.verdict is Verdict.WARN and r.threshold == 26.0
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
    assert result(report, "arms.no_cross_body").verdict is Verdict.INFO
    assert result(report, "posture.run_tall").reason == "needs a side view"


# --- plausibility gates ------------------------------------------------------------------


def test_impossible_strike_geometry_withholds_every_event_reading_with_the_reason():
    metrics = {**GOOD_SIDE, "trunk_lean_deg": 30.0, "knee_flexion_at_foot_strike_deg": 85.3}
    report = CueEvaluator().evaluate(stride_with(metrics), "side", front_confidence=0.0)
    (knee,) = [g for g in report.gates if g.gate == "knee at strike"]
    assert knee.metrics == EVENT_METRICS and "85.3 outside [-10, 50]" in knee.reason
    for cue_id in ("legs.overstride", "legs.knee_drive", "legs.heel_to_hamstring"):
        r = result(report, cue_id)
        assert r.verdict is Verdict.UNRELIABLE and r.reason == knee.reason, cue_id
    assert result(report, "legs.overstride").value == 9.0  # kept, flagged
    assert result(report, "posture.body_in_line").verdict is Verdict.UNRELIABLE
    assert report.unreliable_reason("knee_flexion_at_foot_strike_deg") == knee.reason
    # The trunk lean over the whole cycle does not depend on where the strike was placed.
    lean = result(report, "posture.run_tall")
    assert lean.verdict is Verdict.FAULT and not report.unreliable_reason("trunk_lean_deg")
    assert report.reliable and report.grade is Verdict.FAULT
    assert report.worst_cue == "posture.run_tall"
    # Cues that cannot be judged anyway keep their own reason.
    assert result(report, "head.relaxed_face").verdict is Verdict.UNKNOWN
    assert result(report, "arms.no_cross_body").reason == "needs a front view"


def test_a_toe_off_gate_withholds_only_the_toe_off_metrics():
    metrics = {**GOOD_SIDE, "duty_factor": 0.62}
    report = CueEvaluator().evaluate(stride_with(metrics), "side", front_confidence=0.0)
    assert report.reliable and report.grade is Verdict.OK
    assert result(report, "legs.knee_drive").verdict is Verdict.UNRELIABLE
    assert result(report, "legs.heel_to_hamstring").verdict is Verdict.UNRELIABLE
    assert result(report, "posture.run_tall").verdict is Verdict.OK


def test_front_metrics_of_a_stride_not_seen_from_the_front_are_flagged():
    stride = stride_with({**GOOD_SIDE, **GOOD_FRONT, "shoulder_tilt_max_deg": 85.0})
    side = CueEvaluator().evaluate(stride, "side", front_confidence=0.0)
    assert side.unreliable_reason("shoulder_tilt_max_deg").startswith("front view:")
    assert side.reliable and not side.unreliable_reason("trunk_lean_deg")
    front = CueEvaluator(view="front").evaluate(stride, "front", front_confidence=0.8)
    assert not front.unreliable_reason("shoulder_tilt_max_deg")
    assert result(front, "posture.square_shoulders").verdict is Verdict.INFO


def test_the_stride_time_gate_compares_with_the_strides_before():
    evaluator = CueEvaluator()
    for k in range(4):  # 0.7 s strides
        report = evaluator.evaluate(stride_with(GOOD_SIDE, index=k), "side")
        assert all(g.gate != "stride time" for g in report.gates)
    fs = GaitEvent(EventKind.FOOT_STRIKE, Leg.NEAR, 10.0)
    missed = Stride(9, Leg.NEAR, fs, None, GaitEvent(EventKind.FOOT_STRIKE, Leg.NEAR, 11.05))
    missed = dataclasses.replace(missed, metrics=stride_with(GOOD_SIDE).metrics)
    report = evaluator.evaluate(missed, "side")
    assert report.grade is Verdict.UNRELIABLE
    assert any(g.gate == "stride time" and "1.5" in g.reason for g in report.gates)
    evaluator.reset_history()  # a new pass: nothing to compare with
    assert evaluator.evaluate(missed, "side").grade is Verdict.OK


# --- running median, speed, focus ----------------------------------------------------------


def test_each_cue_is_judged_on_the_median_of_its_last_reliable_readings():
    evaluator = CueEvaluator(smooth_strides=3)
    leans = [7.0, 16.0, 8.0, 17.0, 18.0]  # one odd stride, then a real change
    verdicts = []
    for k, lean in enumerate(leans):
        report = evaluator.evaluate(stride_with({**GOOD_SIDE, "trunk_lean_deg": lean}, k), "side")
        r = result(report, "posture.run_tall")
        assert r.value == lean  # the stride's own reading is what is shown
        verdicts.append((r.verdict, r.judged_value))
    assert verdicts == [
        (Verdict.OK, 7.0),
        (Verdict.OK, 11.5),
        (Verdict.OK, 8.0),
        (Verdict.WARN, 16.0),
        (Verdict.WARN, 17.0),
    ]
    alone = CueEvaluator(smooth_strides=1)
    r = result(
        alone.evaluate(stride_with({**GOOD_SIDE, "trunk_lean_deg": 16.0}), "side"),
        "posture.run_tall",
    )
    assert (r.verdict, r.judged_value) == (Verdict.WARN, 16.0)


def test_unreliable_readings_never_enter_the_running_median():
    evaluator = CueEvaluator(smooth_strides=3)
    key = "peak_shank_angle_before_strike_deg"
    evaluator.evaluate(stride_with({**GOOD_SIDE, key: 9.0}, 0), "side")
    gated = {**GOOD_SIDE, key: 40.0, "shank_angle_at_foot_strike_deg": -60.0}
    report = evaluator.evaluate(stride_with(gated, 1), "side")
    assert result(report, "legs.overstride").verdict is Verdict.UNRELIABLE
    report = evaluator.evaluate(stride_with({**GOOD_SIDE, key: 11.0}, 2), "side")
    r = result(report, "legs.overstride")
    assert r.judged_value == 10.0  # the median of 9 and 11: the impossible stride is not in it


def test_speed_comes_from_the_session_then_the_athlete_then_stride_length():
    ana = AthleteProfile("Ana", 168.0, speed_mps=3.5)
    evaluator = CueEvaluator(athletes=[ana])
    stride = stride_with({**GOOD_SIDE, "peak_knee_flexion_swing_deg": 80.0})
    report = evaluator.evaluate(stride, "side")
    assert (report.speed.mps, report.speed.source) == (None, "unknown")
    assert result(report, "legs.heel_to_hamstring").verdict is Verdict.OK  # lenient: 62.75
    evaluator.select_athlete("Ana")
    report = evaluator.evaluate(stride, "side")
    assert (report.speed.mps, report.speed.source) == (3.5, "athlete")
    assert result(report, "legs.heel_to_hamstring").verdict is Verdict.WARN  # at 3.5: 85.7
    evaluator.set_speed(2.5)
    report = evaluator.evaluate(stride, "side")
    assert (report.speed.mps, report.speed.source) == (2.5, "session")
    assert result(report, "legs.heel_to_hamstring").threshold == pytest.approx(70.4)
    # Stride length (cm, from a scale) over stride time estimates it when nothing is set.
    plain = CueEvaluator()
    moving = {**GOOD_SIDE, "stride_length_cm": MetricValue(245.0, "cm", 1.0)}  # 0.7 s strides
    for k in range(3):
        plain.evaluate(stride_with(moving, k), "side")
    assert (plain.speed.mps, plain.speed.source) == (3.5, "estimated")


def test_focus_comes_from_the_session_then_the_athlete_then_the_config():
    ana = AthleteProfile("Ana", focus=("legs.overstride",))
    evaluator = CueEvaluator(athletes=[ana], focus=("posture.run_tall",))
    assert evaluator.evaluate(stride_with(GOOD_SIDE), "side").focus == ("posture.run_tall",)
    evaluator.select_athlete("Ana")
    assert evaluator.focus == ("legs.overstride",)
    evaluator.set_focus(("legs.knee_drive", "posture.run_tall"))
    assert evaluator.evaluate(stride_with(GOOD_SIDE), "side").focus == (
        "legs.knee_drive",
        "posture.run_tall",
    )
    evaluator.set_focus(())
    assert evaluator.focus == ()  # none: the LED follows the grade
    evaluator.set_focus(None)
    assert evaluator.focus == ("legs.overstride",)
    with pytest.raises(ConfigError, match="information only"):
        evaluator.set_focus(("head.look_ahead",))
    with pytest.raises(ConfigError, match="at most 2"):
        evaluator.set_focus(("legs.knee_drive", "posture.run_tall", "legs.overstride"))


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
