"""What the cue validation harness (scripts/validate_cues.py) computes.

Synthetic inputs with known answers for the statistics (verdict shares, flip rate, bias and
error, stride matching), the lab-stride bookkeeping, the event-timing rules, the candidate
readings, the plausibility gates and the proposed judgement; then one end-to-end run on a
real lab trial and a real clip.
"""

from __future__ import annotations

import gzip
import math
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))

import cue_proposal as proposal
import validate_cues as vc
from gait_groundtruth import LabEvent, LabTrial, load_fukuchi

from edge.gait.timing import TOE_OFF_METRICS
from edge.gait.track import SideViewTrack
from edge.types import EventKind, GaitEvent, Leg, MetricValue, Stride, StrideReport, Verdict

OK, WARN, FAULT, UNKNOWN = Verdict.OK, Verdict.WARN, Verdict.FAULT, Verdict.UNKNOWN


# --- statistics -------------------------------------------------------------------------


def test_flip_rate_counts_changes_between_judged_strides_only():
    # Judged sequence ok, ok, warn, ok, warn: three changes in four transitions.
    assert vc.flip_rate([OK, OK, WARN, OK, UNKNOWN, WARN]) == pytest.approx(0.75)
    assert vc.flip_rate([FAULT, UNKNOWN, FAULT, FAULT]) == 0.0
    assert math.isnan(vc.flip_rate([OK, UNKNOWN, UNKNOWN]))


def test_shares_with_and_without_unknown():
    verdicts = [OK, WARN, WARN, UNKNOWN]
    assert vc.verdict_shares(verdicts) == {OK: 0.25, WARN: 0.5, FAULT: 0.0, UNKNOWN: 0.25}
    judged = vc.judged_shares(verdicts)
    assert judged[OK] == pytest.approx(1 / 3) and judged[WARN] == pytest.approx(2 / 3)
    assert all(math.isnan(v) for v in vc.judged_shares([UNKNOWN]).values())


def test_error_stats_skip_pairs_with_a_missing_value():
    stats = vc.error_stats([1.0, 2.0, math.nan, 5.0], [0.0, 2.5, 1.0, 4.0])
    assert stats.n == 3
    assert stats.bias == pytest.approx((1.0 - 0.5 + 1.0) / 3)
    assert stats.median_abs == pytest.approx(1.0)


def test_match_strides_pairs_same_side_nearest_unused_within_tolerance():
    key = vc.StrideKey
    truth = [key("R", 1.0, 1.7), key("L", 1.35, 2.05), key("R", 1.7, 2.4)]
    detected = [
        key("R", 1.03, 1.72),  # matches truth 0, but detection 3 is nearer
        key("L", 1.36, 2.30),  # next strike 0.25 s off: no match
        key("R", 1.71, 2.39),  # truth 2
        key("R", 1.02, 1.69),  # truth 0
        key("L", 1.70, 2.40),  # the right times, the wrong side
    ]
    assert vc.match_strides(detected, truth) == [(2, 2), (3, 0)]


# --- lab bookkeeping ---------------------------------------------------------------------


def lab_trial(events: list[LabEvent], frames: int = 300) -> LabTrial:
    t = np.arange(frames) / 150.0
    joints = {}
    for side, z in (("R", 0.1), ("L", -0.1)):
        joints[(side, "hip")] = np.column_stack(
            [np.zeros(frames), np.full(frames, 0.9), np.full(frames, z)]
        )
        joints[(side, "knee")] = joints[(side, "hip")] - [0.0, 0.45, 0.0]
        joints[(side, "ankle")] = joints[(side, "hip")] - [0.0, 0.9, 0.0]
    return LabTrial("synthetic", t, joints, events, treadmill=True)


def test_true_strides_pair_same_side_strikes_and_name_the_near_leg():
    events = [
        LabEvent("R", 1.0, 1.3),
        LabEvent("L", 1.35, 1.65),
        LabEvent("R", 1.7, 2.0),
        LabEvent("L", 2.05, math.nan),
    ]
    strides = vc.true_strides(lab_trial(events), near_side="L")
    assert [(s.foot_strike.time, s.next_foot_strike.time) for s in strides] == [
        (1.0, 1.7),
        (1.35, 2.05),
    ]
    assert [s.leg for s in strides] == [Leg.FAR, Leg.NEAR]
    assert [s.toe_off.time for s in strides] == [1.3, 1.65]


