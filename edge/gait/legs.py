"""Which leg is which: COCO left/right keypoints → near/far limbs of a side-view runner.

MoveNet names limbs left/right from appearance, and in a side view it often swaps the names
for a few frames when the legs cross.  So the names are not trusted.  Instead:

1. **Continuity** (:class:`LimbContinuity`): two limb tracks, A and B, each follow their
   joints with a constant-velocity (alpha-beta) filter.  Every frame, for each joint pair
   (knee, ankle, elbow, wrist), the two keypoints go to the tracks with the cheaper of the
   two assignments (keep or swap) against the predictions — the Hungarian method on two
   items.  Hips follow their knee, shoulders their elbow.
2. **Depth** (:func:`near_far_votes`): the near foot lands lower in the image (the ground
   plane slopes down towards the camera), the near leg looks longer, and MoveNet is more
   sure of it.  The leg track with more evidence is *near*.  Arms are paired with legs by
   their anti-phase swing: the near arm swings back while the near knee drives forward.
3. **Facing** (:func:`facing_direction`): a knee bends forwards, so the knee sits ahead of
   the hip–ankle line; the stance foot sweeps backwards relative to the hip; the nose is
   ahead of the ears.  Each cue votes.

:func:`build_track` does all three over a whole recording; the streaming engine uses the
same classes one frame at a time.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from edge.gait.track import HeadPoint, LimbJoint, SideViewTrack
from edge.types import NUM_KEYPOINTS, Keypoint, Side

# (left, right) COCO indices per LimbJoint, in LimbJoint order.
LIMB_KEYPOINTS: tuple[tuple[Keypoint, Keypoint], ...] = (
    (Keypoint.LEFT_SHOULDER, Keypoint.RIGHT_SHOULDER),
    (Keypoint.LEFT_ELBOW, Keypoint.RIGHT_ELBOW),
    (Keypoint.LEFT_WRIST, Keypoint.RIGHT_WRIST),
    (Keypoint.LEFT_HIP, Keypoint.RIGHT_HIP),
    (Keypoint.LEFT_KNEE, Keypoint.RIGHT_KNEE),
    (Keypoint.LEFT_ANKLE, Keypoint.RIGHT_ANKLE),
)
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
LEG_JOINTS = (LimbJoint.HIP, LimbJoint.KNEE, LimbJoint.ANKLE)
ARM_JOINTS = (LimbJoint.SHOULDER, LimbJoint.ELBOW, LimbJoint.WRIST)


# Shorter legs than this (px) are a collapsed or degenerate pose, not a runner.
MIN_LEG_PX = 1.0


def sanitize_keypoints(keypoints: np.ndarray) -> np.ndarray:
    """A float copy of COCO keypoints (..., 17, 3) that every gait function can digest.

    A keypoint with a non-finite coordinate or score becomes unseen (score 0 at 0, 0), and
    scores are clipped to 0..1, so NaN or inf from a broken detector never reaches a
    division or a median.
    """
    kp = np.array(keypoints, dtype=float, copy=True)
    bad = ~np.isfinite(kp).all(axis=-1)
    kp[bad] = 0.0
    np.clip(kp[..., 2], 0.0, 1.0, out=kp[..., 2])
    return kp


def split_limbs(keypoints: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """COCO (..., 17, 3) → (left, right) limbs (..., 6, 3) in :class:`LimbJoint` order."""
    left = keypoints[..., [a for a, _ in LIMB_KEYPOINTS], :]
    right = keypoints[..., [b for _, b in LIMB_KEYPOINTS], :]
    return left, right


@dataclass
class _JointFilter:
    """Alpha-beta filter on one joint's image position."""

    alpha: float = 0.6
    beta: float = 0.25
    pos: np.ndarray | None = None
    vel: np.ndarray = field(default_factory=lambda: np.zeros(2))
    t: float = float("nan")

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
        self.swaps = 0  # label swaps undone so far (diagnostics)

    def reset(self) -> None:
        for f in self._filters.values():
            f.pos, f.vel, f.t = None, np.zeros(2), float("nan")

    def assign(self, t: float, keypoints: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        left, right = split_limbs(np.asarray(keypoints, float))
        a, b = left.copy(), right.copy()
        length = _leg_length(left, self.min_score) or _leg_length(right, self.min_score)
        if length:
            known = np.isfinite(self.scale)
            self.scale = 0.95 * self.scale + 0.05 * length if known else length
        penalty = PARTIAL_SWAP_PENALTY * (self.scale**2 if np.isfinite(self.scale) else 1e4)
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
            if best == (True, True) or best[0] != best[1]:
                self.swaps += 1
            for j, flag in zip(joints, best, strict=True):
                if flag:
                    a[j], b[j] = right[j].copy(), left[j].copy()
            if best[0]:  # the follower (hip, shoulder) goes with the first joint (knee, elbow)
                a[follower], b[follower] = right[follower].copy(), left[follower].copy()
            for j in joints:
                for track, limb in ((0, a), (1, b)):
                    if limb[j, 2] >= self.min_score:
                        self._filters[(j, track)].update(t, limb[j, :2])
        return a, b

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


def leg_lengths(limbs: np.ndarray, min_score: float) -> np.ndarray:
    """Hip-knee plus knee-ankle length of (..., 6, 3) limbs; 0 where a joint is unseen."""
    hip, knee, ankle = (
        limbs[..., LimbJoint.HIP, :],
        limbs[..., LimbJoint.KNEE, :],
        limbs[..., LimbJoint.ANKLE, :],
    )
    seen = (hip[..., 2] >= min_score) & (knee[..., 2] >= min_score) & (ankle[..., 2] >= min_score)
    length = np.hypot(*np.moveaxis(hip[..., :2] - knee[..., :2], -1, 0)) + np.hypot(
        *np.moveaxis(knee[..., :2] - ankle[..., :2], -1, 0)
    )
    return np.where(seen & (length >= MIN_LEG_PX), length, 0.0)


def _leg_length(limb: np.ndarray, min_score: float) -> float:
    hip, knee, ankle = limb[LimbJoint.HIP], limb[LimbJoint.KNEE], limb[LimbJoint.ANKLE]
    if not min(hip[2], knee[2], ankle[2]) >= min_score:
        return 0.0
    length = float(np.hypot(*(hip[:2] - knee[:2])) + np.hypot(*(knee[:2] - ankle[:2])))
    return length if length >= MIN_LEG_PX else 0.0


# --- facing ----------------------------------------------------------------------------------


def facing_votes(keypoints: np.ndarray, min_score: float = 0.3) -> tuple[float, float]:
    """Per-recording facing cues: (knee-bend vote, nose-ahead-of-ears vote), each in [-1, 1].

    The knee vote is the mean sign of the knee's offset from the hip–ankle line (a knee can
    only bend so that it points forwards); the face vote compares the nose with the ears.
    Positive means facing increasing image x.
    """
    kp = np.asarray(keypoints, float)
    votes = []
    for hip_k, knee_k, ankle_k in (
        (Keypoint.LEFT_HIP, Keypoint.LEFT_KNEE, Keypoint.LEFT_ANKLE),
        (Keypoint.RIGHT_HIP, Keypoint.RIGHT_KNEE, Keypoint.RIGHT_ANKLE),
    ):
        hip, knee, ankle = kp[..., hip_k, :], kp[..., knee_k, :], kp[..., ankle_k, :]
        ok = (hip[..., 2] >= min_score) & (knee[..., 2] >= min_score) & (ankle[..., 2] >= min_score)
        axis = ankle[..., :2] - hip[..., :2]
        off = knee[..., :2] - hip[..., :2]
        # x-offset of the knee from the hip-ankle line, at the knee's height.
        frac = np.divide(
            off[..., 1],
            axis[..., 1],
            out=np.zeros_like(off[..., 1]),
            where=np.abs(axis[..., 1]) > 1e-6,
        )
        lead = off[..., 0] - frac * axis[..., 0]
        length = np.hypot(axis[..., 0], axis[..., 1]) + 1e-6
        bent = ok & (np.abs(lead) > 0.04 * length)  # nearly straight legs do not vote
        votes.append(np.sign(lead[bent]))
    allv = np.concatenate(votes) if votes else np.zeros(0)
    knee_vote = float(allv.mean()) if len(allv) else 0.0
    nose = kp[..., Keypoint.NOSE, :]
    ears = kp[..., [Keypoint.LEFT_EAR, Keypoint.RIGHT_EAR], :]
    ear_ok = ears[..., 2] >= min_score
    ear_x = np.divide(
        (ears[..., 0] * ear_ok).sum(-1),
        ear_ok.sum(-1),
        out=np.zeros(ears.shape[:-2]),
        where=ear_ok.sum(-1) > 0,
    )
    face_ok = (nose[..., 2] >= min_score) & (ear_ok.sum(-1) > 0)
    face_vote = float(np.sign(nose[..., 0] - ear_x)[face_ok].mean()) if face_ok.any() else 0.0
    return knee_vote, face_vote


def facing_direction(keypoints: np.ndarray, min_score: float = 0.3) -> int:
    """+1 if the runner faces increasing image x, else -1 (knees weigh more than the face)."""
    knee_vote, face_vote = facing_votes(keypoints, min_score)
    return 1 if 2 * knee_vote + face_vote >= 0 else -1


def near_side_for(direction: int) -> Side:
    """Facing right in an unmirrored image shows the runner's right side."""
    return Side.RIGHT if direction > 0 else Side.LEFT


# --- whole recordings ------------------------------------------------------------------------


def head_points(keypoints: np.ndarray, near_side: Side) -> np.ndarray:
    """(..., 5, 3) nose, near eye, far eye, near ear, far ear."""
    if near_side is Side.RIGHT:
        order = [
            Keypoint.NOSE,
            Keypoint.RIGHT_EYE,
            Keypoint.LEFT_EYE,
            Keypoint.RIGHT_EAR,
            Keypoint.LEFT_EAR,
        ]
    else:
        order = [
            Keypoint.NOSE,
            Keypoint.LEFT_EYE,
            Keypoint.RIGHT_EYE,
            Keypoint.LEFT_EAR,
            Keypoint.RIGHT_EAR,
        ]
    out = keypoints[..., order, :]
    assert out.shape[-2] == len(HeadPoint)
    return out


def compose_near_far(
    a: np.ndarray, b: np.ndarray, legs_a_near: bool, arms_a_near: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Near and far limbs (..., 6, 3) from tracks A and B and the two near/far decisions."""
    near, far = a.copy(), b.copy()
    legs, arms = list(LEG_JOINTS), list(ARM_JOINTS)
    if not legs_a_near:
        near[..., legs, :], far[..., legs, :] = b[..., legs, :], a[..., legs, :]
    if not arms_a_near:
        near[..., arms, :], far[..., arms, :] = b[..., arms, :], a[..., arms, :]
    return near, far


def build_track(
    t: np.ndarray,
    keypoints: np.ndarray,
    *,
    min_score: float = 0.3,
    max_gap: float = 0.5,
    mirrored: bool = False,
) -> SideViewTrack:
    """A :class:`SideViewTrack` from a whole recording of COCO keypoints (N, 17, 3).

    ``mirrored`` says the image is flipped (selfie cameras), which swaps anatomical sides.
    """
    t = np.asarray(t, float)
    keypoints = np.asarray(keypoints, float)
    if keypoints.ndim != 3 or keypoints.shape[1:] != (NUM_KEYPOINTS, 3):
        raise ValueError(f"keypoints: expected (N, 17, 3), got {keypoints.shape}")
    keypoints = sanitize_keypoints(keypoints)
    n = len(t)
    continuity = LimbContinuity(min_score, max_gap)
    a = np.empty((n, len(LimbJoint), 3))
    b = np.empty((n, len(LimbJoint), 3))
    for i in range(n):
        a[i], b[i] = continuity.assign(float(t[i]), keypoints[i])
    legs_a_near, arms_a_near = decide_near_far(a, b, min_score)
    near, far = compose_near_far(a, b, legs_a_near, arms_a_near)
    direction = facing_direction(keypoints, min_score)
    side = near_side_for(direction)
    if mirrored:
        side = Side.LEFT if side is Side.RIGHT else Side.RIGHT
    return SideViewTrack(
        t=t,
        near=near.astype(np.float32),
        far=far.astype(np.float32),
        head=head_points(keypoints, side).astype(np.float32),
        direction=direction,
        near_side=side,
    )


def decide_near_far(a: np.ndarray, b: np.ndarray, min_score: float = 0.3) -> tuple[bool, bool]:
    """Whole-recording near/far decision for legs and arms of tracks A and B (N, 6, 3)."""
    legs, arms = near_far_votes(a, b, min_score)
    legs_a_near = legs >= 0
    return bool(legs_a_near), bool(arms >= 0 if arms != 0 else legs_a_near)


class NearFarHistory:
    """Recent per-frame depth cues of limb tracks A and B, for a streaming near/far decision.

    Keeps the last ``max_frames`` frames of the few numbers :func:`legs_vote_from_cues`
    needs (ankle heights, leg lengths, scores), so a stream decides with a minute of
    evidence in bounded memory, exactly as the batch engine does with a whole recording.
    """

    def __init__(self, min_score: float = 0.3, max_frames: int = 2048):
        self.min_score = min_score
        self._cues = np.zeros((max_frames, 6))  # ring buffer
        self._next = 0
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def add(self, a: np.ndarray, b: np.ndarray) -> None:
        ms = self.min_score
        la, lb = _leg_length(a, ms), _leg_length(b, ms)
        if la and lb:
            legs = list(LEG_JOINTS)
            self._cues[self._next] = (
                a[LimbJoint.ANKLE, 1],
                b[LimbJoint.ANKLE, 1],
                la,
                lb,
                a[legs, 2].mean(),
                b[legs, 2].mean(),
            )
            self._next = (self._next + 1) % len(self._cues)
            self._count = min(self._count + 1, len(self._cues))

    def legs_vote(self) -> float:
        if self._count < 3:
            return 0.0
        c = self._cues[: self._count]
        return legs_vote_from_cues(c[:, 0], c[:, 1], c[:, 2], c[:, 3], c[:, 4], c[:, 5])


def legs_vote_from_cues(
    ya: np.ndarray,
    yb: np.ndarray,
    la: np.ndarray,
    lb: np.ndarray,
    sa: np.ndarray,
    sb: np.ndarray,
) -> float:
    """Signed evidence that leg track A is near, from per-frame cues of frames with both
    legs seen: ankle image heights ``y``, apparent leg lengths ``l``, ankle scores ``s``
    (on real clips MoveNet is clearly less sure of the far ankle, hidden behind the near
    shank at mid-stance)."""
    if len(ya) == 0:
        return 0.0
    leg_length = float(np.median(np.concatenate([la, lb])))
    if not leg_length >= MIN_LEG_PX:
        return 0.0  # a collapsed pose carries no depth evidence
    # Stance level: where each ankle sits when it is the lower one (its ground contacts).
    a_low, b_low = ya > yb, yb > ya
    level = 0.0
    if a_low.sum() >= 3 and b_low.sum() >= 3:
        level = (np.percentile(ya[a_low], 75) - np.percentile(yb[b_low], 75)) / leg_length
    size = float(np.median(la) - np.median(lb)) / leg_length
    score = float(np.mean(sa) - np.mean(sb))
    return (level + size + 0.5 * score) * len(ya)


def near_far_votes(a: np.ndarray, b: np.ndarray, min_score: float = 0.3) -> tuple[float, float]:
    """Signed evidence that leg track A, and arm track A, are the near limbs (0: no idea).

    Legs: the near foot's stance level is lower in the image, the near leg looks longer and
    is detected more confidently.  Arms: the near arm swings opposite to the near leg.
    Evidence grows with the number of frames, so votes from several windows can be summed.
    """
    ms = min_score
    both = (leg_lengths(a, ms) > 0) & (leg_lengths(b, ms) > 0)
    if both.sum() < 3:
        return 0.0, 0.0
    la, lb = leg_lengths(a[both], ms), leg_lengths(b[both], ms)
    leg_length = float(np.median(np.concatenate([la, lb])))
    legs_vote = legs_vote_from_cues(
        a[both, LimbJoint.ANKLE, 1],
        b[both, LimbJoint.ANKLE, 1],
        la,
        lb,
        a[both, LimbJoint.ANKLE, 2],
        b[both, LimbJoint.ANKLE, 2],
    )
    near_leg, far_leg = (a, b) if legs_vote >= 0 else (b, a)
    arm_ok = (
        (a[:, LimbJoint.WRIST, 2] >= ms)
        & (b[:, LimbJoint.WRIST, 2] >= ms)
        & (near_leg[:, LimbJoint.KNEE, 2] >= ms)
        & (far_leg[:, LimbJoint.KNEE, 2] >= ms)
    )
    arms_vote = 0.0
    if arm_ok.sum() >= 5:
        knee_lead = near_leg[arm_ok, LimbJoint.KNEE, 0] - far_leg[arm_ok, LimbJoint.KNEE, 0]
        wrist_lead = a[arm_ok, LimbJoint.WRIST, 0] - b[arm_ok, LimbJoint.WRIST, 0]
        arms_vote = -float(np.sum(knee_lead * wrist_lead)) / leg_length**2
    return float(legs_vote), arms_vote
