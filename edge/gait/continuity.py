"""Limb continuity: two limb tracks that stay with their legs through MoveNet's label swaps.

MoveNet names limbs left/right from appearance, and in a side view it often swaps the names
for a few frames when the legs cross, so the names are not trusted.  Two limb tracks, A and
B, each follow their joints with a constant-velocity (alpha-beta) filter.  Every frame, for
the leg (knee, ankle) and the arm (elbow, wrist), :class:`LimbContinuity` weighs four
hypotheses against the predictions — names kept, whole limb swapped, only the first or only
the second joint swapped — and keeps the cheapest (the Hungarian method on two items).
Hips follow their knee, shoulders their elbow.  Which track is the *near* limb is decided
elsewhere (:mod:`edge.gait.nearfar`); continuity only keeps each track on one limb.

Above 40 fps two more rules keep MoveNet's typical errors out of the tracks: both ankle
keypoints on one foot (*merged*) leave the other track's ankle unseen, and a joint far off
its filter's course (*innovation gate*) is unseen for that frame (docs/gait.md,
"Robustness to MoveNet's errors").
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from edge.gait.coco import split_limbs
from edge.gait.leg_length import leg_lengths
from edge.gait.track import LimbJoint

# Assignment groups: the first joints of a group are tracked and decide together whether
# MoveNet swapped the pair's names; the remaining joint (hip, shoulder) follows.
GROUPS: tuple[tuple[tuple[LimbJoint, ...], LimbJoint], ...] = (
    ((LimbJoint.KNEE, LimbJoint.ANKLE), LimbJoint.HIP),
    ((LimbJoint.ELBOW, LimbJoint.WRIST), LimbJoint.SHOULDER),
)
# A swap of one joint alone (e.g. only the ankles) happens, but less often than a whole-limb
# swap; it must beat the alternatives by this much (squared, in leg lengths).
PARTIAL_SWAP_PENALTY = 0.05**2
# MoveNet rarely pairs a knee with the other leg's ankle (the shank it draws stays its usual
# length: > 1.3x the median in <= 2 % of frames on the real clips), but a hypothesis that
# does so can look cheap against noisy predictions.  Each hypothesis therefore also pays for
# how far the shank (forearm) lengths it implies are from their running length.
SEGMENT_WEIGHT = 1.0
# Merged ankles: MoveNet often puts both ankle keypoints on the stance foot (14 % of
# near-stance frames on the real clips, docs/live-timing-notes.md).  Two ankles closer than
# this (leg lengths) are one foot.  The model's merged keypoint sits within it 98 % of the
# time (jitter 0.02 per axis on each); on the clean lab films the running ankles never come
# closer than 0.135, walking ones in 1-2.5 % of frames, at the mid-swing crossing, far from
# any event.  Chosen on Fukuchi T25 MoveNet-like films at 60 fps (0.05 / 0.08 / 0.12: FS
# p95 25 / 26 / 26 ms plain, 43 / 42 / 42 mirrored, wrong leg 99 / 81 / 90 of 308).
MERGED_ANKLES = 0.08
# Innovation gate: a tracked joint further than this many robust SDs of its filter's own
# innovations from where the filter expected it (a displaced keypoint, a swap continuity
# did not catch) is left unseen for that frame and does not move the filter.  Robust SD:
# a running mean of the accepted innovation sizes / 1.25 (a 2-D Gaussian's mean radius).
# Chosen on Fukuchi T25 MoveNet-like films at 60 fps, merged ankles on (4 films, distance
# to the prediction, before the path rule of ``_implausible``): k = 3 / 4 / 6 gave FS p95
# 28 / 21 / 19 ms plain, 25 / 30 / 36 mirrored, wrong leg 34 / 14 / 53 of 308.
GATE_SIGMAS = 4.0
# ... never tighter than this (leg lengths): the smallest displacement of a confident ankle
# measured on the real clips (0.1-0.55), so that near-noiseless input, whose innovations
# are tiny, is not gated for ordinary motion.
GATE_FLOOR = 0.1
# ... and only this long (s) since the filter's last accepted measurement: a jump that
# persists is a real change (e.g. a swap continuity missed) and the filter must follow.
# Two frames at 60 fps.  Fukuchi T25 MoveNet-like, 60 fps, 8 films (before the path rule):
# 0.045 s FS p95 19 / 24 ms (plain / mirrored) against 22 / 26 ms at 0.06 s; 4 films:
# 0.03 / 0.05 / 0.1 s gave 19 / 21 / 36 plain, 29 / 30 / 39 mirrored.
GATE_SPAN = 0.045
GATE_WARMUP = 5  # accepted updates before a filter's spread is trusted
# Both rules (merged ankles, the gate) only between frames at most this far apart (s): at
# 30 fps they did not help on Fukuchi T25 MoveNet-like films (4 films: FS p95 44 / 29 ms
# plain / mirrored with them, 36 / 46 without, but 30 + 39 strikes missed against 23 + 30),
# where a constant-velocity prediction over 33 ms is poor and MoveNet's errors last about
# one frame, which the smoothing's own outlier rejection removes; at 60 fps they clearly
# did (above).  Between the two: 40 fps.
ROBUST_MAX_INTERVAL = 0.025


@dataclass
class _JointFilter:
    """Alpha-beta filter on one joint's image position."""

    alpha: float = 0.6
    beta: float = 0.25
    pos: np.ndarray | None = None
    vel: np.ndarray = field(default_factory=lambda: np.zeros(2))
    t: float = float("nan")
    spread: float = float("nan")  # running mean innovation size (px) of accepted updates
    updates: int = 0

    def predict(self, t: float) -> np.ndarray | None:
        if self.pos is None:
            return None
        return self.pos + self.vel * (t - self.t)

    def update(self, t: float, xy: np.ndarray) -> None:
        if self.pos is None:
            self.pos, self.t = xy.astype(float).copy(), t
            return
        dt = t - self.t
        pred = self.pos + self.vel * dt
        resid = xy - pred
        size = float(np.hypot(*resid))
        self.spread = size if not np.isfinite(self.spread) else 0.9 * self.spread + 0.1 * size
        self.updates += 1
        self.pos = pred + self.alpha * resid
        if dt > 0:
            self.vel = self.vel + self.beta * resid / dt
        self.t = t


