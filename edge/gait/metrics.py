"""Kinematic per-stride running metrics from a side-view track.

:func:`stride_metrics` reads one stride of a :class:`~edge.gait.track.SideViewTrack` (limbs
already identified as near/far) and returns a dict of :class:`~edge.types.MetricValue` under
stable snake_case keys (see :data:`METRIC_UNITS` and ``docs/metrics.md`` for every
definition).  Timing metrics (stride time, cadence, contact time...) live in
``edge.gait.timing``; these are the angles and distances a coach looks at.

Conventions: image coordinates (y down) are turned into "forward" with ``track.direction``,
so every signed value reads the same whichever way the runner crosses the picture.  Event
times fall between frames: values at an event are interpolated over valid samples only.
Distances are normalised by the runner's leg length (hip → ankle, robust median over the
track) and also given in cm when a :class:`~edge.gait.scale.Scale` is known.  A metric that
cannot be measured is ``nan`` with a note saying why; ``quality`` is the mean confidence of
the keypoints it read (0..1), lowered when samples are missing.

Example::

    metrics = stride_metrics(track.window(s.foot_strike.time - 0.1,
                                          s.next_foot_strike.time + 0.1), s, others)
    metrics["knee_flexion_at_foot_strike_deg"].value
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from edge.gait.angles import (
    MAX_INTERP_GAP_S,
    in_window,
    interior_angle,
    interp_at,
    largest_gap,
    masked_xy,
    pitch_below_horizontal,
    segment_angle_down,
    segment_angle_up,
    window_with_ends,
    wrap_degrees,
)
from edge.gait.scale import Scale, arm_length_px, leg_length_px
from edge.gait.track import HeadPoint, LimbJoint, SideViewTrack
from edge.types import GaitEvent, Leg, MetricValue, Stride

#: Every key :func:`stride_metrics` returns, with its unit.
METRIC_UNITS: dict[str, str] = {
    "overstride_leg_length": "leg_length",
    "overstride_cm": "cm",
    "shank_angle_at_foot_strike_deg": "deg",
    "knee_flexion_at_foot_strike_deg": "deg",
    "peak_knee_flexion_stance_deg": "deg",
    "peak_knee_flexion_swing_deg": "deg",
    "peak_thigh_angle_swing_deg": "deg",
    "hip_extension_at_toe_off_deg": "deg",
    "trunk_lean_deg": "deg",
    "trunk_lean_at_foot_strike_deg": "deg",
    "vertical_oscillation_leg_length": "leg_length",
    "vertical_oscillation_cm": "cm",
    "stride_length_cm": "cm",
    "vertical_ratio_percent": "percent",
    "hip_ahead_of_ankle_midstance_leg_length": "leg_length",
    "head_pitch_deg": "deg",
    "head_forward_leg_length": "leg_length",
    "wrist_height_forward_arm_length": "arm_length",
    "elbow_behind_hip_leg_length": "leg_length",
    "elbow_angle_mean_deg": "deg",
    "elbow_angle_min_deg": "deg",
}

#: A window metric is refused when its keypoints are unseen for longer than this share of
#: the window (or than two-and-a-half frame intervals, whichever is longer).
MAX_WINDOW_GAP_FRACTION = 0.2

# A hip that moves less than this (leg lengths per stride) is on a treadmill, not overground.
_OVERGROUND_MIN_TRAVEL = 0.5


def _mean_of_two(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Element-wise mean of two arrays that falls back to whichever one is finite."""
    return np.where(np.isnan(a), b, np.where(np.isnan(b), a, 0.5 * (a + b)))


