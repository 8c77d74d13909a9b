"""Where the hand or foot should be: the target a keyframe draws for a flagged stride.

A keyframe shows the body segment a cue's metric reads; a coach also wants to see where
that segment *should* be.  :func:`cue_target` turns the cue's own limit (the threshold the
judged value crossed, :attr:`edge.types.CueResult.threshold`) and the pose in the picture
into line segments in the frame's pixels, using the same angle conventions as the gait
metrics (:mod:`edge.gait.angles`: angles from the vertical, positive in the direction of
travel; lengths in the runner's own leg or arm lengths, measured here on the pictured pose):

- trunk lean: the trunk at the limit angle, from the mid-hip;
- shank angle (land under the body): the shank at the limit angle from the knee, and the
  plumb line under the hip down to the ground, where the foot should land;
- reach ahead of the hip: that plumb line, and the vertical at the limit distance;
- thigh angle (knee drive): the thigh at the limit angle, from the hip;
- knee flexion: the shank at the limit flexion from the thigh, from the knee;
- hand height: a horizontal line in front of the shoulder at the limit height (shoulder
  height when the cue has no limit: the sheet's own demand);
- elbow behind the hip: the vertical the elbow should reach back to.

Other metrics have no target (``None``).  Pure functions over the pose's keypoints.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from edge.types import Keypoint, Pose

Point = tuple[float, float]
Segment = tuple[Point, Point]

#: The kind of target each metric gets (metrics not listed have none).
TARGET_KINDS: dict[str, str] = {
    "trunk_lean_deg": "lean",
    "trunk_lean_at_foot_strike_deg": "lean",
    "peak_shank_angle_before_strike_deg": "shank",
    "shank_angle_at_foot_strike_deg": "shank",
    "overstride_leg_length": "reach",
    "peak_reach_before_strike_leg_length": "reach",
    "overstride_cm": "reach",
    "peak_thigh_angle_swing_deg": "thigh",
    "knee_flexion_at_foot_strike_deg": "flexion",
    "peak_knee_flexion_stance_deg": "flexion",
    "peak_knee_flexion_swing_deg": "flexion",
    "wrist_height_forward_arm_length": "hand_height",
    "elbow_behind_hip_leg_length": "elbow_back",
}


@dataclass(frozen=True, slots=True)
class Target:
    """Dashed lines showing where the segment should be, in the frame's pixels."""

    segments: tuple[Segment, ...]
    side: str  # "LEFT" / "RIGHT": whose limb the target is for


def keypoint_xy(pose: Pose, name: str, side: str, min_score: float) -> Point | None:
    """A named point of the pose: ``"NOSE"``, ``"LEFT_WRIST"``, ``"KNEE"`` (of ``side``), or
    ``"MID_HIP"``/``"MID_SHOULDER"`` (the midpoint of the seen pair); ``None`` if unseen."""
    kp = pose.keypoints
    if name.startswith("MID_"):
        part = name[4:]
        pair = (Keypoint[f"LEFT_{part}"], Keypoint[f"RIGHT_{part}"])
        seen = [i for i in pair if kp[i, 2] >= min_score]
        if not seen:
            return None
        return float(np.mean([kp[i, 0] for i in seen])), float(np.mean([kp[i, 1] for i in seen]))
    index = Keypoint[name] if name in Keypoint.__members__ else Keypoint[f"{side}_{name}"]
    if kp[index, 2] < min_score:
        return None
    return float(kp[index, 0]), float(kp[index, 1])


def _down(origin: Point, angle_deg: float, length: float, direction: int) -> Point:
    """The end of a segment hanging from ``origin`` at ``angle_deg`` from the downward
    vertical, positive ahead (the convention of ``segment_angle_down``)."""
    a = math.radians(angle_deg)
    return origin[0] + direction * length * math.sin(a), origin[1] + length * math.cos(a)


