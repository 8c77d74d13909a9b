"""Front/rear-view arm and shoulder metrics, and a side-vs-front view classifier.

These read raw COCO-17 keypoints (``(N, 17, 3)`` arrays of ``x, y, score`` in source
pixels, y down) because a front or rear view needs no near/far relabelling: MoveNet tells
left from right reliably when it sees the body square on.

View geometry: COCO shoulder keypoints sit near the shoulder joints, about 0.2 H apart
(biacromial breadth, H = standing height); the hip joints are about 0.1 H apart; the
shoulders sit about 0.3 H above the hip joints.  Seen square on, the shoulders therefore
span ~0.5-0.65 torso heights and the hips ~0.25-0.35 (the BMClab overground runner,
projected from the front, measures 0.56 and 0.27); seen from the side both collapse to a
few hundredths plus trunk rotation.  The classifier scores where the measured widths fall
between those two pictures.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from edge.types import Keypoint, MetricValue

# Width / torso-height ratios that read as fully side-on (0) and fully square-on (1).
_SHOULDER_RATIO_SIDE, _SHOULDER_RATIO_FRONT = 0.1, 0.5
_HIP_RATIO_SIDE, _HIP_RATIO_FRONT = 0.03, 0.25

FRONTVIEW_UNITS: dict[str, str] = {
    "shoulder_tilt_deg": "deg",
    "shoulder_tilt_max_deg": "deg",
    "wrist_crossing_left_shoulder_width": "shoulder_width",
    "wrist_crossing_right_shoulder_width": "shoulder_width",
    "wrist_crossing_shoulder_width": "shoulder_width",
}


class CameraView(StrEnum):
    """Which way the camera looks at the runner."""

    SIDE = "side"
    FRONT_OR_REAR = "front_or_rear"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class ViewEstimate:
    """The classifier's answer: ``view``, a ``confidence`` 0..1 and the evidence."""

    view: CameraView
    confidence: float
    shoulder_width_ratio: float  # shoulder width / torso height (median over frames)
    hip_width_ratio: float  # hip width / torso height (median over frames)


def _as_frames(keypoints: np.ndarray) -> np.ndarray:
    k = np.asarray(keypoints, dtype=float)
    return k[None] if k.ndim == 2 else k


def _xy(k: np.ndarray, joint: Keypoint, min_score: float) -> np.ndarray:
    xy = k[:, joint, :2].copy()
    xy[~(k[:, joint, 2] >= min_score)] = np.nan
    return xy


def _median(values: np.ndarray) -> float:
    finite = values[np.isfinite(values)]
    return float(np.median(finite)) if finite.size else float("nan")


def classify_view(keypoints: np.ndarray, *, min_score: float = 0.3) -> ViewEstimate:
    """Side or front/rear view from the width of shoulders and hips relative to the torso.

    ``keypoints`` is one pose ``(17, 3)`` or several ``(N, 17, 3)`` (medians over frames
    are steadier: trunk rotation widens the shoulders of a side view for a moment).
    ``UNKNOWN`` when no torso is seen; a 3/4 view lands near the middle with a low
    confidence.
    """
    k = _as_frames(keypoints)
    ls, rs = _xy(k, Keypoint.LEFT_SHOULDER, min_score), _xy(k, Keypoint.RIGHT_SHOULDER, min_score)
    lh, rh = _xy(k, Keypoint.LEFT_HIP, min_score), _xy(k, Keypoint.RIGHT_HIP, min_score)
    torso = np.abs(0.5 * (ls[:, 1] + rs[:, 1]) - 0.5 * (lh[:, 1] + rh[:, 1]))
    torso = np.where(torso > 0, torso, np.nan)
    shoulder_ratio = _median(np.abs(ls[:, 0] - rs[:, 0]) / torso)
    hip_ratio = _median(np.abs(lh[:, 0] - rh[:, 0]) / torso)
    frontness = [
        np.clip((ratio - lo) / (hi - lo), 0.0, 1.0)
        for ratio, lo, hi in (
            (shoulder_ratio, _SHOULDER_RATIO_SIDE, _SHOULDER_RATIO_FRONT),
            (hip_ratio, _HIP_RATIO_SIDE, _HIP_RATIO_FRONT),
        )
        if np.isfinite(ratio)
    ]
    if not frontness:
        return ViewEstimate(CameraView.UNKNOWN, 0.0, shoulder_ratio, hip_ratio)
    score = float(np.mean(frontness))
    view = CameraView.FRONT_OR_REAR if score >= 0.5 else CameraView.SIDE
    return ViewEstimate(view, round(abs(score - 0.5) * 2.0, 3), shoulder_ratio, hip_ratio)