def _joint_quality(*scores: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Per-frame mean score of the joints a value reads, ``nan`` where the value is unseen."""
    q = scores[0] if len(scores) == 1 else sum(scores[1:], scores[0]) / len(scores)
    return np.where(valid, q, np.nan)


def _nan(key: str, note: str) -> MetricValue:
    return MetricValue(float("nan"), METRIC_UNITS[key], 0.0, note)


class _StrideReader:
    """The arrays of one stride, and how to sample them at events and over windows."""

    def __init__(self, track: SideViewTrack, stride: Stride, min_score: float) -> None:
        self.t = np.asarray(track.t, dtype=float)
        self.direction = 1 if track.direction >= 0 else -1
        self.stride = stride
        self.min_score = min_score
        dt = np.diff(self.t)
        typical_dt = float(np.median(dt)) if dt.size else MAX_INTERP_GAP_S
        # Slow or irregular sources (GIFs at ~15 fps) must still bridge one frame interval.
        self.max_gap = max(MAX_INTERP_GAP_S, 1.5 * typical_dt)
        self.window_gap = max(2.5 * typical_dt, MAX_WINDOW_GAP_FRACTION * stride.duration)
        own, other = (track.near, track.far) if stride.leg == Leg.NEAR else (track.far, track.near)
        self.own, self.other = own, other
        self.own_xy = masked_xy(own, min_score)
        self.other_xy = masked_xy(other, min_score)
        self.head_xy = masked_xy(track.head, min_score)
        self.head = track.head
        self.leg_px = leg_length_px(track, min_score=min_score)
        self._mids: dict[LimbJoint, tuple[np.ndarray, np.ndarray]] = {}

    # --- sampling -------------------------------------------------------------------------

    def at(
        self,
        key: str,
        values: np.ndarray,
        quality: np.ndarray,
        time: float | None,
        what: str,
        scale: float = 1.0,
        note: str = "",
    ) -> MetricValue:
        """``values`` interpolated at ``time`` (an event)."""
        if time is None:
            return _nan(key, f"{what}: event not detected")
        value = interp_at(self.t, values, time, self.max_gap)
        if not math.isfinite(value):
            return _nan(key, f"{what}: keypoints not seen around t={time:.3f}s")
        q = interp_at(self.t, quality, time, self.max_gap)
        return MetricValue(value * scale, METRIC_UNITS[key], _round_q(q), note)

    def over(
        self,
        key: str,
        values: np.ndarray,
        quality: np.ndarray,
        start: float | None,
        end: float | None,
        what: str,
        reduce=np.max,
        scale: float = 1.0,
        note: str = "",
    ) -> MetricValue:
        """``reduce`` of ``values`` over [start, end] (samples plus interpolated ends)."""
        if start is None or end is None:
            return _nan(key, f"{what}: phase boundary (toe-off) not detected")
        valid = np.isfinite(values)
        gap = largest_gap(self.t, valid, start, end)
        if gap > self.window_gap:
            return _nan(key, f"{what}: keypoints unseen for {gap * 1000:.0f} ms of the window")
        samples = window_with_ends(self.t, values, start, end, self.max_gap)
        if samples.size == 0:
            return _nan(key, f"{what}: no valid samples")
        inside = quality[in_window(self.t, start, end) & valid]
        q = float(inside.sum()) / inside.size if inside.size else 0.0
        # Missing frames make a peak less certain: scale by the share of the window covered.
        q *= 1.0 - max(0.0, gap - self.max_gap) / max(end - start, 1e-9)
        return MetricValue(float(reduce(samples)) * scale, METRIC_UNITS[key], _round_q(q), note)

    # --- body parts ------------------------------------------------------------------------

    def leg_joint(self, joint: LimbJoint) -> tuple[np.ndarray, np.ndarray]:
        """xy and score of the stride leg's joint (hip falls back to the other hip)."""
        xy = self.own_xy[:, joint]
        score = self.own[:, joint, 2]
        if joint == LimbJoint.HIP:
            missing = np.isnan(xy[:, 0])
            xy = np.where(missing[:, None], self.other_xy[:, joint], xy)
            score = np.where(missing, self.other[:, joint, 2], score)
        return xy, score

    def mid(self, joint: LimbJoint) -> tuple[np.ndarray, np.ndarray]:
        """Midpoint of the near and far joint (either alone when only one is seen)."""
        if joint not in self._mids:
            self._mids[joint] = self._mid(joint)
        return self._mids[joint]

    def _mid(self, joint: LimbJoint) -> tuple[np.ndarray, np.ndarray]:
        xy = _mean_of_two(self.own_xy[:, joint], self.other_xy[:, joint])
        a = np.where(np.isnan(self.own_xy[:, joint, 0]), np.nan, self.own[:, joint, 2])
        b = np.where(np.isnan(self.other_xy[:, joint, 0]), np.nan, self.other[:, joint, 2])
        return xy, _mean_of_two(a, b)


def _round_q(q: float) -> float:
    return min(1.0, max(0.0, float(q))) if math.isfinite(q) else 0.0


def stride_metrics(
    track: SideViewTrack,
    stride: Stride,
    opposite: Sequence[GaitEvent],
    *,
    scale: Scale | None = None,
    min_score: float = 0.3,
    belt_speed_mps: float | None = None,
) -> dict[str, MetricValue]:
    """Kinematic metrics of one stride, keyed as in :data:`METRIC_UNITS`.

    ``track`` must cover the stride (ideally 0.1 s either side); ``stride.leg`` names the
    limb whose stride it is; ``opposite`` are the other leg's events inside the stride
    (accepted for the contract; the metrics here need only this leg's events).  ``scale``
    adds the centimetre metrics; ``belt_speed_mps`` (treadmill) gives the stride length,
    which overground running gets from the hips' travel across the picture instead.
    Keypoints scoring below ``min_score`` count as unseen.
    """
    del opposite  # every metric here is defined by the stride leg's own events
    r = _StrideReader(track, stride, min_score)
    out: dict[str, MetricValue] = {}
    out.update(_leg_metrics(r, scale))
    out.update(_trunk_metrics(r, scale, belt_speed_mps))
    out.update(_head_metrics(r))
    out.update(_arm_metrics(r))
    return out


def _leg_metrics(r: _StrideReader, scale: Scale | None) -> dict[str, MetricValue]:
    s = r.stride
    fs, nfs = s.foot_strike.time, s.next_foot_strike.time
    to = s.toe_off.time if s.toe_off is not None else None
    d = r.direction
    hip, q_hip = r.leg_joint(LimbJoint.HIP)
    knee, q_knee = r.leg_joint(LimbJoint.KNEE)
    ankle, q_ankle = r.leg_joint(LimbJoint.ANKLE)
    thigh = segment_angle_down(hip, knee, d)
    shank = segment_angle_down(knee, ankle, d)
    flexion = wrap_degrees(thigh - shank)
    q_leg = _joint_quality(q_hip, q_knee, q_ankle, valid=np.isfinite(flexion))
    q_thigh = _joint_quality(q_hip, q_knee, valid=np.isfinite(thigh))
    q_shank = _joint_quality(q_knee, q_ankle, valid=np.isfinite(shank))
    ahead_px = d * (ankle[:, 0] - hip[:, 0])
    q_ahead = _joint_quality(q_hip, q_ankle, valid=np.isfinite(ahead_px))
    out: dict[str, MetricValue] = {}

    inv_leg = 1.0 / r.leg_px if r.leg_px > 0 else float("nan")
    if math.isfinite(inv_leg):
        out["overstride_leg_length"] = r.at(
            "overstride_leg_length", ahead_px, q_ahead, fs, "overstride", inv_leg
        )
    else:
        out["overstride_leg_length"] = _nan("overstride_leg_length", "leg length not measurable")
    if scale is None:
        out["overstride_cm"] = _nan("overstride_cm", "no scale: set athlete height or calibration")
    else:
        out["overstride_cm"] = r.at(
            "overstride_cm",
            ahead_px,
            q_ahead,
            fs,
            "overstride",
            scale.cm_per_px,
            note=f"scale from {scale.source}",
        )
    out["shank_angle_at_foot_strike_deg"] = r.at(
        "shank_angle_at_foot_strike_deg", shank, q_shank, fs, "shank angle"
    )
    out["knee_flexion_at_foot_strike_deg"] = r.at(
        "knee_flexion_at_foot_strike_deg", flexion, q_leg, fs, "knee flexion"
    )
    out["peak_knee_flexion_stance_deg"] = r.over(
        "peak_knee_flexion_stance_deg", flexion, q_leg, fs, to, "stance knee flexion"
    )
    if to is None:
        # The swing peak is the stride's largest flexion in running, so it survives a
        # missing toe-off; the note says how it was taken.
        swing = r.over(
            "peak_knee_flexion_swing_deg",
            flexion,
            q_leg,
            fs,
            nfs,
            "swing knee flexion",
            note="toe-off unknown: peak over the whole stride",
        )
        thigh_peak = r.over(
            "peak_thigh_angle_swing_deg",
            thigh,
            q_thigh,
            fs,
            nfs,
            "thigh angle",
            note="toe-off unknown: peak over the whole stride",
        )
    else:
        swing = r.over("peak_knee_flexion_swing_deg", flexion, q_leg, to, nfs, "swing knee flexion")
        thigh_peak = r.over("peak_thigh_angle_swing_deg", thigh, q_thigh, to, nfs, "thigh angle")
    out["peak_knee_flexion_swing_deg"] = swing
    out["peak_thigh_angle_swing_deg"] = thigh_peak
    out["hip_extension_at_toe_off_deg"] = r.at(
        "hip_extension_at_toe_off_deg", -thigh, q_thigh, to, "hip extension at toe-off"
    )

    mid_stance = None if to is None else 0.5 * (fs + to)
    if math.isfinite(inv_leg):
        out["hip_ahead_of_ankle_midstance_leg_length"] = r.at(
            "hip_ahead_of_ankle_midstance_leg_length",
            -ahead_px,
            q_ahead,
            mid_stance,
            "hip over ankle at mid-stance",
            inv_leg,
        )
    else:
        out["hip_ahead_of_ankle_midstance_leg_length"] = _nan(
            "hip_ahead_of_ankle_midstance_leg_length", "leg length not measurable"
        )
    return out


def _periodic_range(t: np.ndarray, y: np.ndarray, start: float, end: float) -> float:
    """Peak-to-peak of a low-order Fourier fit of ``y`` over one stride [start, end].

    Harmonics of the stride frequency plus a linear trend are fitted by least squares to
    the valid samples, so pixel noise does not inflate the range the way a raw max - min
    would, irregular sampling needs no resampling, and a slow drift (camera tilt,
    overground approach) is not counted as oscillation.  ``nan`` with too few samples.
    """
    ok = in_window(t, start, end) & np.isfinite(y)
    n = int(ok.sum())
    harmonics = 4 if n >= 20 else 3 if n >= 14 else 2 if n >= 9 else 0
    if harmonics == 0:
        return float("nan")
    period = end - start
    phase = 2.0 * np.pi * (t[ok] - start) / period
    k = np.arange(1, harmonics + 1)
    design = np.column_stack(
        [np.ones(n), phase / (2 * np.pi), np.cos(np.outer(phase, k)), np.sin(np.outer(phase, k))]
    )
    coef, *_ = np.linalg.lstsq(design, y[ok], rcond=None)
    grid = np.linspace(0.0, 2.0 * np.pi, 241)
    periodic = (
        np.cos(np.outer(grid, k)) @ coef[2 : 2 + harmonics]
        + np.sin(np.outer(grid, k)) @ coef[2 + harmonics :]
    )
    return float(np.ptp(periodic))


def _trunk_metrics(
    r: _StrideReader, scale: Scale | None, belt_speed_mps: float | None
) -> dict[str, MetricValue]:
    s = r.stride
    fs, nfs = s.foot_strike.time, s.next_foot_strike.time
    shoulder, q_sh = r.mid(LimbJoint.SHOULDER)
    hip, q_hip = r.mid(LimbJoint.HIP)
    lean = segment_angle_up(hip, shoulder, r.direction)
    q_lean = _joint_quality(q_sh, q_hip, valid=np.isfinite(lean))
    out = {
        "trunk_lean_deg": r.over(
            "trunk_lean_deg", lean, q_lean, fs, nfs, "trunk lean", reduce=np.mean
        ),
        "trunk_lean_at_foot_strike_deg": r.at(
            "trunk_lean_at_foot_strike_deg", lean, q_lean, fs, "trunk lean"
        ),
    }

    y = hip[:, 1]
    q_y = np.where(np.isfinite(y), q_hip, np.nan)
    gap = largest_gap(r.t, np.isfinite(y), fs, nfs)
    osc_px = _periodic_range(r.t, y, fs, nfs) if gap <= r.window_gap else float("nan")
    inside = in_window(r.t, fs, nfs) & np.isfinite(y)
    q_osc = float(np.mean(q_y[inside])) if inside.any() else 0.0
    why = "hips unseen for too much of the stride"
    if math.isfinite(osc_px) and r.leg_px > 0:
        out["vertical_oscillation_leg_length"] = MetricValue(
            osc_px / r.leg_px, "leg_length", _round_q(q_osc)
        )
    else:
        out["vertical_oscillation_leg_length"] = _nan("vertical_oscillation_leg_length", why)
    if scale is None:
        out["vertical_oscillation_cm"] = _nan("vertical_oscillation_cm", "no scale")
    elif math.isfinite(osc_px):
        out["vertical_oscillation_cm"] = MetricValue(scale.to_cm(osc_px), "cm", _round_q(q_osc))
    else:
        out["vertical_oscillation_cm"] = _nan("vertical_oscillation_cm", why)

    # Stride length: the belt's travel on a treadmill, the hips' travel overground.
    travel_px = r.direction * (
        interp_at(r.t, hip[:, 0], nfs, r.max_gap) - interp_at(r.t, hip[:, 0], fs, r.max_gap)
    )
    overground = math.isfinite(travel_px) and travel_px > _OVERGROUND_MIN_TRAVEL * r.leg_px
    length_cm, ratio, note = float("nan"), float("nan"), ""
    if belt_speed_mps is not None and belt_speed_mps > 0:
        length_cm = 100.0 * belt_speed_mps * s.duration
        note = "belt speed x stride time"
        if scale is not None and math.isfinite(osc_px):
            ratio = 100.0 * scale.to_cm(osc_px) / length_cm
    elif overground:
        note = "hip travel across the picture (static camera assumed)"
        if scale is not None:
            length_cm = scale.to_cm(travel_px)
        if math.isfinite(osc_px):
            ratio = 100.0 * osc_px / travel_px
    else:
        note = "stride length unknown: treadmill (give belt speed) or panning camera"
    if math.isfinite(length_cm):
        out["stride_length_cm"] = MetricValue(length_cm, "cm", 1.0, note)
    else:
        out["stride_length_cm"] = _nan(
            "stride_length_cm", "overground but no scale" if overground else note
        )
    if math.isfinite(ratio):
        out["vertical_ratio_percent"] = MetricValue(ratio, "percent", _round_q(q_osc), note)
    elif belt_speed_mps and scale is None:
        out["vertical_ratio_percent"] = _nan(
            "vertical_ratio_percent", "belt speed given but no scale"
        )
    else:
        out["vertical_ratio_percent"] = _nan(
            "vertical_ratio_percent", note if not overground else why
        )
    return out


def _head_metrics(r: _StrideReader) -> dict[str, MetricValue]:
    s = r.stride
    fs, nfs = s.foot_strike.time, s.next_foot_strike.time
    window = in_window(r.t, fs, nfs)
    ok = r.head[:, :, 2] >= r.min_score
    # The ear → eye line is close to the Frankfort plane (level when looking ahead); the
    # nose sits lower, so ear → nose reads ~10-15 deg more "chin down" and is only a fallback.
    pairs = (
        (HeadPoint.NEAR_EAR, HeadPoint.NEAR_EYE, "near ear->eye"),
        (HeadPoint.FAR_EAR, HeadPoint.FAR_EYE, "far ear->eye"),
        (HeadPoint.NEAR_EAR, HeadPoint.NOSE, "near ear->nose"),
        (HeadPoint.FAR_EAR, HeadPoint.NOSE, "far ear->nose"),
    )
    seen = [int(np.sum(ok[window, a] & ok[window, b])) for a, b, _ in pairs]
    best = int(np.argmax(seen))
    out: dict[str, MetricValue] = {}
    if seen[best] == 0:
        note = "face keypoints (ears, eyes, nose) not seen"
        return {
            "head_pitch_deg": _nan("head_pitch_deg", note),
            "head_forward_leg_length": _nan("head_forward_leg_length", note),
        }
    ear_i, front_i, label = pairs[best]
    ear, front = r.head_xy[:, ear_i], r.head_xy[:, front_i]
    pitch = pitch_below_horizontal(ear, front, r.direction)
    q_pitch = _joint_quality(r.head[:, ear_i, 2], r.head[:, front_i, 2], valid=np.isfinite(pitch))
    out["head_pitch_deg"] = r.over(
        "head_pitch_deg", pitch, q_pitch, fs, nfs, "head pitch", reduce=np.mean, note=label
    )
    shoulder, q_sh = r.mid(LimbJoint.SHOULDER)
    forward = r.direction * (ear[:, 0] - shoulder[:, 0])
    q_fwd = _joint_quality(r.head[:, ear_i, 2], q_sh, valid=np.isfinite(forward))
    if r.leg_px > 0:
        out["head_forward_leg_length"] = r.over(
            "head_forward_leg_length",
            forward,
            q_fwd,
            fs,
            nfs,
            "head forward",
            reduce=np.mean,
            scale=1.0 / r.leg_px,
            note=label.split("->")[0],
        )
    else:
        out["head_forward_leg_length"] = _nan(
            "head_forward_leg_length", "leg length not measurable"
        )
    return out


def _arm_metrics(r: _StrideReader) -> dict[str, MetricValue]:
    s = r.stride
    fs, nfs = s.foot_strike.time, s.next_foot_strike.time
    window = in_window(r.t, fs, nfs)
    # The near arm is the one the camera sees; the far arm hides behind the trunk.
    near_is_own = s.leg == Leg.NEAR
    arms = [(r.own, r.own_xy), (r.other, r.other_xy)]
    if not near_is_own:
        arms.reverse()
    arm_ok = [
        np.sum(np.isfinite(xy[window][:, LimbJoint.SHOULDER : LimbJoint.WRIST + 1, 0]).all(axis=1))
        for _, xy in arms
    ]
    use_far = arm_ok[1] > 2 * arm_ok[0]
    limb, xy = arms[1] if use_far else arms[0]
    label = "far arm" if use_far else "near arm"
    keys = (
        "wrist_height_forward_arm_length",
        "elbow_behind_hip_leg_length",
        "elbow_angle_mean_deg",
        "elbow_angle_min_deg",
    )
    if max(arm_ok) == 0:
        return {k: _nan(k, "arm keypoints not seen") for k in keys}
    sh, el, wr = xy[:, LimbJoint.SHOULDER], xy[:, LimbJoint.ELBOW], xy[:, LimbJoint.WRIST]
    q_sh, q_el, q_wr = (
        limb[:, j, 2] for j in (LimbJoint.SHOULDER, LimbJoint.ELBOW, LimbJoint.WRIST)
    )
    out: dict[str, MetricValue] = {}

    arm_px = arm_length_px(limb, min_score=r.min_score)
    height = (sh[:, 1] - wr[:, 1]) / arm_px if arm_px > 0 else np.full(len(r.t), np.nan)
    forward = r.direction * (wr[:, 0] - sh[:, 0]) > 0
    q_h = _joint_quality(q_sh, q_wr, valid=np.isfinite(height))
    # Only the forward swing counts: the hand is meant to rise in front, not behind.
    fwd = window & forward & np.isfinite(height)
    if fwd.any():
        out[keys[0]] = MetricValue(
            float(np.max(height[fwd])), "arm_length", _round_q(float(np.mean(q_h[fwd]))), label
        )
    else:
        out[keys[0]] = _nan(keys[0], f"{label}: wrist never seen ahead of the shoulder")

    # The arm's own-side hip; in a side view near and far hips nearly coincide anyway.
    hip_xy = r.own_xy[:, LimbJoint.HIP] if (limb is r.own) else r.other_xy[:, LimbJoint.HIP]
    hip_q = (r.own if limb is r.own else r.other)[:, LimbJoint.HIP, 2]
    mid_hip, mid_q = r.mid(LimbJoint.HIP)
    missing = np.isnan(hip_xy[:, 0])
    hip_xy = np.where(missing[:, None], mid_hip, hip_xy)
    hip_q = np.where(missing, mid_q, hip_q)
    behind = r.direction * (hip_xy[:, 0] - el[:, 0])
    q_b = _joint_quality(hip_q, q_el, valid=np.isfinite(behind))
    if r.leg_px > 0:
        out[keys[1]] = r.over(
            keys[1], behind, q_b, fs, nfs, "elbow behind hip", scale=1.0 / r.leg_px, note=label
        )
    else:
        out[keys[1]] = _nan(keys[1], "leg length not measurable")

    elbow = interior_angle(sh, el, wr)
    q_e = _joint_quality(q_sh, q_el, q_wr, valid=np.isfinite(elbow))
    out[keys[2]] = r.over(keys[2], elbow, q_e, fs, nfs, "elbow angle", reduce=np.mean, note=label)
    out[keys[3]] = r.over(keys[3], elbow, q_e, fs, nfs, "elbow angle", reduce=np.min, note=label)
    return out
