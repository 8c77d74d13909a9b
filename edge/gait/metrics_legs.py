"""Leg metrics of one stride: overstride, shank and knee angles, knee and thigh peaks, hip
extension at toe-off, hip over ankle at mid-stance (definitions in ``docs/metrics.md``)."""

from __future__ import annotations

import math

import numpy as np

from edge.gait.angles import segment_angle_down, wrap_degrees
from edge.gait.scale import Scale
from edge.gait.stride_reader import StrideReader, joint_quality, nan_metric
from edge.gait.track import LimbJoint
from edge.types import MetricValue


def leg_metrics(r: StrideReader, scale: Scale | None) -> dict[str, MetricValue]:
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
    q_leg = joint_quality(q_hip, q_knee, q_ankle, valid=np.isfinite(flexion))
    q_thigh = joint_quality(q_hip, q_knee, valid=np.isfinite(thigh))
    q_shank = joint_quality(q_knee, q_ankle, valid=np.isfinite(shank))
    ahead_px = d * (ankle[:, 0] - hip[:, 0])
    q_ahead = joint_quality(q_hip, q_ankle, valid=np.isfinite(ahead_px))
    out: dict[str, MetricValue] = {}

    inv_leg = 1.0 / r.leg_px  # nan when the leg length is not measurable
    if math.isfinite(inv_leg):
        out["overstride_leg_length"] = r.at(
            "overstride_leg_length", ahead_px, q_ahead, fs, "overstride", inv_leg
        )
    else:
        out["overstride_leg_length"] = nan_metric(
            "overstride_leg_length", "leg length not measurable"
        )
    if scale is None:
        out["overstride_cm"] = nan_metric(
            "overstride_cm", "no scale: set athlete height or calibration"
        )
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
        out["hip_ahead_of_ankle_midstance_leg_length"] = nan_metric(
            "hip_ahead_of_ankle_midstance_leg_length", "leg length not measurable"
        )
    return out
