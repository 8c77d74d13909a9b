"""What the cue validation harness (scripts/validate_cues.py) computes.

Synthetic inputs with known answers for the statistics (verdict shares, flip rate, bias and
error, stride matching, gate counts), the lab-stride bookkeeping and the event-timing rules;
then the product's gates and limits on the real lab truth (every true stride of the shared
normal runners admitted and graded ok), and one end-to-end run on a real lab trial and a
real clip.
"""

from __future__ import annotations

import gzip
import math
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))

import validate_cues as vc

from edge.cues.catalogue import CATALOGUE
from edge.cues.settings import CuesConfig
from edge.testing.groundtruth import LabEvent, LabTrial, load_fukuchi
from edge.types import EventKind, GaitEvent, GateFailure, Leg, Stride, StrideReport, Verdict

OK, WARN, FAULT, UNKNOWN = Verdict.OK, Verdict.WARN, Verdict.FAULT, Verdict.UNKNOWN


# --- statistics -------------------------------------------------------------------------


def test_flip_rate_counts_changes_between_judged_strides_only():
    # Judged sequence ok, ok, warn, ok, warn: three changes in four transitions.
    assert vc.flip_rate([OK, OK, WARN, OK, UNKNOWN, WARN]) == pytest.approx(0.75)
    assert vc.flip_rate([FAULT, UNKNOWN, FAULT, FAULT]) == 0.0
    assert math.isnan(vc.flip_rate([OK, UNKNOWN, UNKNOWN]))


def test_shares_with_and_without_unknown():
    verdicts = [OK, WARN, WARN, UNKNOWN, Verdict.UNRELIABLE]
    assert vc.verdict_shares(verdicts) == {
        OK: 0.2,
        WARN: 0.4,
        FAULT: 0.0,
        UNKNOWN: 0.2,
        Verdict.INFO: 0.0,
        Verdict.UNRELIABLE: 0.2,
    }
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


# --- gate bookkeeping -----------------------------------------------------------------------


def report_for(s: Stride, *gates: GateFailure) -> StrideReport:
    grade = Verdict.UNRELIABLE if any(g.metrics is None for g in gates) else Verdict.UNKNOWN
    return StrideReport(s, (), grade, gates=gates)


def test_run_gate_inputs_carry_only_the_earlier_strides_durations():
    strides = [stride(0.0, None, 0.7), stride(0.35, None, 1.05), stride(0.7, None, 1.5)]
    inputs = vc.run_gate_inputs([report_for(s) for s in strides])
    assert [i.previous_stride_times for i in inputs] == [
        (),
        (pytest.approx(0.7),),
        (pytest.approx(0.7), pytest.approx(0.7)),
    ]


def test_gated_cell_counts_what_the_product_gated_of_what_could_be_checked():
    gates = {g.name: g for g in vc.GATES}
    steady = [stride(0.7 * k, None, 0.7 * (k + 1)) for k in range(4)]
    missed = stride(2.8, None, 4.2)
    why = GateFailure("stride time", "stride time: 2 outside [0.75, 1.25]")
    run = vc.gated_run([*(report_for(s) for s in steady), report_for(missed, why)])
    # The first three strides have too little history to be checked.
    assert vc.gated_cell([run], gates["stride time"]) == "1/2"
    # The front-view gate can always be checked; nothing failed it here.
    assert vc.gated_cell([run], gates["front view"]) == "0/5"


def test_share_gap_is_the_largest_difference_of_any_verdict():
    shares = {
        "batch": vc.verdict_shares([OK, OK, Verdict.UNRELIABLE, FAULT]),
        "live": vc.verdict_shares([OK, Verdict.UNRELIABLE, Verdict.UNRELIABLE, FAULT]),
    }
    assert vc.share_gap(shares, vc.VERDICTS) == pytest.approx(0.25)


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


def test_every_true_lab_stride_passes_the_gates_and_grades_ok(groundtruth_dir):
    """The product's gates and limits on real recorded lab data: no gate may fire on a true
    stride of a normal runner, and every validated cue grades >= 90 % of them ok."""
    trials = vc.lab_trials(groundtruth_dir)
    truth = vc.lab_truth(trials) + vc.lab_front_truth(trials)
    reports = vc.truth_reports(truth, CuesConfig(), ())
    assert len(reports) == len(truth) >= 300
    for s, report in zip(truth, reports, strict=True):
        side_view = s.view == "side"
        assert [g.gate for g in report.gates] == (["front view"] if side_view else []), s.key
    for cue in (c for c in CATALOGUE if c.validated):
        verdicts = [
            next(r.verdict for r in rep.cues if r.cue_id == cue.id)
            for s, rep in zip(truth, reports, strict=True)
            if s.view in cue.views
        ]
        judged = [v for v in verdicts if v.judged]
        assert judged, cue.id
        assert sum(v is OK for v in judged) / len(judged) >= 0.9, cue.id


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
        "--gates",
        "--cache", str(tmp_path),
    ]  # fmt: skip
    assert vc.main(args) == 0
    out = capsys.readouterr().out
    for section in (
        "== Lab truth under the current catalogue",
        "== Pipeline against lab truth",
        "== eliud_kipchoge_sub2_marathon.gif",
        "== Plausibility gates",
        "== Acceptance (issue 10)",
    ):
        assert section in out
    matching = next(
        line for line in out.splitlines() if line.startswith("fukuchi_T25") and "batch" in line
    )
    found, matched, true = (int(x) for x in matching.split()[2:5])
    assert matched >= 0.95 * true and matched <= found  # one film: one camera side
    assert list(tmp_path.glob("eliud_kipchoge_sub2_marathon-*.npz"))
    lab_line = next(ln for ln in out.splitlines() if "lab truth legs.heel_to_hamstring" in ln)
    assert lab_line.startswith("  [met]")

    # The second run reads the cached poses and prints the same clip verdicts.
    assert vc.main([*args, "--no-lab"]) == 0
    again = capsys.readouterr().out
    clip_block = out[out.index("== eliud_kipchoge") : out.index("== Acceptance segments")]
    assert clip_block in again
