"""A side-view body track: COCO keypoints over time, relabelled from left/right to near/far.

MoveNet labels limbs left/right, and in a side view it often swaps them when the legs cross.
The gait engine decides, per frame, which COCO side is the limb nearer the camera and builds
this track; every gait and metric function then reads near/far limbs and never has to think
about swaps again.

All arrays share the first axis (frames).  Coordinates are source pixels, y downwards.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np

from edge.types import Side


class LimbJoint(IntEnum):
    """Index of a joint along the second axis of :attr:`SideViewTrack.near` / ``far``."""

    SHOULDER = 0
    ELBOW = 1
    WRIST = 2
    HIP = 3
    KNEE = 4
    ANKLE = 5


class HeadPoint(IntEnum):
    """Index along the second axis of :attr:`SideViewTrack.head`."""

    NOSE = 0
    NEAR_EYE = 1
    FAR_EYE = 2
    NEAR_EAR = 3
    FAR_EAR = 4


@dataclass(frozen=True)
class SideViewTrack:
    """Keypoints of one runner seen from the side, limbs identified as near and far.

    ``near`` and ``far`` are (N, 6, 3) arrays of ``x, y, score`` indexed by
    :class:`LimbJoint`; ``head`` is (N, 5, 3) indexed by :class:`HeadPoint`.
    ``direction`` is +1 when the runner faces (and on the ground, moves towards) increasing
    image x, -1 otherwise.  ``near_side`` is the anatomical side nearer the camera when it
    can be told (facing right in an unmirrored image shows the right side).
    """

    t: np.ndarray
    near: np.ndarray
    far: np.ndarray
    head: np.ndarray
    direction: int
    near_side: Side | None = None

    def __len__(self) -> int:
        return len(self.t)

    def window(self, start: float, end: float) -> SideViewTrack:
        """The frames with ``start <= t <= end`` (a view, not a copy)."""
        lo = int(np.searchsorted(self.t, start, side="left"))
        hi = int(np.searchsorted(self.t, end, side="right"))
        return SideViewTrack(
            t=self.t[lo:hi],
            near=self.near[lo:hi],
            far=self.far[lo:hi],
            head=self.head[lo:hi],
            direction=self.direction,
            near_side=self.near_side,
        )
