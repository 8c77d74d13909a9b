"""The signals the event detector watches: each ankle relative to the pelvis, in leg lengths.

For each leg: the ankle's position relative to the pelvis (mid-hip) along the direction of
travel (``forward``), and the ankle's height (``height``, up positive), both divided by the
leg length (:mod:`edge.gait.leg_length`).  In that frame a treadmill and an overground run
look alike: in stance the foot sweeps backwards at the ground speed ``v`` (belt or running
speed), in swing it comes forwards fast (:func:`ground_speed`).  The batch engine builds
them for a whole track (:func:`leg_signals`); the stream builds them frame by frame from the
same pieces (:func:`pelvis_x`, :func:`in_leg_lengths`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edge.gait.leg_length import leg_length
from edge.gait.track import LimbJoint, SideViewTrack


@dataclass(frozen=True)
class LegSignals:
    """Per-frame raw signals of both legs, in leg lengths, forward = direction of travel.

    ``forward[:, i]`` is ankle minus pelvis along the direction of travel, ``height[:, i]``
    the ankle height (up positive, arbitrary origin); column 0 is the near leg, 1 the far.
    """

    t: np.ndarray
    forward: np.ndarray  # (N, 2)
    height: np.ndarray  # (N, 2)
    valid: np.ndarray  # (N, 2)
    leg_length: float  # px


def pelvis_x(hips: np.ndarray, min_score: float) -> tuple[np.ndarray, np.ndarray]:
    """Mid-hip image x of (..., 2, 3) hip pairs (one hip alone if the other is unseen), and
    whether any hip was seen."""
    w = (hips[..., 2] >= min_score).astype(float)
    total = w.sum(-1)
    x = np.where(total > 0, (hips[..., 0] * w).sum(-1) / np.maximum(total, 1), np.nan)
    return x, total > 0


def in_leg_lengths(
    ahead_px: np.ndarray, ankle_y_px: np.ndarray, direction: int, leg_px: float
) -> tuple[np.ndarray, np.ndarray]:
    """(forward, height) of the ankle in leg lengths, from its image x relative to the pelvis
    and its image y (pixels, y down)."""
    return direction * ahead_px / leg_px, -ankle_y_px / leg_px


def leg_signals(track: SideViewTrack, min_score: float = 0.3) -> LegSignals:
    """The ankle signals the detector watches, for both legs of ``track``."""
    hips = np.stack([track.near[:, LimbJoint.HIP], track.far[:, LimbJoint.HIP]], 1)
    px, pvalid = pelvis_x(hips, min_score)
    length = leg_length(track.near, track.far, min_score=min_score)
    forward = np.empty((len(track), 2))
    height = np.empty((len(track), 2))
    valid = np.empty((len(track), 2), bool)
    for i, limb in enumerate((track.near, track.far)):
        ankle = limb[:, LimbJoint.ANKLE]
        forward[:, i], height[:, i] = in_leg_lengths(
            ankle[:, 0] - px, ankle[:, 1], track.direction, length
        )
        valid[:, i] = pvalid & (ankle[:, 2] >= min_score)
    forward[~valid] = 0.0
    height[~valid] = 0.0
    return LegSignals(np.asarray(track.t, float), forward, height, valid, length)


def ground_speed(backward_speeds: np.ndarray) -> float:
    """Ground speed (leg lengths/s) from the ankle's forward speed relative to the pelvis.

    Stance takes 35–60 % of the cycle at a nearly constant ``-v``; swing is mostly forward.
    The 20th percentile of all samples of both legs therefore sits on the stance plateau.
    """
    finite = backward_speeds[np.isfinite(backward_speeds)]
    if len(finite) < 10:
        return float("nan")
    return float(-np.percentile(finite, 20))
