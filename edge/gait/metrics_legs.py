"""Leg metrics of one stride: overstride, shank and knee angles, the reach before the strike,
knee and thigh peaks, hip extension at toe-off, hip over ankle at mid-stance, and how much
the leg's segments changed length (definitions in ``docs/metrics.md``)."""

from __future__ import annotations

import math

import numpy as np

from edge.gait.angles import interp_at, segment_angle_down, segment_lengths, wrap_degrees
from edge.gait.metric_units import METRIC_UNITS
from edge.gait.scale import Scale
from edge.gait.stride_reader import StrideReader, joint_quality, nan_metric, round_quality
from edge.gait.track import LimbJoint
from edge.types import MetricValue

#: The reach readings take the peak over the last 100 ms before the strike: terminal swing
#: ends with the foot retracting, so the peak sits just before touchdown and is read where
#: it changes slowest; a strike detected one frame late at 18 fps moves it <= 0.8 deg /
#: 0.005 leg lengths instead of 18 deg / 0.16 (docs/cue-calibration.md, sections 3 and 5).
REACH_WINDOW_S = 0.1


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
    out["peak_shank_angle_before_strike_deg"] = r.over(
        "peak_shank_angle_before_strike_deg",
        shank,
        q_shank,
        fs - REACH_WINDOW_S,
        fs,
        "shank reach before strike",
    )
    if math.isfinite(inv_leg):
        out["peak_reach_before_strike_leg_length"] = r.over(
            "peak_reach_before_strike_leg_length",
            ahead_px,
            q_ahead,
            fs - REACH_WINDOW_S,
            fs,
            "foot reach before strike",
            scale=inv_leg,
        )
    else:
        out["peak_reach_before_strike_leg_length"] = nan_metric(
            "peak_reach_before_strike_leg_length", "leg length not measurable"
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
    events = [fs] if to is None or mid_stance is None else [fs, mid_stance, to]
    q_at_strike = interp_at(r.t, q_leg, fs, r.max_gap)
    out["leg_segment_length_change"] = segment_length_change(r, events, q_at_strike)
    return out


def segment_length_change(r: StrideReader, events: list[float], quality: float) -> MetricValue:
    """Largest relative change of the stride leg's thigh or shank at the given events (the
    strike, mid-stance, toe-off) against that segment's median over the whole track.

    Bones keep their length, and a side camera sees the leg nearly in its plane (the lab's
    2D thigh and shank change by 1.5-7.4 %), so a large change means a keypoint is on the
    wrong joint at that event: the plausibility gate of :mod:`edge.gait.gates` reads it.
    """
    key = "leg_segment_length_change"
    # The leg's own joints only: a hip borrowed from the other leg is not this thigh's end.
    hip, knee, ankle = (r.own_xy[:, j] for j in (LimbJoint.HIP, LimbJoint.KNEE, LimbJoint.ANKLE))
    worst, measured = 0.0, False
    for top, bottom in ((hip, knee), (knee, ankle)):
        length = segment_lengths(top, bottom)
        finite = length[np.isfinite(length)]
        if not finite.size:
            continue
        median = float(np.median(finite))
        if median <= 0:
            continue
        for t in events:
            value = interp_at(r.t, length, t, r.max_gap)
            if math.isfinite(value):
                worst = max(worst, abs(value / median - 1.0))
                measured = True
    if not measured:
        return nan_metric(key, "thigh and shank unseen at the stride's events")
    return MetricValue(worst, METRIC_UNITS[key], round_quality(quality))
