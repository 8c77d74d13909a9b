"""Which way a side-view runner faces, and so which anatomical side the camera sees.

A knee can only bend forwards, so it sits ahead of the hip–ankle line; when the face is
visible the nose is ahead of the ears.  Each cue votes (:func:`facing_votes`), the knees
weighing more (:func:`facing_direction`).  Facing increasing image x in an unmirrored image
shows the runner's right side (:func:`near_side_for`).
"""

from __future__ import annotations

import numpy as np

from edge.types import Keypoint, Leg, Side


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


def other_side(side: Side) -> Side:
    return Side.LEFT if side is Side.RIGHT else Side.RIGHT


def side_of_leg(leg: Leg, near_side: Side | None) -> Side | None:
    """The anatomical side of the near or far leg (``None`` while facing is unknown)."""
    if near_side is None:
        return None
    return near_side if leg is Leg.NEAR else other_side(near_side)
