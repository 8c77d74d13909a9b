"""Upper-body metrics of one stride: trunk lean, vertical oscillation and stride length, head
pitch and position, arm carriage (definitions in ``docs/metrics.md``)."""

from __future__ import annotations

import math

import numpy as np

from edge.gait.angles import (
    in_window,
    interior_angle,
    interp_at,
    largest_gap,
    pitch_below_horizontal,
    segment_angle_up,
)
from edge.gait.scale import Scale, arm_length_px
from edge.gait.stride_reader import StrideReader, joint_quality, nan_metric, round_quality
from edge.gait.track import HeadPoint, LimbJoint
from edge.types import Leg, MetricValue

# A hip that moves less than this (leg lengths per stride) is on a treadmill, not overground.
_OVERGROUND_MIN_TRAVEL = 0.5


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


def trunk_metrics(
    r: StrideReader, scale: Scale | None, belt_speed_mps: float | None
) -> dict[str, MetricValue]:
    s = r.stride
    fs, nfs = s.foot_strike.time, s.next_foot_strike.time
    shoulder, q_sh = r.mid(LimbJoint.SHOULDER)
    hip, q_hip = r.mid(LimbJoint.HIP)
    lean = segment_angle_up(hip, shoulder, r.direction)
    q_lean = joint_quality(q_sh, q_hip, valid=np.isfinite(lean))
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
    if math.isfinite(osc_px) and math.isfinite(r.leg_px):
        out["vertical_oscillation_leg_length"] = MetricValue(
            osc_px / r.leg_px, "leg_length", round_quality(q_osc)
        )
    else:
        out["vertical_oscillation_leg_length"] = nan_metric("vertical_oscillation_leg_length", why)
    if scale is None:
        out["vertical_oscillation_cm"] = nan_metric("vertical_oscillation_cm", "no scale")
    elif math.isfinite(osc_px):
        out["vertical_oscillation_cm"] = MetricValue(
            scale.to_cm(osc_px), "cm", round_quality(q_osc)
        )
    else:
        out["vertical_oscillation_cm"] = nan_metric("vertical_oscillation_cm", why)

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
        out["stride_length_cm"] = nan_metric(
            "stride_length_cm", "overground but no scale" if overground else note
        )
    if math.isfinite(ratio):
        out["vertical_ratio_percent"] = MetricValue(ratio, "percent", round_quality(q_osc), note)
    elif belt_speed_mps and scale is None:
        out["vertical_ratio_percent"] = nan_metric(
            "vertical_ratio_percent", "belt speed given but no scale"
        )
    else:
        out["vertical_ratio_percent"] = nan_metric(
            "vertical_ratio_percent", note if not overground else why
        )
    return out


def head_metrics(r: StrideReader) -> dict[str, MetricValue]:
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
            "head_pitch_deg": nan_metric("head_pitch_deg", note),
            "head_forward_leg_length": nan_metric("head_forward_leg_length", note),
        }
    ear_i, front_i, label = pairs[best]
    ear, front = r.head_xy[:, ear_i], r.head_xy[:, front_i]
    pitch = pitch_below_horizontal(ear, front, r.direction)
    q_pitch = joint_quality(r.head[:, ear_i, 2], r.head[:, front_i, 2], valid=np.isfinite(pitch))
    out["head_pitch_deg"] = r.over(
        "head_pitch_deg", pitch, q_pitch, fs, nfs, "head pitch", reduce=np.mean, note=label
    )
    shoulder, q_sh = r.mid(LimbJoint.SHOULDER)
    forward = r.direction * (ear[:, 0] - shoulder[:, 0])
    q_fwd = joint_quality(r.head[:, ear_i, 2], q_sh, valid=np.isfinite(forward))
    if math.isfinite(r.leg_px):
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
        out["head_forward_leg_length"] = nan_metric(
            "head_forward_leg_length", "leg length not measurable"
        )
    return out


def arm_metrics(r: StrideReader) -> dict[str, MetricValue]:
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
        return {k: nan_metric(k, "arm keypoints not seen") for k in keys}
    sh, el, wr = xy[:, LimbJoint.SHOULDER], xy[:, LimbJoint.ELBOW], xy[:, LimbJoint.WRIST]
    q_sh, q_el, q_wr = (
        limb[:, j, 2] for j in (LimbJoint.SHOULDER, LimbJoint.ELBOW, LimbJoint.WRIST)
    )
    out: dict[str, MetricValue] = {}

    arm_px = arm_length_px(limb, min_score=r.min_score)
    height = (sh[:, 1] - wr[:, 1]) / arm_px if arm_px > 0 else np.full(len(r.t), np.nan)
    forward = r.direction * (wr[:, 0] - sh[:, 0]) > 0
    q_h = joint_quality(q_sh, q_wr, valid=np.isfinite(height))
    # Only the forward swing counts: the hand is meant to rise in front, not behind.
    fwd = window & forward & np.isfinite(height)
    if fwd.any():
        out[keys[0]] = MetricValue(
            float(np.max(height[fwd])), "arm_length", round_quality(float(np.mean(q_h[fwd]))), label
        )
    else:
        out[keys[0]] = nan_metric(keys[0], f"{label}: wrist never seen ahead of the shoulder")

    # The arm's own-side hip; in a side view near and far hips nearly coincide anyway.
    hip_xy = r.own_xy[:, LimbJoint.HIP] if (limb is r.own) else r.other_xy[:, LimbJoint.HIP]
    hip_q = (r.own if limb is r.own else r.other)[:, LimbJoint.HIP, 2]
    mid_hip, mid_q = r.mid(LimbJoint.HIP)
    missing = np.isnan(hip_xy[:, 0])
    hip_xy = np.where(missing[:, None], mid_hip, hip_xy)
    hip_q = np.where(missing, mid_q, hip_q)
    behind = r.direction * (hip_xy[:, 0] - el[:, 0])
    q_b = joint_quality(hip_q, q_el, valid=np.isfinite(behind))
    if math.isfinite(r.leg_px):
        out[keys[1]] = r.over(
            keys[1], behind, q_b, fs, nfs, "elbow behind hip", scale=1.0 / r.leg_px, note=label
        )
    else:
        out[keys[1]] = nan_metric(keys[1], "leg length not measurable")

    elbow = interior_angle(sh, el, wr)
    q_e = joint_quality(q_sh, q_el, q_wr, valid=np.isfinite(elbow))
    out[keys[2]] = r.over(keys[2], elbow, q_e, fs, nfs, "elbow angle", reduce=np.mean, note=label)
    out[keys[3]] = r.over(keys[3], elbow, q_e, fs, nfs, "elbow angle", reduce=np.min, note=label)
    return out