def test_a_single_strike_gets_its_next_strike_from_the_other_legs_step():
    # The BMClab run holds one step: R strikes at 0.05, L at 0.40.
    strides = vc.true_strides(lab_trial([LabEvent("R", 0.05, 0.3), LabEvent("L", 0.40, 0.66)]), "R")
    by_side = {s.side.value: s.next_foot_strike.time for s in strides}
    assert by_side["right"] == pytest.approx(0.05 + 2 * 0.35)
    assert by_side["left"] == pytest.approx(0.40 + 2 * 0.35)


def test_glitch_frames_are_removed_from_the_side_that_has_them():
    trial = lab_trial([LabEvent("R", 1.0, 1.3)])
    trial.joints[("L", "hip")][100] += [0.0, 2.0, 0.0]  # the left hip jumps 2 m for one frame
    cleaned, removed = vc.without_glitches(trial)
    assert removed == 1
    assert np.isnan(cleaned.joints[("L", "knee")][100]).all()
    assert np.isfinite(cleaned.joints[("R", "hip")][100]).all()
    assert np.isfinite(cleaned.joints[("L", "hip")][99]).all()


# --- timing rules and candidate readings --------------------------------------------------


def stride(fs: float, to: float | None, nfs: float, leg: Leg = Leg.NEAR) -> Stride:
    return Stride(
        0,
        leg,
        GaitEvent(EventKind.FOOT_STRIKE, leg, fs),
        None if to is None else GaitEvent(EventKind.TOE_OFF, leg, to),
        GaitEvent(EventKind.FOOT_STRIKE, leg, nfs),
    )


def test_first_contact_rule_snaps_strikes_up_and_toe_offs_down_then_moves_whole_frames():
    t = np.arange(0, 2.0, 0.1)
    moved = vc.first_contact_rule(t, stride(0.23, 0.47, 0.93), 0)
    assert (moved.foot_strike.time, moved.toe_off.time, moved.next_foot_strike.time) == (
        pytest.approx(0.3),
        pytest.approx(0.4),
        pytest.approx(1.0),
    )
    early = vc.first_contact_rule(t, stride(0.23, 0.47, 0.93), -1)
    assert early.foot_strike.time == pytest.approx(0.2)
    assert early.toe_off.time == pytest.approx(0.3)


def test_interpolated_rule_moves_sub_frame_events_by_frame_intervals():
    t = np.arange(0, 2.0, 0.1)
    late = vc.interpolated_rule(t, stride(0.23, 0.47, 0.93), 1)
    assert late.foot_strike.time == pytest.approx(0.33)
    assert late.toe_off.time == pytest.approx(0.57)
    assert late.next_foot_strike.time == pytest.approx(1.03)


def swinging_leg_track(peak_deg: float = 20.0, peak_time: float = 0.95) -> SideViewTrack:
    """Hip fixed, thigh vertical (100 px), shank (100 px) swinging forward to ``peak_deg``
    at ``peak_time`` and back: the ankle reaches 100 sin(peak) px ahead of the hip."""
    t = np.arange(0.0, 2.0, 0.01)
    shank = np.radians(peak_deg * np.exp(-(((t - peak_time) / 0.08) ** 2)))
    near = np.zeros((len(t), 6, 3))
    near[:, :, 2] = 0.9
    near[:, 3, :2] = [300.0, 100.0]  # hip
    near[:, 4, :2] = [300.0, 200.0]  # knee
    near[:, 5, 0] = 300.0 + 100.0 * np.sin(shank)
    near[:, 5, 1] = 200.0 + 100.0 * np.cos(shank)
    head = np.zeros((len(t), 5, 3))
    return SideViewTrack(t, near, near.copy(), head, 1)


