"""COCO-17 keypoints as the gait stage reads them: cleaned, and regrouped into limbs and head.

MoveNet reports 17 COCO keypoints (:class:`edge.types.Keypoint`) named left/right.  The
gait stage works on *limbs* — (..., 6, 3) arrays in :class:`~edge.gait.track.LimbJoint`
order — and on the head points of :class:`~edge.gait.track.HeadPoint`; this module maps
one onto the other by name, never by number.
"""

from __future__ import annotations

import numpy as np

from edge.gait.track import LimbJoint
from edge.types import Keypoint, Side

#: (left, right) COCO keypoint per :class:`~edge.gait.track.LimbJoint`, in LimbJoint order.
LIMB_KEYPOINTS: tuple[tuple[Keypoint, Keypoint], ...] = (
    (Keypoint.LEFT_SHOULDER, Keypoint.RIGHT_SHOULDER),
    (Keypoint.LEFT_ELBOW, Keypoint.RIGHT_ELBOW),
    (Keypoint.LEFT_WRIST, Keypoint.RIGHT_WRIST),
    (Keypoint.LEFT_HIP, Keypoint.RIGHT_HIP),
    (Keypoint.LEFT_KNEE, Keypoint.RIGHT_KNEE),
    (Keypoint.LEFT_ANKLE, Keypoint.RIGHT_ANKLE),
)

#: The six leg keypoints: left and right hip, knee, ankle.
LEG_KEYPOINTS: tuple[Keypoint, ...] = tuple(
    keypoint
    for joint in (LimbJoint.HIP, LimbJoint.KNEE, LimbJoint.ANKLE)
    for keypoint in LIMB_KEYPOINTS[joint]
)

# COCO keypoint per HeadPoint (edge.gait.track), in HeadPoint order, by the side nearer
# the camera.
_HEAD_KEYPOINTS: dict[Side, tuple[Keypoint, ...]] = {
    Side.RIGHT: (
        Keypoint.NOSE,
        Keypoint.RIGHT_EYE,
        Keypoint.LEFT_EYE,
        Keypoint.RIGHT_EAR,
        Keypoint.LEFT_EAR,
    ),
    Side.LEFT: (
        Keypoint.NOSE,
        Keypoint.LEFT_EYE,
        Keypoint.RIGHT_EYE,
        Keypoint.LEFT_EAR,
        Keypoint.RIGHT_EAR,
    ),
}


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
    """COCO (..., 17, 3) → (left, right) limbs (..., 6, 3) in LimbJoint order."""
    left = keypoints[..., [a for a, _ in LIMB_KEYPOINTS], :]
    right = keypoints[..., [b for _, b in LIMB_KEYPOINTS], :]
    return left, right


def head_points(keypoints: np.ndarray, near_side: Side) -> np.ndarray:
    """(..., 5, 3) nose, near eye, far eye, near ear, far ear."""
    return keypoints[..., list(_HEAD_KEYPOINTS[near_side]), :]
