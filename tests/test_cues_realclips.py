"""End to end on the real clips: MoveNet → gait (batch and live) → gates → cues → alerts.

Every clip in ``../shared/media`` is a side view.  The checks are what must hold whatever
the runner does (every cue answered on every stride with an honest verdict, no impossible
reading judged, front-only cues gated with the reason, alerts that do not flicker), the
plausibility gates on real recorded poses spoiled the way the gait stage spoils them, and
the outcomes issue 10 asks for on the coaches' clips (measured, not fitted: the limits come
from papers and lab data, see docs/cue-calibration.md).
"""

from __future__ import annotations

import dataclasses
import math
from functools import cache
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest

from edge.analysis import RunAnalyzer, judge_poses
from edge.cues.catalogue import CATALOGUE, CUES_BY_ID
from edge.cues.evaluate import CueEvaluator
from edge.cues.rolling import RollingCues
from edge.cues.settings import CuesConfig
from edge.cues.summary import summarize
from edge.cues.table import format_stride_table
from edge.gait.gates import EVENT_METRICS, GATES, GateScope
from edge.gait.metrics import stride_metrics
from edge.gait.timing import stride_timing
from edge.gait.track import LimbJoint
from edge.types import EventKind, GaitEvent, Leg, Pose, Stride, StrideReport, Verdict

CLIPS = (
    "eliud_kipchoge_sub2_marathon.gif",
    "jes_woods_nike_coach_1.gif",
    "movup_run_treadmill.mp4",
    "simplehrnet_running_track_wide.mp4",
    "sports2d_demo3_running_side.mp4",
)
ENGINES = ("batch", "live")

pytestmark = [pytest.mark.media, pytest.mark.model]


@cache
def keypoints_of(clip: Path, model: Path) -> tuple[np.ndarray, np.ndarray, tuple[int, int]]:
    """Timestamps, (N, 17, 3) keypoints and the image size of a clip, through the real model."""
    from edge.capture import open_source
    from edge.pose.movenet import PoseEstimator
    from edge.replay import iter_poses

    estimator = PoseEstimator(model, num_threads=2)
    t, k, size = [], [], (0, 0)
    with open_source(clip) as source:
        for _, pose in iter_poses(source, estimator):
            t.append(pose.timestamp)
            k.append(pose.keypoints)
            size = pose.image_size
    return np.asarray(t), np.stack(k), size


@cache
def cue_reports(clip: Path, model: Path, engine: str = "batch") -> tuple[list[StrideReport], float]:
    """The clip's judged strides as the product makes them: batch (``judge_poses``) or live
    (every pose pushed through ``RunAnalyzer``, as the daemon does)."""
    t, k, size = keypoints_of(clip, model)
    if engine == "batch":
        reports = judge_poses(t, k, CuesConfig()).reports
    else:
        analyzer = RunAnalyzer(CuesConfig())
        reports = []
        for i, (ti, kp) in enumerate(zip(t, k, strict=True)):
            reports += analyzer.push(Pose(float(ti), i, kp, size)).reports
        reports += analyzer.flush().reports  # the recording ended, as the daemon does
    return reports, float(t[-1] - t[0])


def judged_reports(media_dir, model, clip, engine) -> tuple[list[StrideReport], float]:
    reports, duration = cue_reports(media_dir / clip, model, engine)
    if not reports and duration < 2.0:
        pytest.skip(f"{clip} {engine}: {duration:.1f} s clip, the gait engine found no stride")
    assert reports, "the gait engine found no stride"
    return reports, duration


