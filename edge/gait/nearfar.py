"""Near or far: which of the two limb tracks is the leg (and the arm) nearer the camera.

Depth cues (:func:`near_far_votes`): the near foot's stance is lower in the image (the
ground plane slopes down towards the camera), the near leg looks longer, and MoveNet is
more sure of it.  The leg track with more evidence is *near*.  Arms are paired with legs by
their anti-phase swing: the near arm swings back while the near knee drives forward.

The batch engine decides once over a whole recording (:func:`decide_near_far`); the stream
keeps the last few thousand frames of the leg cues (:class:`NearFarHistory`).  Both then
relabel the limb tracks with :func:`compose_near_far`.
"""

from __future__ import annotations

import numpy as np

from edge.gait.leg_length import leg_lengths, typical_leg_length
from edge.gait.track import LimbJoint

LEG_JOINTS = (LimbJoint.HIP, LimbJoint.KNEE, LimbJoint.ANKLE)
ARM_JOINTS = (LimbJoint.SHOULDER, LimbJoint.ELBOW, LimbJoint.WRIST)


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


def decide_near_far(a: np.ndarray, b: np.ndarray, min_score: float = 0.3) -> tuple[bool, bool]:
    """Whole-recording near/far decision for legs and arms of tracks A and B (N, 6, 3)."""
    legs, arms = near_far_votes(a, b, min_score)
    legs_a_near = legs >= 0
    return bool(legs_a_near), bool(arms >= 0 if arms != 0 else legs_a_near)


def arm_swing_products(a: np.ndarray, b: np.ndarray, min_score: float = 0.3) -> np.ndarray:
    """Per frame with both knees and both wrists seen, (knee A - knee B) x (wrist A - wrist
    B) along the image x axis: negative when arm A swings opposite to leg A.  (..., 6, 3)
    tracks; frames without the four joints are dropped."""
    a, b = np.asarray(a).reshape(-1, 6, 3), np.asarray(b).reshape(-1, 6, 3)
    ok = (
        (a[:, LimbJoint.WRIST, 2] >= min_score)
        & (b[:, LimbJoint.WRIST, 2] >= min_score)
        & (a[:, LimbJoint.KNEE, 2] >= min_score)
        & (b[:, LimbJoint.KNEE, 2] >= min_score)
    )
    knee_lead = a[ok, LimbJoint.KNEE, 0] - b[ok, LimbJoint.KNEE, 0]
    wrist_lead = a[ok, LimbJoint.WRIST, 0] - b[ok, LimbJoint.WRIST, 0]
    return knee_lead * wrist_lead


def arms_vote_from_products(products: np.ndarray, legs_a_near: bool, leg_length: float) -> float:
    """Signed evidence that arm track A is near: the near arm swings opposite to the near
    leg (0 with fewer than 5 frames of both arms and both knees)."""
    if len(products) < 5 or not np.isfinite(leg_length) or leg_length <= 0:
        return 0.0
    # -sum(...) is the evidence that arm A pairs with leg A; leg A near makes it arm A near
    paired_with_leg_a = -float(np.sum(products)) / leg_length**2
    return paired_with_leg_a if legs_a_near else -paired_with_leg_a


class NearFarHistory:
    """Recent per-frame depth cues of limb tracks A and B, for a streaming near/far decision.

    Keeps the last ``max_frames`` frames of the few numbers :func:`legs_vote_from_cues`
    and :func:`arms_vote_from_products` need (ankle heights, leg lengths, scores, arm
    swing), so a stream decides legs and arms with a minute of evidence in bounded memory,
    as the batch engine does with a whole recording (an arm decided over one window alone
    took the far arm, seen at score 0.3, as the near one on jes_woods_nike_coach_1).
    """

    def __init__(self, min_score: float = 0.3, max_frames: int = 2048):
        self.min_score = min_score
        self._cues = np.zeros((max_frames, 6))  # ring buffer
        self._cue_times = np.full(max_frames, np.nan)
        self._next = 0
        self._count = 0
        self._arms = np.zeros(max_frames)  # ring buffer of arm_swing_products
        self._arm_times = np.full(max_frames, np.nan)
        self._arms_next = 0
        self._arms_count = 0

    def __len__(self) -> int:
        return self._count

    def add(self, a: np.ndarray, b: np.ndarray, t: float) -> None:
        """The cues of one frame at time ``t`` (s) of limb tracks A and B (6, 3)."""
        ms = self.min_score
        la, lb = leg_lengths(np.stack([a, b]), ms)
        if np.isfinite(la) and np.isfinite(lb):
            legs = list(LEG_JOINTS)
            self._cues[self._next] = (
                a[LimbJoint.ANKLE, 1],
                b[LimbJoint.ANKLE, 1],
                la,
                lb,
                a[legs, 2].mean(),
                b[legs, 2].mean(),
            )
            self._cue_times[self._next] = t
            self._next = (self._next + 1) % len(self._cues)
            self._count = min(self._count + 1, len(self._cues))
        for product in arm_swing_products(a, b, ms):
            self._arms[self._arms_next] = product
            self._arm_times[self._arms_next] = t
            self._arms_next = (self._arms_next + 1) % len(self._arms)
            self._arms_count = min(self._arms_count + 1, len(self._arms))

    def exchange_legs_since(self, t: float) -> None:
        """The frames from ``t`` on had tracks A and B on each other's legs: their cues
        are exchanged (and their arm swing, measured against the legs, changes sign)."""
        later = self._cue_times >= t
        # add() stores A's and B's ankle y, then leg lengths, then scores: swap each pair
        self._cues[later] = self._cues[later][:, [1, 0, 3, 2, 5, 4]]
        self._arms[self._arm_times >= t] *= -1

    def legs_vote(self) -> float:
        if self._count < 3:
            return 0.0
        c = self._cues[: self._count]
        return legs_vote_from_cues(c[:, 0], c[:, 1], c[:, 2], c[:, 3], c[:, 4], c[:, 5])

    def decide(self) -> tuple[bool, bool]:
        """(legs A near, arms A near), as :func:`decide_near_far` over the kept frames."""
        legs_a_near = self.legs_vote() >= 0
        c = self._cues[: self._count]
        leg_length = typical_leg_length(c[:, 2:4].ravel()) if self._count else float("nan")
        arms = arms_vote_from_products(self._arms[: self._arms_count], legs_a_near, leg_length)
        return legs_a_near, (arms >= 0 if arms != 0 else legs_a_near)


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
    leg_length = typical_leg_length(np.concatenate([la, lb]))
    if not np.isfinite(leg_length):
        return 0.0  # no measurable leg: no depth evidence
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
    la, lb = leg_lengths(a, ms), leg_lengths(b, ms)
    both = np.isfinite(la) & np.isfinite(lb)
    if both.sum() < 3:
        return 0.0, 0.0
    la, lb = la[both], lb[both]
    leg_length = typical_leg_length(np.concatenate([la, lb]))
    legs_vote = legs_vote_from_cues(
        a[both, LimbJoint.ANKLE, 1],
        b[both, LimbJoint.ANKLE, 1],
        la,
        lb,
        a[both, LimbJoint.ANKLE, 2],
        b[both, LimbJoint.ANKLE, 2],
    )
    arms_vote = arms_vote_from_products(arm_swing_products(a, b, ms), legs_vote >= 0, leg_length)
    return float(legs_vote), arms_vote
