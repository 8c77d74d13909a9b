"""The gait stage's one leg-length rule: how long a runner's leg is, in source pixels.

Leg length is the unit of the event detector's signals, of the near/far depth cues and of
the kinematic metrics, and it turns an athlete's height into a centimetre scale.  Every one
of them measures it here, the same way:

* **One frame of one leg** (:func:`leg_lengths`): hip → knee plus knee → ankle, measured
  only when all three joints score at least ``min_score``.  A length under
  :data:`MIN_LEG_PX` is a collapsed pose (three confident joints on top of each other, as
  a broken detector reports them), not a leg, and is not measured either.
* **Many frames** (:func:`leg_length`): the median of the frames' measured lengths, so a
  frame with a keypoint on the wrong joint does not move it; ``nan`` when no frame has a
  measurable leg.

Which frames and which legs to pool is the caller's choice (the detector pools both legs
of a recording or buffer; the centimetre scale prefers the near leg, the one the camera
sees best).
"""

from __future__ import annotations

import numpy as np

from edge.gait.track import LimbJoint

#: Shortest leg (px) that counts as a leg.  Not fitted: a runner filmed by a 192 px model
#: input spans tens of pixels at least, while a degenerate pose (every joint reported at
#: one point) measures 0; one pixel separates the two whatever the resolution.
MIN_LEG_PX = 1.0


def leg_lengths(limbs: np.ndarray, min_score: float) -> np.ndarray:
    """Per-frame leg length (px) of (..., 6, 3) limbs in :class:`LimbJoint` order.

    ``nan`` where the hip, knee or ankle scores below ``min_score`` or the leg is shorter
    than :data:`MIN_LEG_PX`.  The result has the limbs' leading shape and dtype.
    """
    hip = limbs[..., LimbJoint.HIP, :]
    knee = limbs[..., LimbJoint.KNEE, :]
    ankle = limbs[..., LimbJoint.ANKLE, :]
    seen = (hip[..., 2] >= min_score) & (knee[..., 2] >= min_score) & (ankle[..., 2] >= min_score)
    length = np.hypot(*np.moveaxis(hip[..., :2] - knee[..., :2], -1, 0)) + np.hypot(
        *np.moveaxis(knee[..., :2] - ankle[..., :2], -1, 0)
    )
    return np.where(seen & (length >= MIN_LEG_PX), length, np.nan)


def typical_leg_length(lengths: np.ndarray) -> float:
    """Median of the measured (finite) per-frame lengths; ``nan`` when there are none."""
    measured = lengths[np.isfinite(lengths)]
    return float(np.median(measured)) if measured.size else float("nan")


def leg_length(*limbs: np.ndarray, min_score: float) -> float:
    """Leg length (px) over every frame of every given (N, 6, 3) limb series, pooled."""
    return typical_leg_length(np.concatenate([leg_lengths(limb, min_score) for limb in limbs]))
