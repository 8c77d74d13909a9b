"""What the engines put into each stride beyond timing: centimetres from the athlete's
height, and the front/rear-view metrics over the stride's frames.

The scale is checked on the Fukuchi RBDS001 treadmill run (subject 181 cm, RBDSinfo.txt)
projected to a side camera, where the true centimetres per pixel and the lab's own
ankle-ahead-of-hip distance at each force-plate strike are known.
"""

from __future__ import annotations

import numpy as np
import pytest

from edge.errors import ConfigError
from edge.gait.batch import analyse_arrays
from edge.gait.frontview import FRONTVIEW_UNITS
from edge.gait.scale import Scale
from edge.gait.streaming import GaitTracker
from edge.testing.groundtruth import Spoiling, film, load_fukuchi
from edge.types import Keypoint, Leg, Pose

SUBJECT_HEIGHT_CM = 181.0  # RBDS001, RBDSinfo.txt
WARM_UP = 3.0  # s: the stream decides near/far and the scale first


@pytest.fixture(scope="module")
def filmed(groundtruth_dir):
    trial = load_fukuchi(groundtruth_dir, "T25")
    return film(trial, 60, spoil=Spoiling(), seed=0, duration=15)


def _stream(filmed, keypoints=None, **options):
    keypoints = filmed.keypoints if keypoints is None else keypoints
    tracker = GaitTracker(**options)
    strides = [
        s
        for i, (t, kp) in enumerate(zip(filmed.t, keypoints, strict=True))
        for s in tracker.push(Pose(float(t), i, kp, filmed.image_size)).strides
    ]
    return tracker, strides


def _lab_overstride_cm(filmed) -> float:
    """Median forward (ankle - hip) of the near leg at its force-plate strikes (lab mm)."""
    trial, near = filmed.trial, filmed.near_side
    hip, ankle = trial.joints[(near, "hip")], trial.joints[(near, "ankle")]
    values = []
    for event in trial.events:
        if event.side == near and filmed.t[0] + WARM_UP < event.foot_strike < filmed.t[-1]:
            i = int(np.argmin(np.abs(trial.t - event.foot_strike)))
            values.append(100 * (ankle[i, 0] - hip[i, 0]))
    return float(np.median(values))


def test_height_gives_centimetres_matching_the_lab(filmed):
    true_cm_per_px = 100 * filmed.trial.leg_length() / filmed.leg_length_px
    lab = _lab_overstride_cm(filmed)  # ~18 cm
    batch = analyse_arrays(filmed.t, filmed.keypoints, athlete_height_cm=SUBJECT_HEIGHT_CM)
    tracker, streamed = _stream(filmed, athlete_height_cm=SUBJECT_HEIGHT_CM)
    assert tracker.scale is not None and tracker.scale.source == "athlete_height"
    # Winter's leg ratio is good to ~5 % for one person; the measured leg in pixels adds noise.
    assert tracker.scale.cm_per_px == pytest.approx(true_cm_per_px, rel=0.06)
    for strides in (batch.strides, [s for s in streamed if s.foot_strike.time > WARM_UP]):
        near = [s.metrics["overstride_cm"] for s in strides if s.leg is Leg.NEAR]
        assert len(near) >= 8
        assert all(m.note == "scale from athlete_height" for m in near)
        ours = float(np.nanmedian([m.value for m in near]))
        assert ours == pytest.approx(lab, abs=2.0)  # 2 cm ~ 5 % scale + keypoint noise
        assert all(np.isfinite(s.metrics["vertical_oscillation_cm"].value) for s in strides)


def test_without_height_or_scale_no_centimetres(filmed):
    batch = analyse_arrays(filmed.t[:300], filmed.keypoints[:300])
    assert batch.strides
    assert all(np.isnan(s.metrics["overstride_cm"].value) for s in batch.strides)


def test_explicit_scale_wins_over_height(filmed):
    scale = Scale.from_calibration(distance_cm=100.0, distance_px=250.0)
    t, kp = filmed.t[:300], filmed.keypoints[:300]
    batch = analyse_arrays(t, kp, scale=scale, athlete_height_cm=SUBJECT_HEIGHT_CM)
    plain = analyse_arrays(t, kp, stride_metrics=True)
    for with_scale, without in zip(batch.strides, plain.strides, strict=True):
        px = with_scale.metrics["overstride_leg_length"].value
        assert px == pytest.approx(without.metrics["overstride_leg_length"].value)
        assert with_scale.metrics["overstride_cm"].note == "scale from calibration"
    tracker = GaitTracker(scale=scale, athlete_height_cm=SUBJECT_HEIGHT_CM)
    assert tracker.scale is scale