def frontview_metrics(keypoints: np.ndarray, *, min_score: float = 0.3) -> dict[str, MetricValue]:
    """Shoulder tilt and wrist midline crossing over a window of front/rear-view poses.

    * ``shoulder_tilt_deg``: mean angle of the shoulder line from horizontal, positive when
      the **left** shoulder is lower (anatomical, so front and rear views agree);
      ``shoulder_tilt_max_deg`` is the largest absolute tilt (rocking).
    * ``wrist_crossing_*_shoulder_width``: how far each wrist reaches past the body midline
      (the line from mid-shoulder to mid-hip, taken at the wrist's height) towards the other
      side, in shoulder widths; the maximum over the window.  ``<= 0`` never crossed.
    """
    k = _as_frames(keypoints)
    ls, rs = _xy(k, Keypoint.LEFT_SHOULDER, min_score), _xy(k, Keypoint.RIGHT_SHOULDER, min_score)
    lh, rh = _xy(k, Keypoint.LEFT_HIP, min_score), _xy(k, Keypoint.RIGHT_HIP, min_score)
    scores = k[:, :, 2]
    out: dict[str, MetricValue] = {}

    tilt = np.degrees(np.arctan2(ls[:, 1] - rs[:, 1], np.abs(ls[:, 0] - rs[:, 0])))
    ok = np.isfinite(tilt)
    if ok.any():
        q = float(
            np.clip(np.mean(scores[ok][:, [Keypoint.LEFT_SHOULDER, Keypoint.RIGHT_SHOULDER]]), 0, 1)
        )
        out["shoulder_tilt_deg"] = MetricValue(float(np.mean(tilt[ok])), "deg", q)
        out["shoulder_tilt_max_deg"] = MetricValue(float(np.max(np.abs(tilt[ok]))), "deg", q)
    else:
        for key in ("shoulder_tilt_deg", "shoulder_tilt_max_deg"):
            out[key] = MetricValue(float("nan"), "deg", 0.0, "shoulders not seen")

    mid_sh = 0.5 * (ls + rs)
    mid_hip = 0.5 * (lh + rh)
    width = np.abs(ls[:, 0] - rs[:, 0])
    # Which image side is "left" depends on front vs rear view: read it off the shoulders.
    left_sign = np.sign(ls[:, 0] - rs[:, 0])
    crossings = []
    for key, wrist_kp, sign in (
        ("wrist_crossing_left_shoulder_width", Keypoint.LEFT_WRIST, left_sign),
        ("wrist_crossing_right_shoulder_width", Keypoint.RIGHT_WRIST, -left_sign),
    ):
        wrist = _xy(k, wrist_kp, min_score)
        span = mid_hip[:, 1] - mid_sh[:, 1]
        # Degenerate frames (hips at shoulder height, zero width) divide by nan, not by 0.
        along = (wrist[:, 1] - mid_sh[:, 1]) / np.where(span != 0, span, np.nan)
        midline_x = mid_sh[:, 0] + along * (mid_hip[:, 0] - mid_sh[:, 0])
        crossing = -sign * (wrist[:, 0] - midline_x) / np.where(width > 0, width, np.nan)
        ok = np.isfinite(crossing)
        if ok.any():
            q = float(np.clip(np.mean(scores[ok][:, wrist_kp]), 0, 1))
            out[key] = MetricValue(float(np.max(crossing[ok])), "shoulder_width", q)
            crossings.append(out[key])
        else:
            out[key] = MetricValue(
                float("nan"), "shoulder_width", 0.0, "wrist, shoulders or hips not seen"
            )
    if crossings:
        worst = max(crossings, key=lambda m: m.value)
        out["wrist_crossing_shoulder_width"] = worst
    else:
        out["wrist_crossing_shoulder_width"] = MetricValue(
            float("nan"), "shoulder_width", 0.0, "no wrist seen against the midline"
        )
    return out