class LimbContinuity:
    """Keeps two limb tracks (A, B) consistent through MoveNet's left/right swaps.

    :meth:`assign` takes one frame's COCO keypoints and returns the (6, 3) limbs of track A
    and track B.  For the leg (knee, ankle) and the arm (elbow, wrist) it weighs four
    hypotheses against constant-velocity predictions: names kept, whole limb swapped, or
    only one of the two joints swapped.  ``max_gap`` seconds without a joint forget its
    filter, so a runner who leaves and re-enters the frame starts afresh.
    """

    def __init__(self, min_score: float = 0.3, max_gap: float = 0.5):
        self.min_score = min_score
        self.max_gap = max_gap
        self._filters = {
            (j, track): _JointFilter() for g, _ in GROUPS for j in g for track in (0, 1)
        }
        self.scale = float("nan")  # running leg length (px), for the partial-swap penalty
        self._segment = [float("nan")] * len(GROUPS)  # running shank / forearm length (px)
        self._last_t = float("nan")  # the previous frame's time

    def assign(self, t: float, keypoints: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        left, right = split_limbs(np.asarray(keypoints, float))
        a, b = left.copy(), right.copy()
        lengths = leg_lengths(np.stack([left, right]), self.min_score)
        measured = lengths[np.isfinite(lengths)]
        if measured.size:
            length = float(measured[0])  # the left leg's when both are measurable
            known = np.isfinite(self.scale)
            self.scale = 0.95 * self.scale + 0.05 * length if known else length
        penalty = PARTIAL_SWAP_PENALTY * (self.scale**2 if np.isfinite(self.scale) else 1e4)
        robust = t - self._last_t <= ROBUST_MAX_INTERVAL  # False for the first frame (nan)
        self._last_t = t
        for g, (joints, follower) in enumerate(GROUPS):
            segment = self._update_segment(g, joints, left, right)
            # Hypotheses: which of the tracked joints swap (False, False) ... (True, True).
            costs = {}
            for swap_first in (False, True):
                for swap_second in (False, True):
                    flags = (swap_first, swap_second)
                    cost = 0.0 if swap_first == swap_second else penalty
                    for j, flag in zip(joints, flags, strict=True):
                        cost += self._cost(t, j, left[j], right[j], flag)
                    if swap_first != swap_second:
                        cost += self._segment_cost(joints, left, right, flags, segment)
                    costs[flags] = cost
            best = min(costs, key=lambda k: (costs[k], k != (False, False)))
            for j, flag in zip(joints, best, strict=True):
                if flag:
                    a[j], b[j] = right[j].copy(), left[j].copy()
            if best[0]:  # the follower (hip, shoulder) goes with the first joint (knee, elbow)
                a[follower], b[follower] = right[follower].copy(), left[follower].copy()
            if robust and LimbJoint.ANKLE in joints:
                self._drop_merged_ankle(t, a, b)
            for j in joints:
                for track, limb in ((0, a), (1, b)):
                    if limb[j, 2] < self.min_score:
                        continue
                    f = self._filters[(j, track)]
                    if robust and self._implausible(t, f, limb[j, :2]):
                        limb[j, 2] = 0.0  # unseen this frame; the filter keeps its course
                    else:
                        f.update(t, limb[j, :2])
        return a, b

    def exchange_legs(self) -> None:
        """From now on, track A follows the leg track B followed and vice versa: a swap
        that continuity missed and the running rhythm found later (the stream keeps the
        leg-swap repair, edge/gait/streaming.py).  The arms keep their tracks."""
        for joints, _follower in GROUPS:
            if LimbJoint.ANKLE in joints:
                for j in joints:
                    self._filters[(j, 0)], self._filters[(j, 1)] = (
                        self._filters[(j, 1)],
                        self._filters[(j, 0)],
                    )

    def _implausible(self, t: float, f: _JointFilter, xy: np.ndarray) -> bool:
        """Whether ``xy`` is too far from where ``f`` expected its joint (innovation gate).

        The distance is taken to the path from the filter's last position to its prediction,
        not to the prediction alone: a foot that lands stops short of where its swing would
        have taken it, and that is no outlier.  On Fukuchi T25 white-noise films at 60 fps
        this cut the frames gated near a true joint from 3-16 to 0-3 per film."""
        if f.pos is None or f.updates < GATE_WARMUP or not np.isfinite(self.scale):
            return False
        if t - f.t > GATE_SPAN:
            return False
        limit = max(GATE_SIGMAS * f.spread / 1.25, GATE_FLOOR * self.scale)
        predicted = f.predict(t)
        assert predicted is not None
        return _distance_to_segment(xy, f.pos, predicted) > limit

    def _drop_merged_ankle(self, t: float, a: np.ndarray, b: np.ndarray) -> None:
        """Both ankle keypoints on one foot: the one track whose filter expected its ankle
        there keeps it; the other's foot (in swing, unseen by MoveNet) is left unseen."""
        ankle = LimbJoint.ANKLE
        if not np.isfinite(self.scale):
            return
        if a[ankle, 2] < self.min_score or b[ankle, 2] < self.min_score:
            return
        if np.hypot(*(a[ankle, :2] - b[ankle, :2])) > MERGED_ANKLES * self.scale:
            return
        fa, fb = self._filters[(ankle, 0)], self._filters[(ankle, 1)]
        pa, pb = fa.predict(t), fb.predict(t)
        if pa is None or pb is None:
            return
        merged = (a[ankle, :2] + b[ankle, :2]) / 2
        if _dist2(merged, pa) > _dist2(merged, pb):
            a[ankle, 2] = 0.0
        else:
            b[ankle, 2] = 0.0

    def _update_segment(
        self, group: int, joints: tuple[LimbJoint, ...], left: np.ndarray, right: np.ndarray
    ) -> float:
        """Running length (px) of the group's distal segment (shank or forearm), from the
        pairs as MoveNet names them (it keeps a limb's own joints together)."""
        first, second = joints
        lengths = [
            float(np.hypot(*(limb[first, :2] - limb[second, :2])))
            for limb in (left, right)
            if limb[first, 2] >= self.min_score and limb[second, 2] >= self.min_score
        ]
        if lengths:
            length = min(lengths)  # a mislabelled pair is longer, never shorter
            old = self._segment[group]
            self._segment[group] = length if not np.isfinite(old) else 0.95 * old + 0.05 * length
        return self._segment[group]

    def _segment_cost(
        self,
        joints: tuple[LimbJoint, ...],
        left: np.ndarray,
        right: np.ndarray,
        flags: tuple[bool, bool],
        segment: float,
    ) -> float:
        """How much a partial swap's implied segments differ from the minimum of the
        names-kept and whole-swap pairs' (both of which keep MoveNet's own pairs)."""
        if not np.isfinite(segment):
            return 0.0
        first, second = joints
        # Track A's first joint comes from `right` when flags[0], else `left`; same for B.
        a_first, b_first = (right, left) if flags[0] else (left, right)
        a_second, b_second = (right, left) if flags[1] else (left, right)
        cost = 0.0
        for p, q in ((a_first[first], a_second[second]), (b_first[first], b_second[second])):
            if p[2] >= self.min_score and q[2] >= self.min_score:
                cost += (float(np.hypot(*(p[:2] - q[:2]))) - segment) ** 2
        return SEGMENT_WEIGHT * cost

    def _cost(
        self, t: float, joint: LimbJoint, left: np.ndarray, right: np.ndarray, swap: bool
    ) -> float:
        fa, fb = self._filters[(joint, 0)], self._filters[(joint, 1)]
        for f in (fa, fb):
            if f.pos is not None and t - f.t > self.max_gap:
                f.pos, f.vel, f.t = None, np.zeros(2), float("nan")
        pa, pb = fa.predict(t), fb.predict(t)
        if pa is None or pb is None:
            return 0.0
        to_a, to_b = (right, left) if swap else (left, right)
        cost = 0.0
        if to_a[2] >= self.min_score:
            cost += _dist2(to_a[:2], pa)
        if to_b[2] >= self.min_score:
            cost += _dist2(to_b[:2], pb)
        return cost


def _dist2(p: np.ndarray, q: np.ndarray) -> float:
    d = p - q
    return float(d @ d)


def _distance_to_segment(p: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    """Distance (px) from point ``p`` to the segment from ``a`` to ``b``."""
    ab = b - a
    length2 = float(ab @ ab)
    u = 0.0 if length2 == 0 else float(np.clip((p - a) @ ab / length2, 0.0, 1.0))
    return float(np.hypot(*(p - (a + u * ab))))
