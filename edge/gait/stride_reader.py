"""How the stride metrics read one stride of a side-view track.

:class:`StrideReader` holds the stride's arrays (keypoints below ``min_score`` are ``nan``)
and samples them the way every metric does: interpolated at an event time over valid
samples only (:meth:`StrideReader.at`), or reduced over a window between two events
(:meth:`StrideReader.over`), refused with a note when the keypoints were unseen for too
long.  Distances are normalised by the leg length of the one leg-length rule.
"""

from __future__ import annotations

import math

import numpy as np

from edge.gait.angles import (
    MAX_INTERP_GAP_S,
    in_window,
    interp_at,
    largest_gap,
    masked_xy,
    window_with_ends,
)
from edge.gait.metric_units import METRIC_UNITS
from edge.gait.scale import leg_length_px
from edge.gait.track import LimbJoint, SideViewTrack
from edge.types import Leg, MetricValue, Stride

#: A window metric is refused when its keypoints are unseen for longer than this share of
#: the window (or than two-and-a-half frame intervals, whichever is longer).
MAX_WINDOW_GAP_FRACTION = 0.2
#: An event within this share of a frame interval of a seen frame reads that frame when the
#: other side of it is unseen (a quarter frame: below the event times' own +-1 frame spread).
SNAP_FRACTION = 0.25


def mean_of_two(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Element-wise mean of two arrays that falls back to whichever one is finite."""
    return np.where(np.isnan(a), b, np.where(np.isnan(b), a, 0.5 * (a + b)))


def joint_quality(*scores: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Per-frame mean score of the joints a value reads, ``nan`` where the value is unseen."""
    q = scores[0] if len(scores) == 1 else sum(scores[1:], scores[0]) / len(scores)
    return np.where(valid, q, np.nan)


def nan_metric(key: str, note: str) -> MetricValue:
    return MetricValue(float("nan"), METRIC_UNITS[key], 0.0, note)


class StrideReader:
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
        # An event this close to a seen frame was seen, whatever the frame beyond it: at
        # 18 fps (jes_woods_nike_coach_1) a mid-stance 5 ms before a seen frame, next to an
        # unseen one, was unknown in batch and measured live, 9 ms later.
        self.snap = SNAP_FRACTION * typical_dt
        own, other = (track.near, track.far) if stride.leg == Leg.NEAR else (track.far, track.near)
        self.own, self.other = own, other
        self.own_xy = masked_xy(own, min_score)
        self.other_xy = masked_xy(other, min_score)
        self.head_xy = masked_xy(track.head, min_score)
        self.head = track.head
        self.leg_px = leg_length_px(track, min_score=min_score)  # nan: not measurable
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
            return nan_metric(key, f"{what}: event not detected")
        value = interp_at(self.t, values, time, self.max_gap, self.snap)
        if not math.isfinite(value):
            return nan_metric(key, f"{what}: keypoints not seen around t={time:.3f}s")
        q = interp_at(self.t, quality, time, self.max_gap, self.snap)
        return MetricValue(value * scale, METRIC_UNITS[key], round_quality(q), note)

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
            return nan_metric(key, f"{what}: phase boundary (toe-off) not detected")
        valid = np.isfinite(values)
        gap = largest_gap(self.t, valid, start, end)
        if gap > self.window_gap:
            return nan_metric(
                key, f"{what}: keypoints unseen for {gap * 1000:.0f} ms of the window"
            )
        samples = window_with_ends(self.t, values, start, end, self.max_gap)
        if samples.size == 0:
            return nan_metric(key, f"{what}: no valid samples")
        inside = quality[in_window(self.t, start, end) & valid]
        q = float(inside.sum()) / inside.size if inside.size else 0.0
        # Missing frames make a peak less certain: scale by the share of the window covered.
        q *= 1.0 - max(0.0, gap - self.max_gap) / max(end - start, 1e-9)
        return MetricValue(
            float(reduce(samples)) * scale, METRIC_UNITS[key], round_quality(q), note
        )

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
        xy = mean_of_two(self.own_xy[:, joint], self.other_xy[:, joint])
        a = np.where(np.isnan(self.own_xy[:, joint, 0]), np.nan, self.own[:, joint, 2])
        b = np.where(np.isnan(self.other_xy[:, joint, 0]), np.nan, self.other[:, joint, 2])
        return xy, mean_of_two(a, b)


def round_quality(q: float) -> float:
    return min(1.0, max(0.0, float(q))) if math.isfinite(q) else 0.0