def test_candidate_readings_find_the_reach_before_the_strike_whatever_frame_it_is_read_at():
    track = swinging_leg_track()
    for fs in (1.0, 1.01, 0.99):  # the strike read a frame late or early
        s = stride(fs, None, fs + 0.7)
        assert proposal.peak_shank_before_strike(track, s) == pytest.approx(20.0, abs=0.05)
        assert proposal.peak_reach(track, s) == pytest.approx(
            100 * math.sin(math.radians(20)) / 200, abs=0.002
        )


def test_candidate_readings_only_look_at_the_100_ms_before_the_strike():
    track = swinging_leg_track(peak_time=0.5)  # reach long before the strike at 1.0 s
    assert proposal.peak_shank_before_strike(track, stride(1.0, None, 1.7)) < 1.0


# --- gates ----------------------------------------------------------------------------------


def report_for(s: Stride) -> StrideReport:
    return StrideReport(s, (), UNKNOWN)


def test_gate_inputs_carry_only_the_earlier_strides_durations():
    strides = [stride(0.0, None, 0.7), stride(0.35, None, 1.05), stride(0.7, None, 1.5)]
    inputs = proposal.gate_inputs([report_for(s) for s in strides], [None] * 3)
    assert [i.previous_stride_times for i in inputs] == [
        (),
        (pytest.approx(0.7),),
        (pytest.approx(0.7), pytest.approx(0.7)),
    ]


def test_stride_time_gate_needs_history_and_fires_beyond_a_quarter():
    gate = next(g for g in proposal.GATES if g.name == "stride time")
    long = stride(0.0, None, 0.9)
    assert gate.reason(proposal.GateInput(long, previous_stride_times=(0.7, 0.7))) is None
    why = gate.reason(proposal.GateInput(long, previous_stride_times=(0.7, 0.7, 0.72)))
    assert why is not None and "1.29" in why
    steady = stride(0.0, None, 0.71)
    assert gate.reason(proposal.GateInput(steady, previous_stride_times=(0.7, 0.7, 0.72))) is None


def test_segment_length_gate_sees_a_misplaced_knee_at_the_strike():
    track = swinging_leg_track()
    s = stride(1.0, None, 1.7)
    assert proposal.segment_length_change(proposal.GateInput(s, track)) < 0.01
    track.near[100, 4, 1] += 60.0  # the knee keypoint 60 px low in the strike frame
    change = proposal.segment_length_change(proposal.GateInput(s, track))
    assert change == pytest.approx(0.6, abs=0.01)  # thigh 160 px against 100


def test_gate_scopes_combine_to_what_becomes_unreliable():
    by_name = {g.name: g for g in proposal.GATES}
    keys, reasons = proposal.unreliable_metrics([(by_name["duty factor"], "duty factor: x")])
    assert keys == set(TOE_OFF_METRICS) and reasons == ["duty factor: x"]
    keys, _ = proposal.unreliable_metrics(
        [(by_name["duty factor"], "a"), (by_name["knee at strike"], "b")]
    )
    assert keys is None  # a stride-wide gate makes everything unreliable


# --- proposed judgement --------------------------------------------------------------------


def metrics(**values: float) -> dict[str, MetricValue]:
    return {k: MetricValue(v, "", 1.0) for k, v in values.items()}


def test_proposed_judgement_grades_only_validated_cues_and_marks_info_and_gated():
    m = metrics(
        trunk_lean_deg=25.0,  # fault (above 7.3 + 3 x 3.6)
        peak_shank_angle_before_strike_deg=10.0,  # ok
        peak_knee_flexion_swing_deg=98.0,  # ok at 3.5 m/s (fault at or below 75.7)
        peak_thigh_angle_swing_deg=33.0,
        head_pitch_deg=40.0,  # information only, however far out
    )
    cues, grade = proposal.proposed_judgement(m, 3.5, "side", set(), 0.25)
    assert cues["posture.run_tall"] == "fault"
    assert cues["legs.overstride"] == "ok"
    assert cues["legs.heel_to_hamstring"] == "ok"
    assert cues["head.look_ahead"] == proposal.INFO
    assert cues["posture.body_in_line"] == "unknown"  # not measured
    assert grade == "fault"
    cues, grade = proposal.proposed_judgement(m, 3.5, "side", {"trunk_lean_deg"}, 0.25)
    assert cues["posture.run_tall"] == proposal.UNRELIABLE and grade == "ok"
    cues, grade = proposal.proposed_judgement(m, 3.5, "side", None, 0.25)
    assert set(cues.values()) == {proposal.UNRELIABLE} and grade == proposal.UNRELIABLE


