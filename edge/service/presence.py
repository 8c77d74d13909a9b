"""Is a runner in view?  Decided from pose scores, with image motion to wake up quickly.

While nobody is in view the daemon runs the model only a few times a second (or at once
when the picture changes), so an idle Pi stays cool.  One confident frame is enough to
analyse every frame again: the frames that confirm a runner come at the full rate, so a
runner already in view when the daemon starts is confirmed within ``enter_frames`` frames,
not ``enter_frames`` idle periods, and the pass starts at the first confident frame.
Pure: the caller passes source timestamps, scores and motion levels.
"""

from __future__ import annotations

import numpy as np

from edge.config import PresenceSettings
from edge.types import Keypoint, Pose

# The keypoints that say "a whole runner is in view": shoulders, hips, knees, ankles.
BODY_KEYPOINTS = np.array(
    [
        Keypoint.LEFT_SHOULDER,
        Keypoint.RIGHT_SHOULDER,
        Keypoint.LEFT_HIP,
        Keypoint.RIGHT_HIP,
        Keypoint.LEFT_KNEE,
        Keypoint.RIGHT_KNEE,
        Keypoint.LEFT_ANKLE,
        Keypoint.RIGHT_ANKLE,
    ]
)


def body_score(pose: Pose) -> float:
    """Mean score of the body keypoints: high only when a whole runner is visible."""
    return float(pose.keypoints[BODY_KEYPOINTS, 2].mean())


class PresenceTracker:
    """Turns per-frame body scores into "entered" / "left" transitions."""

    def __init__(self, settings: PresenceSettings | None = None):
        self.settings = settings or PresenceSettings()
        self.present = False
        #: Source time of the first confident frame of the pass in progress (or last one).
        self.entered_at: float | None = None
        self._streak = 0
        self._streak_start = 0.0
        self._last_seen: float | None = None
        self._last_inference: float | None = None

    def should_infer(self, t: float, motion: float | None = None) -> bool:
        """Whether the frame at source time ``t`` is worth running the model on."""
        # A confident frame (streak > 0) may be a runner: confirm at the full rate.
        if self.present or self._streak > 0 or self._last_inference is None:
            return True
        if motion is not None and motion >= self.settings.motion_threshold:
            return True
        return t - self._last_inference >= 1.0 / self.settings.idle_fps

    def update(self, t: float, score: float) -> str | None:
        """Feed one analysed frame; returns ``"entered"``, ``"left"`` or ``None``."""
        self._last_inference = t
        confident = score >= self.settings.min_body_score
        if confident:
            if self._streak == 0:
                self._streak_start = t
            self._last_seen = t
            self._streak += 1
        else:
            self._streak = 0
        if not self.present and self._streak >= self.settings.enter_frames:
            self.present = True
            self.entered_at = self._streak_start
            return "entered"
        if self.present and not confident:
            last = self._last_seen if self._last_seen is not None else t
            if t - last >= self.settings.leave_after:
                self.present = False
                return "left"
        return None