def _up(origin: Point, angle_deg: float, length: float, direction: int) -> Point:
    """The end of a segment rising from ``origin`` at ``angle_deg`` from the upward
    vertical, positive ahead (the convention of ``segment_angle_up``)."""
    a = math.radians(angle_deg)
    return origin[0] + direction * length * math.sin(a), origin[1] - length * math.cos(a)


def cue_target(
    pose: Pose,
    metric: str,
    threshold: float | None,
    *,
    direction: int,
    side: str,
    min_score: float = 0.3,
) -> Target | None:
    """The target for ``metric`` on ``pose``: where ``side``'s limb should be for the value
    to reach ``threshold``.  ``direction`` is +1 when the runner faces increasing image x.
    ``None`` when the metric has no target, its limit is needed and missing, or the
    keypoints it needs are unseen."""
    if direction not in (1, -1):
        raise ValueError(f"direction must be +1 or -1, got {direction!r}")
    kind = TARGET_KINDS.get(metric)
    if kind is None:
        return None
    limit = threshold if threshold is not None and math.isfinite(threshold) else None

    def at(name: str) -> Point | None:
        return keypoint_xy(pose, name, side, min_score)

    segments: list[Segment] = []
    if kind == "lean":
        hip, shoulder = at("MID_HIP"), at("MID_SHOULDER")
        if hip is None or shoulder is None or limit is None:
            return None
        segments.append((hip, _up(hip, limit, math.dist(hip, shoulder), direction)))
    elif kind in ("shank", "reach", "thigh", "flexion"):
        hip, knee, ankle = at("HIP"), at("KNEE"), at("ANKLE")
        if hip is None or knee is None or ankle is None:
            return None
        thigh_px, shank_px = math.dist(hip, knee), math.dist(knee, ankle)
        if kind in ("shank", "reach"):
            # Under the body: the hip's plumb line down to the ground (the ankle's height).
            segments.append((hip, (hip[0], ankle[1])))
        if kind == "shank" and limit is not None:
            segments.append((knee, _down(knee, limit, shank_px, direction)))
        elif kind == "reach" and limit is not None and metric.endswith("_leg_length"):
            x = hip[0] + direction * limit * (thigh_px + shank_px)
            segments.append(((x, knee[1]), (x, ankle[1])))
        elif kind == "thigh" and limit is not None:
            segments.append((hip, _down(hip, limit, thigh_px, direction)))
        elif kind == "flexion" and limit is not None:
            # Flexion is thigh angle minus shank angle (edge.gait.metrics_legs).
            thigh_deg = math.degrees(math.atan2(direction * (knee[0] - hip[0]), knee[1] - hip[1]))
            segments.append((knee, _down(knee, thigh_deg - limit, shank_px, direction)))
    elif kind == "hand_height":
        shoulder, elbow, wrist = at("SHOULDER"), at("ELBOW"), at("WRIST")
        if shoulder is None or elbow is None or wrist is None:
            return None
        arm_px = math.dist(shoulder, elbow) + math.dist(elbow, wrist)
        # The metric is (shoulder y - wrist y) / arm length: the limit's height in the frame.
        y = shoulder[1] - (limit if limit is not None else 0.0) * arm_px
        segments.append(((shoulder[0], y), (shoulder[0] + direction * arm_px, y)))
    elif kind == "elbow_back":
        shoulder, hip, knee, ankle = at("SHOULDER"), at("HIP"), at("KNEE"), at("ANKLE")
        if shoulder is None or hip is None or knee is None or ankle is None or limit is None:
            return None
        leg_px = math.dist(hip, knee) + math.dist(knee, ankle)
        # The metric is how far the elbow gets behind the hip, in leg lengths.
        x = hip[0] - direction * limit * leg_px
        segments.append(((x, shoulder[1]), (x, hip[1])))
    segments = [s for s in segments if math.dist(*s) >= 1.0]
    return Target(tuple(segments), side) if segments else None
