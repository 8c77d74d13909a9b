"""Kinematic stride metrics: a synthetic stick-figure runner and real lab ground truth.

The synthetic runner's joint angles are known functions of time, so every expected value
below comes from evaluating those functions, not from numbers typed in.  The lab tests
project real marker data (Fukuchi 2017 treadmill running, BMClab overground running) to a
side-view pinhole camera, build the near/far track the way the gait engine would, take the
force-plate events as the stride, and compare with angles computed from the lab data.
"""

from __future__ import annotations

import gzip
import itertools
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from edge.gait.angles import interp_at
from edge.gait.metrics import METRIC_UNITS, stride_metrics
from edge.gait.scale import LEG_PER_HEIGHT, Scale, leg_length_px
from edge.gait.track import SideViewTrack
from edge.types import EventKind, GaitEvent, Leg, Stride

# --- a synthetic runner -------------------------------------------------------------------

THIGH_PX = 100.0
SHANK_PX = 100.0
LEG_PX = THIGH_PX + SHANK_PX
TRUNK_PX = 130.0
UPPER_ARM_PX = 62.0
FOREARM_PX = 50.0


@dataclass(frozen=True)
class Runner:
    """Gait cycle of period ``period`` starting (near-leg foot strike) at ``t0``."""

    t0: float = 0.3
    period: float = 0.72
    toe_off_phase: float = 0.35
    direction: int = 1
    lean_deg: float = 8.0
    head_pitch_deg: float = 10.0
    oscillation_px: float = 20.0  # hip peak-to-peak
    speed_px_s: float = 0.0  # 0 = treadmill
    x0: float = 640.0
    y0: float = 300.0

    # --- generating functions of the phase p = (t - t0) / period --------------------------
    def phase(self, t):
        return (np.asarray(t, dtype=float) - self.t0) / self.period

    @staticmethod
    def knee_flexion(p):
        p = np.mod(p, 1.0)
        return (
            12.0
            + 28.0 * np.exp(-(((p - 0.15) / 0.08) ** 2))
            + 100.0 * np.exp(-(((p - 0.65) / 0.13) ** 2))
        )

    @staticmethod
    def thigh(p):
        return 8.0 + 24.0 * np.cos(2 * np.pi * (p - 0.92))

    @staticmethod
    def upper_arm(p):  # forward positive, opposite to the same-side leg
        return -35.0 * np.cos(2 * np.pi * (p - 0.92))

    @staticmethod
    def elbow(p):  # interior angle
        return 85.0 + 15.0 * np.cos(2 * np.pi * p)

    def lean(self, p):
        return self.lean_deg + 2.0 * np.sin(4 * np.pi * p)

    # --- joint positions ---------------------------------------------------------------
    def hip(self, t):
        p = self.phase(t)
        x = self.x0 + self.direction * self.speed_px_s * (np.asarray(t) - self.t0)
        y = self.y0 + 0.5 * self.oscillation_px * np.cos(4 * np.pi * p)
        return np.stack([x + 0 * p, y], axis=-1)

    def _unit_down(self, angle_deg):
        a = np.radians(angle_deg)
        return np.stack([self.direction * np.sin(a), np.cos(a)], axis=-1)

    def leg(self, t, phase_shift=0.0):
        p = self.phase(t) + phase_shift
        hip = self.hip(t)
        thigh = self.thigh(p)
        knee = hip + THIGH_PX * self._unit_down(thigh)
        ankle = knee + SHANK_PX * self._unit_down(thigh - self.knee_flexion(p))
        return hip, knee, ankle

    def shoulder(self, t):
        lean = np.radians(self.lean(self.phase(t)))
        up = np.stack([self.direction * np.sin(lean), -np.cos(lean)], axis=-1)
        return self.hip(t) + TRUNK_PX * up

    def arm(self, t, phase_shift=0.0):
        p = self.phase(t) + phase_shift
        shoulder = self.shoulder(t)
        upper = self.upper_arm(p)
        elbow = shoulder + UPPER_ARM_PX * self._unit_down(upper)
        wrist = elbow + FOREARM_PX * self._unit_down(upper + 180.0 - self.elbow(p))
        return shoulder, elbow, wrist

    def head(self, t):
        shoulder = self.shoulder(t)
        ear = shoulder + np.array([self.direction * 8.0, -45.0])
        pitch = np.radians(self.head_pitch_deg)
        forward = np.stack(
            [self.direction * np.cos(pitch) + 0 * ear[..., 0], np.sin(pitch) + 0 * ear[..., 0]],
            axis=-1,
        )
        eye = ear + 16.0 * forward
        nose = ear + 22.0 * forward + np.array([0.0, 8.0])
        return nose, eye, eye + 1.0, ear, ear + 1.0

    # --- tracks and strides ------------------------------------------------------------
    def track(self, t, score=0.9) -> SideViewTrack:
        t = np.asarray(t, dtype=float)

        def limb(shift):
            sh, el, wr = self.arm(t, shift + 0.5)
            hip, knee, ankle = self.leg(t, shift)
            xy = np.stack([sh, el, wr, hip, knee, ankle], axis=1)
            return np.concatenate([xy, np.full((*xy.shape[:2], 1), score)], axis=-1)

        head = np.stack(self.head(t), axis=1)
        head = np.concatenate([head, np.full((*head.shape[:2], 1), score)], axis=-1)
        return SideViewTrack(
            t=t, near=limb(0.0), far=limb(0.5), head=head, direction=self.direction
        )

    def stride(self, with_toe_off=True) -> Stride:
        fs = GaitEvent(EventKind.FOOT_STRIKE, Leg.NEAR, self.t0)
        to = GaitEvent(EventKind.TOE_OFF, Leg.NEAR, self.t0 + self.toe_off_phase * self.period)
        nfs = GaitEvent(EventKind.FOOT_STRIKE, Leg.NEAR, self.t0 + self.period)
        return Stride(0, Leg.NEAR, fs, to if with_toe_off else None, nfs)

    def opposite(self) -> list[GaitEvent]:
        return [GaitEvent(EventKind.FOOT_STRIKE, Leg.FAR, self.t0 + 0.5 * self.period)]