def by_id(report: StrideReport) -> dict:
    return {r.cue_id: r for r in report.cues}


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("clip", CLIPS)
def test_every_cue_is_answered_honestly_on_real_footage(media_dir, lightning_model, clip, engine):
    reports, _ = judged_reports(media_dir, lightning_model, clip, engine)
    judged = 0
    for report in reports:
        assert [r.cue_id for r in report.cues] == [c.id for c in CATALOGUE]
        for cue, r in zip(CATALOGUE, report.cues, strict=True):
            if not cue.judged:
                assert r.verdict is Verdict.UNKNOWN and r.reason.startswith("not measurable")
            elif "front" in cue.views and "side" not in cue.views:
                # Side-view footage: never judged; the reason is the view, either known
                # to be side or too uncertain to tell (e.g. a runner entering the frame).
                assert r.verdict is Verdict.UNKNOWN
                assert r.reason in ("needs a front view", "camera view not recognised")
            elif r.verdict is Verdict.UNRELIABLE:
                # Flagged with the gate that failed, and that gate covers the cue's metric.
                assert r.reason and report.unreliable_reason(cue.metric) == r.reason
            elif not cue.validated:
                assert r.verdict in (Verdict.INFO, Verdict.UNKNOWN), cue.id
                assert r.threshold is None and math.isnan(r.judged_value)
                if r.verdict is Verdict.INFO:
                    assert math.isfinite(r.value) and r.information_only
            elif r.verdict is Verdict.UNKNOWN:
                assert r.reason
            else:
                judged += 1
                assert math.isfinite(r.value) and math.isfinite(r.judged_value)
                assert 0.0 <= r.confidence <= 1.0 and r.threshold is not None
        # The grade is the worst validated verdict, or unreliable for a gated stride.
        worst = [r.verdict for r in report.cues if r.verdict.judged]
        if not report.reliable:
            assert report.grade is Verdict.UNRELIABLE and report.worst_cue is None
        elif worst:
            order = (Verdict.OK, Verdict.WARN, Verdict.FAULT)
            assert report.grade is max(worst, key=order.index)
        else:
            assert report.grade is Verdict.UNKNOWN
    assert judged > 0 or all(not r.reliable for r in reports)
    lines = format_stride_table(reports).splitlines()
    rows = lines[3 : 3 + len(reports)]
    assert [int(row.split()[0]) for row in rows] == [r.stride.index for r in reports]
    # A cue judged on no stride has no column, only a line naming it after the table.
    for cue in CATALOGUE:
        if cue.judged and all(
            r.verdict is Verdict.UNKNOWN for rep in reports for r in rep.cues if r.cue_id == cue.id
        ):
            assert any(line.split()[:1] == [cue.id] for line in lines[3 + len(reports) :])


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("clip", CLIPS)
def test_no_impossible_reading_is_judged_on_real_footage(media_dir, lightning_model, clip, engine):
    reports, _ = judged_reports(media_dir, lightning_model, clip, engine)
    for report in reports:
        metrics = report.stride.metrics
        for gate in GATES:
            if gate.scope is GateScope.FRONT or gate.name == "stride time":
                continue
            # Recomputed from the stride itself: any impossible reading is flagged ...
            key = {
                "duty factor": "duty_factor",
                "knee at strike": "knee_flexion_at_foot_strike_deg",
                "shank at strike": "shank_angle_at_foot_strike_deg",
                "foot ahead at strike": "overstride_leg_length",
                "segment length": "leg_segment_length_change",
            }[gate.name]
            value = metrics[key].value if key in metrics else math.nan
            if math.isfinite(value) and not gate.low <= value <= gate.high:
                assert any(g.gate == gate.name for g in report.gates), (gate.name, value)
        # ... and no judged cue reads a value a failed gate covers.
        for r in report.cues:
            if r.verdict.judged:
                assert not report.unreliable_reason(CUES_BY_ID[r.cue_id].metric), r.cue_id
        for failure in report.gates:
            assert failure.reason.startswith(failure.gate + ": ")
        # Every stride of a side-view clip carries the front-view gate: its front metrics
        # (shoulder tilt, wrist crossing) are never shown as plain numbers.
        assert "front view: " in report.unreliable_reason("shoulder_tilt_max_deg")


# --- the gates on real recorded poses, spoiled the way the gait stage spoils them ---------


@cache
def movup_batch(media_dir: Path, model: Path):
    t, k, _ = keypoints_of(media_dir / "movup_run_treadmill.mp4", model)
    judged = judge_poses(t, k, CuesConfig())
    clean = [
        (i, r) for i, r in enumerate(judged.reports) if r.reliable and len(r.gates) == 1
    ]  # only the front-view gate: the real stride is plausible
    assert len(clean) >= 15
    return judged.analysis, judged.reports, clean


def remeasured(analysis, stride: Stride) -> Stride:
    """``stride`` with its timing and kinematic metrics read again on the real track."""
    metrics = dict(stride_timing(stride.foot_strike, stride.toe_off, stride.next_foot_strike, []))
    metrics.update(stride_metrics(analysis.track, stride, []))
    return dataclasses.replace(stride, metrics=metrics)


def moved(stride: Stride, by: float, toe_off: float | None = None) -> Stride:
    def event(kind, time):
        return GaitEvent(kind, stride.leg, time)

    if toe_off is None and stride.toe_off is not None:
        toe_off = stride.toe_off.time + by
    return dataclasses.replace(
        stride,
        foot_strike=event(EventKind.FOOT_STRIKE, stride.foot_strike.time + by),
        toe_off=None if toe_off is None else event(EventKind.TOE_OFF, toe_off),
        next_foot_strike=event(EventKind.FOOT_STRIKE, stride.next_foot_strike.time + by),
    )


def judge_after_history(stride: Stride, history: list[Stride]) -> StrideReport:
    evaluator = CueEvaluator()
    for earlier in history:
        evaluator.evaluate(earlier, "side", front_confidence=0.0)
    return evaluator.evaluate(stride, "side", front_confidence=0.0)