@pytest.mark.parametrize("bad", [1.0, 0.4])
def test_a_bare_number_is_not_a_scale(bad):
    with pytest.raises(TypeError, match="athlete_height_cm"):
        GaitTracker(scale=bad)
    with pytest.raises(TypeError, match="athlete_height_cm"):
        analyse_arrays(np.zeros(0), np.zeros((0, 17, 3)), scale=bad)


def test_implausible_height_is_a_config_error():
    with pytest.raises(ConfigError, match="athlete_height_cm"):
        GaitTracker(athlete_height_cm=18.0)


def _tilted_shoulders(filmed):
    """The run with its shoulders 40 px apart and rocking by a known, slowly varying tilt
    (left shoulder lower by ``tilt_deg(t)``)."""
    t = filmed.t.astype(float)
    tilt = 12.0 * np.sin(2 * np.pi * t / 7.0)
    kp = filmed.keypoints.astype(float).copy()
    left, right = Keypoint.LEFT_SHOULDER, Keypoint.RIGHT_SHOULDER
    centre = 0.5 * (kp[:, left, :2] + kp[:, right, :2])
    half = 20.0
    kp[:, left, 0] = centre[:, 0] + half
    kp[:, right, 0] = centre[:, 0] - half
    drop = half * np.tan(np.radians(tilt))
    kp[:, left, 1] = centre[:, 1] + drop
    kp[:, right, 1] = centre[:, 1] - drop
    kp[:, [left, right], 2] = 0.9
    return t, kp, tilt


def test_front_view_metrics_are_merged_into_every_stride(filmed):
    t, kp, tilt = _tilted_shoulders(filmed)
    batch = analyse_arrays(t, kp)
    _, streamed = _stream(filmed, kp.astype(np.float32))
    for strides in (batch.strides, streamed):
        assert len(strides) >= 10
        for s in strides:
            assert set(FRONTVIEW_UNITS) <= set(s.metrics)
            inside = (t >= s.foot_strike.time) & (t <= s.next_foot_strike.time)
            expected = np.abs(tilt[inside]).max()
            got = s.metrics["shoulder_tilt_max_deg"]
            assert got.unit == "deg" and got.quality > 0
            assert got.value == pytest.approx(expected, abs=0.05)
            # The lab set has no wrist markers: measured as "not seen", never left out.
            assert s.metrics["wrist_crossing_shoulder_width"].note


def _events(leg_times):
    from edge.types import EventKind, GaitEvent

    kinds = {"S": EventKind.FOOT_STRIKE, "T": EventKind.TOE_OFF}
    legs = {"n": Leg.NEAR, "f": Leg.FAR}
    return [GaitEvent(kinds[k[0]], legs[k[1]], t, confidence=0.9) for k, t in leg_times]


@pytest.mark.parametrize(
    ("toe_off", "plausible"),
    [(0.25, True), (0.05, False), (0.52, False)],
    ids=["running", "contact too short", "duty factor too high"],
)
def test_implausible_toe_off_is_flagged_not_trusted(toe_off, plausible):
    from edge.gait.timing import IMPLAUSIBLE_QUALITY, TOE_OFF_METRICS, assemble

    # Near leg strikes at 0 and 0.7 s (stride 0.7 s), far leg at 0.35 s.
    events = _events(
        [("Sn", 0.0), ("Tn", toe_off), ("Sf", 0.35), ("Tf", 0.6), ("Sn", 0.7), ("Sf", 1.05)]
    )

    def kinematics(stride, opposite):
        from edge.types import MetricValue

        return {
            "hip_extension_at_toe_off_deg": MetricValue(12.0, "deg", 0.9),
            "knee_flexion_at_foot_strike_deg": MetricValue(20.0, "deg", 0.9),
        }

    steps, strides = assemble(events, stride_extra=kinematics)
    m = strides[0].metrics
    assert m["contact_time"].value == pytest.approx(toe_off)  # the value is still reported
    flagged = [k for k in TOE_OFF_METRICS if k in m and m[k].quality <= IMPLAUSIBLE_QUALITY]
    if plausible:
        assert flagged == []
    else:
        assert {"contact_time", "duty_factor", "hip_extension_at_toe_off_deg"} <= set(flagged)
        assert "implausible toe-off" in m["hip_extension_at_toe_off_deg"].note
        assert steps[0].metrics["contact_time"].quality <= IMPLAUSIBLE_QUALITY
    # A metric read at the strike does not depend on the toe-off.
    assert m["knee_flexion_at_foot_strike_deg"].quality == 0.9