def irregular_times(
    start: float, end: float, fps: float, seed: int = 0, drop: float = 0.0
) -> np.ndarray:
    """Frame times at ``fps`` with ±25 % jitter and a share ``drop`` of frames lost."""
    rng = np.random.default_rng(seed)
    n = int((end - start) * fps) + 1
    t = start + (np.arange(n) + rng.uniform(-0.25, 0.25, n)) / fps
    keep = rng.uniform(size=n) >= drop
    return np.sort(t[keep])


def dense(runner: Runner, start: float, end: float) -> np.ndarray:
    return np.linspace(start, end, 20001)


def forward_px(runner: Runner, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """How far ``b`` is ahead of ``a`` in the direction of travel (px)."""
    return runner.direction * (b[..., 0] - a[..., 0])


@pytest.fixture(params=[1, -1], ids=["left_to_right", "right_to_left"])
def runner(request) -> Runner:
    return Runner(direction=request.param, speed_px_s=280.0)


@pytest.fixture
def sampled(runner: Runner) -> dict:
    t = irregular_times(0.15, 1.2, 60.0, seed=3, drop=0.05)
    return stride_metrics(runner.track(t), runner.stride(), runner.opposite())


def test_every_key_has_its_declared_unit(sampled):
    assert set(sampled) == set(METRIC_UNITS)
    for key, metric in sampled.items():
        assert metric.unit == METRIC_UNITS[key]
        assert 0.0 <= metric.quality <= 1.0


def test_foot_strike_angles_match_the_geometry(runner, sampled):
    p = 0.0
    hip, _, ankle = runner.leg(runner.t0)
    thigh, flexion = runner.thigh(p), runner.knee_flexion(p)
    assert sampled["knee_flexion_at_foot_strike_deg"].value == pytest.approx(flexion, abs=0.5)
    assert sampled["shank_angle_at_foot_strike_deg"].value == pytest.approx(
        thigh - flexion, abs=0.5
    )
    assert sampled["overstride_leg_length"].value == pytest.approx(
        forward_px(runner, hip, ankle) / LEG_PX, abs=0.005
    )
    assert sampled["overstride_leg_length"].value > 0  # ankle ahead, whichever the direction
    assert sampled["trunk_lean_at_foot_strike_deg"].value == pytest.approx(runner.lean(p), abs=0.3)


def test_reach_before_strike_is_the_peak_of_the_last_100_ms(runner, sampled):
    s = runner.stride()
    t = dense(runner, s.foot_strike.time - 0.1, s.foot_strike.time)
    hip, _, ankle = runner.leg(t)
    shank = runner.thigh(runner.phase(t)) - runner.knee_flexion(runner.phase(t))
    assert sampled["peak_shank_angle_before_strike_deg"].value == pytest.approx(
        shank.max(), abs=0.5
    )
    assert sampled["peak_reach_before_strike_leg_length"].value == pytest.approx(
        forward_px(runner, hip, ankle).max() / LEG_PX, abs=0.005
    )


@pytest.mark.parametrize("fps", [18.0, 25.0, 30.0])
def test_reach_before_strike_hardly_moves_when_the_strike_is_a_frame_late(fps):
    """The at-strike shank angle moves by degrees per frame; the peak before it does not."""
    runner = Runner()
    track = runner.track(irregular_times(0.0, 1.3, fps, seed=5))
    exact = stride_metrics(track, runner.stride(), [])
    s = runner.stride()
    late = Stride(
        0,
        Leg.NEAR,
        GaitEvent(EventKind.FOOT_STRIKE, Leg.NEAR, s.foot_strike.time + 1 / fps),
        s.toe_off,
        s.next_foot_strike,
    )
    moved = stride_metrics(track, late, [])
    peak = "peak_shank_angle_before_strike_deg"
    at = "shank_angle_at_foot_strike_deg"
    assert abs(moved[peak].value - exact[peak].value) < 0.25 * abs(
        moved[at].value - exact[at].value
    )
    assert abs(moved[peak].value - exact[peak].value) < 1.5


def test_segment_length_change_is_small_for_rigid_bones_and_sees_a_misplaced_knee():
    runner = Runner()
    t = irregular_times(0.0, 1.3, 30.0, seed=2)
    track = runner.track(t)
    rigid = stride_metrics(track, runner.stride(), [])["leg_segment_length_change"]
    assert rigid.value < 0.01 and rigid.unit == "ratio"
    at_strike = int(np.argmin(np.abs(t - runner.t0)))
    track.near[at_strike - 1 : at_strike + 2, 4, 1] += 60.0  # the knee 60 px low at the strike
    moved = stride_metrics(track, runner.stride(), [])["leg_segment_length_change"]
    assert moved.value > 0.3  # the thigh or shank reads 30 % longer than its median


def test_phase_peaks_match_the_geometry(runner, sampled):
    s = runner.stride()
    fs, to, nfs = s.foot_strike.time, s.toe_off.time, s.next_foot_strike.time
    stance, swing = dense(runner, fs, to), dense(runner, to, nfs)
    assert sampled["peak_knee_flexion_stance_deg"].value == pytest.approx(
        runner.knee_flexion(runner.phase(stance)).max(), abs=0.7
    )
    assert sampled["peak_knee_flexion_swing_deg"].value == pytest.approx(
        runner.knee_flexion(runner.phase(swing)).max(), abs=0.7
    )
    assert sampled["peak_thigh_angle_swing_deg"].value == pytest.approx(
        runner.thigh(runner.phase(swing)).max(), abs=0.5
    )
    assert sampled["hip_extension_at_toe_off_deg"].value == pytest.approx(
        -runner.thigh(runner.toe_off_phase), abs=0.3
    )
    hip, _, ankle = runner.leg(0.5 * (fs + to))
    assert sampled["hip_ahead_of_ankle_midstance_leg_length"].value == pytest.approx(
        -forward_px(runner, hip, ankle) / LEG_PX, abs=0.005
    )


def test_trunk_head_and_oscillation_match_the_geometry(runner, sampled):
    assert sampled["trunk_lean_deg"].value == pytest.approx(runner.lean_deg, abs=0.3)
    assert sampled["head_pitch_deg"].value == pytest.approx(runner.head_pitch_deg, abs=0.1)
    assert sampled["head_pitch_deg"].note == "near ear->eye"
    assert sampled["vertical_oscillation_leg_length"].value == pytest.approx(
        runner.oscillation_px / LEG_PX, rel=0.03
    )
    # Overground: stride length is the hips' travel, the ratio needs no scale.
    travel = runner.speed_px_s * runner.period
    assert sampled["vertical_ratio_percent"].value == pytest.approx(
        100 * runner.oscillation_px / travel, rel=0.03
    )
    assert not sampled["stride_length_cm"].measured
    assert "no scale" in sampled["stride_length_cm"].note


def test_arm_metrics_match_the_geometry(runner, sampled):
    s = runner.stride()
    t = dense(runner, s.foot_strike.time, s.next_foot_strike.time)
    shoulder, elbow, wrist = runner.arm(t, 0.5)
    hip = runner.hip(t)
    ahead = forward_px(runner, shoulder, wrist) > 0
    height = (shoulder[:, 1] - wrist[:, 1]) / (UPPER_ARM_PX + FOREARM_PX)
    assert sampled["wrist_height_forward_arm_length"].value == pytest.approx(
        height[ahead].max(), abs=0.02
    )
    assert sampled["elbow_behind_hip_leg_length"].value == pytest.approx(
        forward_px(runner, elbow, hip).max() / LEG_PX, abs=0.005
    )
    angles = runner.elbow(runner.phase(t) + 0.5)
    assert sampled["elbow_angle_mean_deg"].value == pytest.approx(angles.mean(), abs=1.0)
    assert sampled["elbow_angle_min_deg"].value == pytest.approx(angles.min(), abs=0.5)
    assert sampled["elbow_angle_min_deg"].note == "near arm"


def test_calibration_scale_and_belt_speed_give_centimetres():
    runner = Runner()  # treadmill: the hips stay put
    scale = Scale.from_calibration(distance_cm=100.0, distance_px=200.0)  # 0.5 cm/px
    m = stride_metrics(
        runner.track(irregular_times(0.15, 1.2, 60.0)),
        runner.stride(),
        [],
        scale=scale,
        belt_speed_mps=3.0,
    )
    assert m["overstride_cm"].value == pytest.approx(
        0.5 * m["overstride_leg_length"].value * LEG_PX, rel=1e-6
    )
    assert m["vertical_oscillation_cm"].value == pytest.approx(
        0.5 * runner.oscillation_px, rel=0.03
    )
    assert m["stride_length_cm"].value == pytest.approx(300.0 * runner.period)
    assert m["vertical_ratio_percent"].value == pytest.approx(
        100 * 0.5 * runner.oscillation_px / (300.0 * runner.period), rel=0.03
    )
    without_belt = stride_metrics(
        runner.track(irregular_times(0.15, 1.2, 60.0)), runner.stride(), [], scale=scale
    )
    assert not without_belt["vertical_ratio_percent"].measured
    assert "belt speed" in without_belt["vertical_ratio_percent"].note


def test_height_scale_uses_the_anthropometric_leg_ratio():
    track = Runner().track(irregular_times(0.0, 2.0, 30.0))
    assert leg_length_px(track) == pytest.approx(LEG_PX)
    scale = Scale.from_athlete_height(track, 180.0)
    assert scale.cm_per_px == pytest.approx(LEG_PER_HEIGHT * 180.0 / LEG_PX)
    assert scale.source == "athlete_height"


def test_missing_knee_at_foot_strike_is_nan_with_a_note():
    runner = Runner()
    t = irregular_times(0.15, 1.2, 60.0)
    track = runner.track(t)
    near = track.near.copy()
    near[np.abs(t - runner.t0) < 0.08, 4, 2] = 0.05  # knee unseen around foot strike
    m = stride_metrics(SideViewTrack(t, near, track.far, track.head, 1), runner.stride(), [])
    knee = m["knee_flexion_at_foot_strike_deg"]
    assert not knee.measured and knee.quality == 0.0 and "not seen" in knee.note
    assert m["overstride_leg_length"].measured  # hip and ankle were still seen
    assert m["peak_knee_flexion_swing_deg"].measured


def test_an_event_a_quarter_frame_from_a_seen_frame_reads_it():
    """Beside an unseen stretch, an event within a quarter frame of a seen frame reads that
    frame (its value), one further away is refused."""
    t = np.arange(0.0, 1.0, 1 / 18)  # 18 fps, as jes_woods_nike_coach_1
    values = 10.0 * t
    values[3:5] = np.nan  # two unseen frames: the gap around them is too long to bridge
    seen = t[5]
    assert interp_at(t, values, seen - 0.005, snap=0.25 / 18) == pytest.approx(values[5])
    assert math.isnan(interp_at(t, values, seen - 0.02, snap=0.25 / 18))
    assert math.isnan(interp_at(t, values, seen - 0.005))  # no snap: refused as before
    assert interp_at(t, values, 0.5 * (t[6] + t[7])) == pytest.approx(5.0 * (t[6] + t[7]))


def test_missing_face_and_toe_off_give_nan_with_notes():
    runner = Runner()
    track = runner.track(irregular_times(0.15, 1.2, 60.0))
    head = track.head.copy()
    head[..., 2] = 0.0
    m = stride_metrics(
        SideViewTrack(track.t, track.near, track.far, head, 1),
        runner.stride(with_toe_off=False),
        [],
    )
    assert not m["head_pitch_deg"].measured and "face" in m["head_pitch_deg"].note
    assert not m["peak_knee_flexion_stance_deg"].measured
    assert "toe-off" in m["peak_knee_flexion_stance_deg"].note
    assert not m["hip_extension_at_toe_off_deg"].measured
    # The swing peak survives without a toe-off, and says how it was taken.
    assert m["peak_knee_flexion_swing_deg"].value == pytest.approx(
        runner.knee_flexion(np.linspace(0, 1, 20001)).max(), abs=0.7
    )
    assert "whole stride" in m["peak_knee_flexion_swing_deg"].note


def test_lower_scores_give_lower_quality_same_values():
    runner = Runner()
    t = irregular_times(0.15, 1.2, 60.0)
    sure = stride_metrics(runner.track(t, score=0.95), runner.stride(), [])
    unsure = stride_metrics(runner.track(t, score=0.45), runner.stride(), [])
    for key in ("knee_flexion_at_foot_strike_deg", "trunk_lean_deg", "elbow_angle_min_deg"):
        assert unsure[key].value == pytest.approx(sure[key].value)
        assert unsure[key].quality < sure[key].quality


def test_far_arm_used_when_near_arm_hidden():
    runner = Runner()
    track = runner.track(irregular_times(0.15, 1.2, 60.0))
    near = track.near.copy()
    near[:, 1:3, 2] = 0.1  # near elbow and wrist unseen
    m = stride_metrics(SideViewTrack(track.t, near, track.far, track.head, 1), runner.stride(), [])
    assert m["elbow_angle_min_deg"].note == "far arm"
    assert m["elbow_angle_min_deg"].value == pytest.approx(
        runner.elbow(np.linspace(0, 1, 2001)).min(), abs=0.5
    )


def test_long_dropout_refuses_window_metrics():
    runner = Runner()
    t = irregular_times(0.15, 1.2, 60.0)
    t = t[(t < 0.55) | (t > 0.85)]  # 300 ms lost in the middle of the stride
    m = stride_metrics(runner.track(t), runner.stride(), [])
    assert not m["peak_knee_flexion_swing_deg"].measured
    assert "unseen" in m["peak_knee_flexion_swing_deg"].note
    assert m["knee_flexion_at_foot_strike_deg"].measured


# --- real lab data ----------------------------------------------------------------------

FOCAL_PX = 1400.0
CAMERA_DISTANCE_MM = 5000.0


@dataclass(frozen=True)
class LabTrial:
    """Lab joint centres (mm, X forward, Y up, Z to the runner's right) and events."""

    t: np.ndarray
    joints: dict[tuple[str, str], np.ndarray]  # (side, joint) -> (N, 3)
    events: list[tuple[str, float, float]]  # (side, foot strike, toe-off)


LIMB_ORDER = ("shoulder", "elbow", "wrist", "hip", "knee", "ankle")


def project(
    trial: LabTrial,
    camera_side: str,
    times: np.ndarray,
    rng=None,
    noise_px: float = 0.0,
    panning: bool = False,
) -> tuple[SideViewTrack, float]:
    """Pinhole side view from the runner's ``camera_side``; returns the track and cm/px.

    The near limb is the camera side; the camera looks at the mid-trial pelvis from
    ``CAMERA_DISTANCE_MM`` along the medio-lateral axis, image y = -Y.  ``panning`` follows
    the pelvis along X (overground runs), as a camera operator would.
    """
    sign = 1.0 if camera_side == "R" else -1.0
    hips = np.concatenate([trial.joints[s, "hip"] for s in "RL"])
    centre = np.nanmean(hips, axis=0)
    pelvis_x = 0.5 * (trial.joints["R", "hip"][:, 0] + trial.joints["L", "hip"][:, 0])
    follow = pelvis_x - centre[0] if panning else np.zeros_like(pelvis_x)
    camera_z = centre[2] + sign * CAMERA_DISTANCE_MM
    limbs = {}
    for side in "RL":
        arr = np.zeros((len(times), 6, 3))
        for j, name in enumerate(LIMB_ORDER):
            xyz = trial.joints.get((side, name))
            if xyz is None:
                continue
            depth = sign * (camera_z - xyz[:, 2])
            u = 640.0 + sign * FOCAL_PX * (xyz[:, 0] - follow - centre[0]) / depth
            v = 360.0 - FOCAL_PX * (xyz[:, 1] - centre[1]) / depth
            for k, image in enumerate((u, v)):
                ok = np.isfinite(image)
                arr[:, j, k] = np.interp(times, trial.t[ok], image[ok])
            arr[:, j, 2] = 0.9
        if rng is not None:
            arr[..., :2] += rng.normal(0.0, noise_px, arr[..., :2].shape)
        limbs[side] = arr
    near, far = (limbs["R"], limbs["L"]) if camera_side == "R" else (limbs["L"], limbs["R"])
    head = np.zeros((len(times), 5, 3))  # no head markers in these data sets
    near_depth = float(np.nanmean(sign * (camera_z - trial.joints[camera_side, "hip"][:, 2])))
    cm_per_px = near_depth / FOCAL_PX / 10.0
    return SideViewTrack(times, near, far, head, int(sign)), cm_per_px


def strides_of(trial: LabTrial, side: str, leg: Leg) -> list[Stride]:
    mine = [e for e in trial.events if e[0] == side and math.isfinite(e[1])]
    out = []
    for (_, fs, to), (_, nfs, _) in itertools.pairwise(mine):
        toe_off = GaitEvent(EventKind.TOE_OFF, leg, to) if math.isfinite(to) else None
        out.append(
            Stride(
                len(out),
                leg,
                GaitEvent(EventKind.FOOT_STRIKE, leg, fs),
                toe_off,
                GaitEvent(EventKind.FOOT_STRIKE, leg, nfs),
            )
        )
    return out


def sagittal_knee_flexion(trial: LabTrial, side: str, at: np.ndarray) -> np.ndarray:
    """The lab's own 2D knee flexion (X-Y plane) at the given times, forward positive."""
    hip, knee, ankle = (trial.joints[side, j] for j in ("hip", "knee", "ankle"))
    thigh = np.degrees(np.arctan2(knee[:, 0] - hip[:, 0], hip[:, 1] - knee[:, 1]))
    shank = np.degrees(np.arctan2(ankle[:, 0] - knee[:, 0], knee[:, 1] - ankle[:, 1]))
    ok = np.isfinite(thigh - shank)
    return np.interp(at, trial.t[ok], (thigh - shank)[ok])


@pytest.fixture(scope="module")
def fukuchi_t25(groundtruth_dir: Path) -> LabTrial:
    folder = groundtruth_dir / "fukuchi2017_rbds" / "derived"
    with gzip.open(folder / "RBDS001runT25_jointcentres_derived.csv.gz", "rt") as f:
        data = np.genfromtxt(f, delimiter=",", names=True, skip_header=1)
    names = {"hip": "HJC", "knee": "KJC", "ankle": "AJC"}
    joints = {
        (s, j): np.stack([data[f"{s}_{c}_{a}"] for a in "XYZ"], axis=-1)
        for s in "RL"
        for j, c in names.items()
    }
    events = np.genfromtxt(
        folder / "RBDS001runT25_events.csv",
        delimiter=",",
        names=True,
        dtype=None,
        encoding=None,
        skip_header=1,
    )
    return LabTrial(
        data["time_s"],
        joints,
        [(str(e["side"]), float(e["foot_strike_s"]), float(e["toe_off_s"])) for e in events],
    )


def run_lab(trial: LabTrial, side: str, fps: float, noise_px: float = 0.0, seed: int = 7):
    rng = np.random.default_rng(seed)
    times = irregular_times(trial.t[0] + 0.02, trial.t[-1] - 0.02, fps, seed=seed, drop=0.03)
    track, cm_per_px = project(trial, side, times, rng if noise_px else None, noise_px)
    scale = Scale(cm_per_px)
    results = []
    for stride in strides_of(trial, side, Leg.NEAR):
        window = track.window(stride.foot_strike.time - 0.1, stride.next_foot_strike.time + 0.1)
        results.append((stride, stride_metrics(window, stride, [], scale=scale)))
    return results


@pytest.mark.parametrize("side", ["R", "L"])
def test_fukuchi_knee_flexion_and_overstride_at_foot_strike(fukuchi_t25, side):
    """60 fps, noise-free projection: per stride against the lab's own 2D angle and AJC-HJC."""
    results = run_lab(fukuchi_t25, side, 60.0)
    assert len(results) >= 35
    fs = np.array([s.foot_strike.time for s, _ in results])
    knee = np.array([m["knee_flexion_at_foot_strike_deg"].value for _, m in results])
    lab_knee = sagittal_knee_flexion(fukuchi_t25, side, fs)
    # Sub-frame interpolation of a fast-changing angle (and the odd dropped frame) costs
    # a few tenths of a degree; the stride mean must sit on the lab value.
    assert np.median(np.abs(knee - lab_knee)) < 0.3
    assert np.max(np.abs(knee - lab_knee)) < 2.0
    assert np.mean(knee) == pytest.approx(np.mean(lab_knee), abs=0.3)
    # SOURCES.md: 2D sagittal knee flexion at force-plate foot strike, T25.
    reference = {"R": 11.3, "L": 6.6}[side]
    assert np.mean(knee) == pytest.approx(reference, abs=1.0)

    hip, ankle = fukuchi_t25.joints[side, "hip"], fukuchi_t25.joints[side, "ankle"]
    ok = np.isfinite(hip[:, 0])
    lab_ahead_cm = np.interp(fs, fukuchi_t25.t[ok], (ankle[:, 0] - hip[:, 0])[ok]) / 10.0
    overstride = np.array([m["overstride_cm"].value for _, m in results])
    assert np.all(np.abs(overstride - lab_ahead_cm) < 1.0)
    assert 14.0 < np.mean(overstride) < 22.0  # SOURCES.md: AJC ahead of HJC ~170-215 mm


def test_fukuchi_noisy_30fps_means_hold(fukuchi_t25):
    """30 fps with 2 px keypoint noise: the per-runner means stay within a degree / a cm."""
    results = run_lab(fukuchi_t25, "R", 30.0, noise_px=2.0)
    fs = np.array([s.foot_strike.time for s, _ in results])
    knee = np.array([m["knee_flexion_at_foot_strike_deg"].value for _, m in results])
    assert np.nanmean(knee) == pytest.approx(
        np.mean(sagittal_knee_flexion(fukuchi_t25, "R", fs)), abs=1.0
    )
    assert np.isfinite(knee).mean() > 0.9


def test_fukuchi_vertical_oscillation(fukuchi_t25):
    results = run_lab(fukuchi_t25, "R", 60.0)
    hip_y = 0.5 * (fukuchi_t25.joints["R", "hip"][:, 1] + fukuchi_t25.joints["L", "hip"][:, 1])
    errors = []
    for stride, m in results:
        inside = (
            (fukuchi_t25.t >= stride.foot_strike.time)
            & (fukuchi_t25.t <= stride.next_foot_strike.time)
            & np.isfinite(hip_y)
        )
        lab_cm = np.ptp(hip_y[inside]) / 10.0
        errors.append(m["vertical_oscillation_cm"].value - lab_cm)
    assert np.median(np.abs(errors)) < 0.5  # cm, against a ~6-9 cm oscillation


def read_trc(path: Path) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Time column and marker name -> (N, 3) mm array of an OpenSim .trc file."""
    lines = path.read_text().splitlines()
    names = lines[3].split("\t")[2:]
    markers = [n for n in names if n.strip()]
    rows = [line.split("\t") for line in lines[5:] if line.strip()]
    width = 2 + 3 * len(markers)
    table = np.array(
        [[float(v) if v.strip() else np.nan for v in (r + [""] * width)[:width]] for r in rows]
    )
    return table[:, 1], {m: table[:, 2 + 3 * i : 5 + 3 * i] for i, m in enumerate(markers)}


def harrington_hip_centres(rasi, lasi, rpsi, lpsi) -> dict[str, np.ndarray]:
    """Hip joint centres by Harrington et al. 2007 (J Biomech 40:595) from pelvis markers."""
    origin = 0.5 * (rasi + lasi)
    back = 0.5 * (rpsi + lpsi)
    width = np.linalg.norm(rasi - lasi, axis=1, keepdims=True)
    depth = np.linalg.norm(origin - back, axis=1, keepdims=True)
    right = (rasi - lasi) / width
    up = np.cross(right, origin - back)
    up /= np.linalg.norm(up, axis=1, keepdims=True)
    forward = np.cross(up, right)
    base = origin + forward * (-0.24 * depth - 9.9) + up * (-0.30 * width - 10.9)
    lateral = right * (0.33 * width + 7.3)
    return {"R": base + lateral, "L": base - lateral}


@pytest.fixture(scope="module")
def bmclab_run(groundtruth_dir: Path) -> LabTrial:
    folder = groundtruth_dir / "bmclab_overground_run"
    t, m = read_trc(folder / "motion_capture_run.trc")
    # The file's ready-made joint-centre columns (RSJC, RHJC, RKJC, RAJC...) are blank, so
    # joints come from anatomical markers: acromion, elbow centre, mid wrist, Harrington
    # hip centre, mid femoral condyles, mid malleoli.
    hips = harrington_hip_centres(m["RASI"], m["LASI"], m["RPSI"], m["LPSI"])
    joints = {}
    for s in "RL":
        joints[s, "shoulder"] = m[f"{s}ACR"]
        joints[s, "elbow"] = m[f"{s}EJC"]
        joints[s, "wrist"] = 0.5 * (m[f"{s}FAradius"] + m[f"{s}FAulna"])
        joints[s, "hip"] = hips[s]
        joints[s, "knee"] = 0.5 * (m[f"{s}LFCv"] + m[f"{s}MFCv"])
        joints[s, "ankle"] = 0.5 * (m[f"{s}LMALv"] + m[f"{s}MMALv"])
    events = np.genfromtxt(
        folder / "derived" / "bmclab_run_events.csv",
        delimiter=",",
        names=True,
        dtype=None,
        encoding=None,
        skip_header=1,
    )
    return LabTrial(
        t,
        joints,
        [(str(e["side"]), float(e["foot_strike_s"]), float(e["toe_off_s"])) for e in events],
    )


# OpenSim IK (ik_output_run.mot) knee angle at the force-plate foot strike, per SOURCES.md.
BMCLAB_IK_KNEE_AT_FS = {"R": 21.3, "L": 9.7}


def bmclab_knee_at_strike(trial: LabTrial, side: str) -> float:
    fs, to = next((e[1], e[2]) for e in trial.events if e[0] == side)
    stride = Stride(
        0,
        Leg.NEAR,
        GaitEvent(EventKind.FOOT_STRIKE, Leg.NEAR, fs),
        GaitEvent(EventKind.TOE_OFF, Leg.NEAR, to),
        GaitEvent(EventKind.FOOT_STRIKE, Leg.NEAR, fs + 0.69),
    )
    track, _ = project(
        trial, side, irregular_times(0.0, float(trial.t[-1]), 60.0, seed=5), panning=True
    )
    return stride_metrics(track, stride, [])["knee_flexion_at_foot_strike_deg"].value


def test_bmclab_right_left_knee_difference_matches_ik(bmclab_run):
    """The right-left asymmetry at strike survives the 2D definition: 11.6 deg in IK."""
    difference = bmclab_knee_at_strike(bmclab_run, "R") - bmclab_knee_at_strike(bmclab_run, "L")
    assert difference == pytest.approx(
        BMCLAB_IK_KNEE_AT_FS["R"] - BMCLAB_IK_KNEE_AT_FS["L"], abs=1.5
    )


@pytest.mark.parametrize("side", ["R", "L"])
def test_bmclab_overground_knee_and_trunk_at_foot_strike(bmclab_run, side):
    """The trial holds one step, so each stride's next foot strike is FS + 2 x step time
    (only foot-strike metrics are checked)."""
    fs, to = next((e[1], e[2]) for e in bmclab_run.events if e[0] == side)
    step = 0.4014 - 0.0541
    stride = Stride(
        0,
        Leg.NEAR,
        GaitEvent(EventKind.FOOT_STRIKE, Leg.NEAR, fs),
        GaitEvent(EventKind.TOE_OFF, Leg.NEAR, to),
        GaitEvent(EventKind.FOOT_STRIKE, Leg.NEAR, fs + 2 * step),
    )
    times = irregular_times(0.0, float(bmclab_run.t[-1]), 60.0, seed=11)
    track, _ = project(bmclab_run, side, times, panning=True)
    m = stride_metrics(track, stride, [])

    knee = m["knee_flexion_at_foot_strike_deg"].value
    assert knee == pytest.approx(float(sagittal_knee_flexion(bmclab_run, side, fs)), abs=0.5)
    # 2D projected flexion vs OpenSim's 3D IK knee angle: the definitions differ (model
    # segment axes, out-of-plane rotation).  Measured: 2D reads 5.0 (R) and 5.5 (L) deg
    # below IK (Fukuchi: 2-3 deg below Visual3D).  Allow 2D to sit 0..7 deg below IK.
    assert -7.0 < knee - BMCLAB_IK_KNEE_AT_FS[side] < 0.0
    shoulder = 0.5 * (bmclab_run.joints["R", "shoulder"] + bmclab_run.joints["L", "shoulder"])
    hip = 0.5 * (bmclab_run.joints["R", "hip"] + bmclab_run.joints["L", "hip"])
    lab_lean = np.degrees(np.arctan2(shoulder[:, 0] - hip[:, 0], shoulder[:, 1] - hip[:, 1]))
    lean = m["trunk_lean_at_foot_strike_deg"].value
    assert lean == pytest.approx(float(np.interp(fs, bmclab_run.t, lab_lean)), abs=1.0)
    assert 0.0 < lean < 20.0  # a runner leans forward a little, never backwards