def test_strikes_placed_in_mid_swing_on_real_poses_are_gated(media_dir, lightning_model):
    """The live engine's worst error (issue 10: knee at 'strike' 62-99 deg, shank -49 to
    -87 deg): the same real strides with both strikes moved into mid-swing."""
    analysis, _, clean = movup_batch(media_dir, lightning_model)
    caught = 0
    for _, report in clean:
        s = report.stride
        spoiled = remeasured(analysis, moved(s, 0.6 * s.duration))
        result = CueEvaluator().evaluate(spoiled, "side", front_confidence=0.0)
        failed = {g.gate for g in result.gates} & {"knee at strike", "shank at strike"}
        caught += bool(failed)
        if failed:
            assert by_id(result)["legs.overstride"].verdict is Verdict.UNRELIABLE
            assert by_id(result)["legs.knee_drive"].verdict is Verdict.UNRELIABLE
            # Trunk lean over a full cycle does not depend on where the cycle starts.
            assert by_id(result)["posture.run_tall"].verdict.judged
    assert caught >= 0.9 * len(clean), (caught, len(clean))


def test_a_knee_keypoint_on_the_shin_of_real_poses_is_gated(media_dir, lightning_model):
    analysis, _, clean = movup_batch(media_dir, lightning_model)
    for _, report in clean[:8]:
        s = report.stride
        track = analysis.track
        limb = track.near if s.leg is Leg.NEAR else track.far
        spoilt_limb = limb.copy()
        at = np.abs(track.t - s.foot_strike.time) <= 0.05  # the frames around the strike
        knee, ankle = spoilt_limb[at, LimbJoint.KNEE, :2], spoilt_limb[at, LimbJoint.ANKLE, :2]
        spoilt_limb[at, LimbJoint.KNEE, :2] = 0.5 * (knee + ankle)
        near, far = (spoilt_limb, track.far) if s.leg is Leg.NEAR else (track.near, spoilt_limb)
        spoilt = dataclasses.replace(analysis, track=dataclasses.replace(track, near=near, far=far))
        result = CueEvaluator().evaluate(remeasured(spoilt, s), "side", front_confidence=0.0)
        (failure,) = [g for g in result.gates if g.gate == "segment length"]
        assert failure.metrics == EVENT_METRICS


def test_a_missed_strike_in_real_poses_is_gated(media_dir, lightning_model):
    """Two real strides of one leg joined into one, as when the strike between is missed."""
    analysis, reports, clean = movup_batch(media_dir, lightning_model)
    index = [i for i, _ in clean]
    tried = 0
    for i in index:
        same_leg = [r for r in reports[i + 1 :] if r.stride.leg is reports[i].stride.leg][:1]
        history = [r.stride for r in reports[max(0, i - 5) : i]]
        if not same_leg or len(history) < 3:
            continue
        s, nxt = reports[i].stride, same_leg[0].stride
        joined = remeasured(analysis, dataclasses.replace(s, next_foot_strike=nxt.next_foot_strike))
        result = judge_after_history(joined, history)
        assert result.grade is Verdict.UNRELIABLE
        assert any(g.gate == "stride time" and g.metrics is None for g in result.gates)
        tried += 1
    assert tried >= 10


def test_a_toe_off_placed_before_the_next_strike_in_real_poses_is_gated(media_dir, lightning_model):
    analysis, _, clean = movup_batch(media_dir, lightning_model)
    for _, report in clean[:8]:
        s = report.stride
        late = s.next_foot_strike.time - 0.2 * s.duration  # duty factor 0.8: no flight
        result = CueEvaluator().evaluate(
            remeasured(analysis, moved(s, 0.0, toe_off=late)), "side", front_confidence=0.0
        )
        (failure,) = [g for g in result.gates if g.gate == "duty factor"]
        assert failure.metrics == GateScope.TOE_OFF.metrics()
        assert by_id(result)["legs.heel_to_hamstring"].verdict is Verdict.UNRELIABLE
        assert result.reliable and by_id(result)["posture.run_tall"].verdict.judged


# --- runner feedback and summaries --------------------------------------------------------


@pytest.mark.parametrize("clip", CLIPS)
def test_alerts_do_not_flicker_on_real_footage(media_dir, lightning_model, clip):
    reports, duration = judged_reports(media_dir, lightning_model, clip, "batch")
    rolling = RollingCues()
    flips: dict[str, list[tuple[float, bool]]] = {}
    for report in reports:
        for alert in rolling.update(report):
            assert CUES_BY_ID[alert.cue_id].validated  # information-only cues never alert
            flips.setdefault(alert.cue_id, []).append((alert.time, alert.active))
    # The flicker a runner sees: an alert that clears and comes straight back.
    for cue_id, states in flips.items():
        for (t_clear, was_raised), (t_raise, _) in pairwise(states):
            if not was_raised:
                assert t_raise - t_clear >= 2.0, (cue_id, states)
    # A rate is only meaningful over a long enough clip (the treadmill one, ~21 s).
    if duration >= 10.0:
        assert sum(map(len, flips.values())) / (duration / 60.0) <= 30.0