def test_speed_scaled_bands_are_most_lenient_without_a_speed():
    slow, fast, unknown = (proposal.knee_flexion_swing_band(v) for v in (2.5, 4.5, None))
    assert fast.low.warn - slow.low.warn == pytest.approx(2 * 15.3)
    assert unknown.low.warn < slow.low.warn  # drawn at the slowest running speed
    assert proposal.knee_flexion_swing_band(9.0).low.warn == fast.low.warn + 0.5 * 15.3


def test_running_median_judges_the_last_few_values():
    history: list[float] = []
    assert [proposal.running_median(history, v, 3) for v in (1.0, 9.0, 2.0, 3.0)] == [
        1.0,
        5.0,
        2.0,
        3.0,
    ]


# --- real data, end to end ------------------------------------------------------------------


def lab_overstride_at_strikes(groundtruth_dir: Path, side: str) -> np.ndarray:
    """Horizontal ankle - hip joint-centre distance at each force-plate strike of ``side``,
    in leg lengths, straight from the derived marker file (independent of the harness)."""
    folder = groundtruth_dir / "fukuchi2017_rbds" / "derived"
    with gzip.open(folder / "RBDS001runT25_jointcentres_derived.csv.gz", "rt") as f:
        data = np.genfromtxt(f, delimiter=",", names=True, skip_header=1)
    trial = load_fukuchi(groundtruth_dir, "T25")
    strikes = [
        e.foot_strike for e in trial.events if e.side == side and math.isfinite(e.foot_strike)
    ]
    ahead = data[f"{side}_AJC_X"] - data[f"{side}_HJC_X"]
    ok = np.isfinite(ahead)
    return np.interp(strikes, data["time_s"][ok], ahead[ok]) / 1000.0 / trial.leg_length()


@pytest.mark.media
@pytest.mark.model
def test_end_to_end_on_a_lab_trial_and_a_clip(
    groundtruth_dir, media_dir, model_dir, tmp_path, capsys, monkeypatch
):
    monkeypatch.setenv("TRACKSIDE_MODEL_DIR", str(model_dir))
    # The truth the harness computes agrees with the lab markers themselves.
    trials = [(t, v) for t, v in vc.lab_trials(groundtruth_dir) if t.name == "fukuchi_T25"]
    truth = vc.lab_truth(trials)
    right = [
        s.stride.metrics["overstride_leg_length"].value
        for s in truth
        if s.key.side == "R" and s.camera_side == "R"
    ]
    assert len(right) >= 35
    assert np.median(right) == pytest.approx(
        np.median(lab_overstride_at_strikes(groundtruth_dir, "R")), abs=0.02
    )

    args = [
        "--groundtruth", str(groundtruth_dir),
        "--media", str(media_dir),
        "--trials", "fukuchi_T25",
        "--clips", "eliud_kipchoge_sub2_marathon",
        "--seeds", "1",
        "--gates", "--proposed",
        "--cache", str(tmp_path),
    ]  # fmt: skip
    assert vc.main(args) == 0
    out = capsys.readouterr().out
    for section in (
        "== Lab truth under the current catalogue",
        "== Pipeline against lab truth",
        "== eliud_kipchoge_sub2_marathon.gif",
        "== Proposed plausibility gates",
        "== Proposed bands",
    ):
        assert section in out
    matching = next(
        line for line in out.splitlines() if line.startswith("fukuchi_T25") and "batch" in line
    )
    found, matched, true = (int(x) for x in matching.split()[2:5])
    assert matched >= 0.95 * true and matched <= found  # one film: one camera side
    assert list(tmp_path.glob("eliud_kipchoge_sub2_marathon-*.npz"))

    # The second run reads the cached poses and prints the same clip verdicts.
    assert vc.main([*args, "--no-lab"]) == 0
    again = capsys.readouterr().out
    clip_block = out[out.index("== eliud_kipchoge") : out.index("== Acceptance segments")]
    assert clip_block in again