def test_treadmill_clip_summary_is_plausible(media_dir, lightning_model):
    reports, _ = judged_reports(media_dir, lightning_model, "movup_run_treadmill.mp4", "batch")
    summary = summarize(reports)
    assert summary.strides >= 20
    tall = summary.cue("posture.run_tall")
    assert tall.share(Verdict.UNKNOWN) <= 0.2
    assert tall.share(Verdict.UNRELIABLE) < 0.5
    lean = summary.metric("trunk_lean_deg")
    assert 0.0 < lean.mean < 20.0  # a runner, not a sprinter's start or a stroll
    # The impossible knee angles at "strike" are left out of the session's statistics.
    knee = summary.metric("knee_flexion_at_foot_strike_deg")
    assert knee.low >= -10.0 and knee.high <= 50.0
    for cue in summary.cues:
        assert sum(cue.share(v) for v in Verdict) == pytest.approx(1.0)


# --- what issue 10 asks of the coaches' clips ----------------------------------------------


def grade_ok_share(reports: list[StrideReport]) -> tuple[float, int]:
    graded = [r.grade for r in reports if r.grade.judged]
    return sum(g is Verdict.OK for g in graded) / len(graded), len(graded)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("clip", ["eliud_kipchoge_sub2_marathon.gif", "jes_woods_nike_coach_1.gif"])
def test_good_runners_grade_ok(media_dir, lightning_model, clip, engine):
    """An elite marathoner, and a coach's "the right way" (captioned on every frame)."""
    reports, _ = judged_reports(media_dir, lightning_model, clip, engine)
    share, n = grade_ok_share(reports)
    assert n >= 1 and share >= 0.7, (share, n)


def flip_rate(verdicts: list[Verdict]) -> float:
    judged = [v for v in verdicts if v.judged]
    return sum(a is not b for a, b in pairwise(judged)) / (len(judged) - 1)


@pytest.mark.parametrize("engine", ENGINES)
def test_the_treadmill_coach_bent_over_raises_run_tall_and_verdicts_are_steady(
    media_dir, lightning_model, engine
):
    reports, _ = judged_reports(media_dir, lightning_model, "movup_run_treadmill.mp4", engine)
    rolling = RollingCues()
    raised_while_bent = False
    for report in reports:
        rolling.update(report)
        if 6.5 <= report.stride.foot_strike.time <= 10.0:  # visibly bent over
            raised_while_bent |= "posture.run_tall" in rolling.state.active
            tall = by_id(report)["posture.run_tall"].verdict
            assert tall in (Verdict.WARN, Verdict.FAULT, Verdict.UNRELIABLE), report.stride.index
    assert raised_while_bent
    assert flip_rate([r.grade for r in reports]) <= 0.15
    for cue in (c for c in CATALOGUE if c.validated):
        assert flip_rate([by_id(r)[cue.id].verdict for r in reports]) <= 0.2, cue.id


# --- live as batch ------------------------------------------------------------------------


@pytest.mark.parametrize("clip", CLIPS)
def test_live_and_batch_find_the_same_strides_and_agree_on_every_cue(
    media_dir, lightning_model, clip
):
    """Issue 10: what the daemon judges live and what a replay judges agree within 10 points
    per cue (every verdict's share, unknown and unreliable included).  Measured before the
    fixes: the slow-motion clip lost its first stride live (17 points on overstride), and a
    jes_woods stride read the far arm (11 points on elbows-back)."""
    batch, _ = judged_reports(media_dir, lightning_model, clip, "batch")
    live, _ = judged_reports(media_dir, lightning_model, clip, "live")
    t, _, _ = keypoints_of(media_dir / clip, lightning_model)
    frame = float(np.median(np.diff(t)))
    strikes = [r.stride.foot_strike.time for r in live]
    found = [any(abs(b.stride.foot_strike.time - s) <= 1.5 * frame for s in strikes) for b in batch]
    assert sum(found) >= len(batch) - max(1, len(batch) // 20), found  # the first one too
    assert found[0] or len(batch) > 20, "the pass's first stride was lost live"
    for cue in CATALOGUE:
        for verdict in Verdict:
            shares = [
                sum(by_id(r)[cue.id].verdict is verdict for r in reports) / len(reports)
                for reports in (batch, live)
            ]
            assert abs(shares[0] - shares[1]) <= 0.10, (cue.id, verdict, shares)
