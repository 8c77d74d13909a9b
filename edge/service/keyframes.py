"""Keyframes: the picture of a warn/fault stride, sent to the result sinks.

The analysis thread keeps about a second of analysed frames (small copies) and, when a stride
worth seeing is judged, renders the frame of its foot strike with the skeleton drawn in.
At most one picture every 5 s, and only after the LEDs were told, so a picture never delays
the runner's feedback.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import cv2
import numpy as np

from edge.outputs.keyframe import KeyframePicker, keyframe_of, render_keyframe
from edge.service.sinks import FanOut
from edge.types import Frame, Pose, StrideReport

log = logging.getLogger(__name__)

KEYFRAME_SIDE = 640  # px: the longer side of the frames kept for keyframe pictures


def keyframe_copy(frame: Frame, pose: Pose) -> tuple[np.ndarray, Pose]:
    """The frame (and its pose) at keyframe size.  The picker holds about a second of
    analysed frames, so they are kept small (640 px: ~0.7 MB each) rather than full size."""
    image = frame.image
    scale = KEYFRAME_SIDE / max(image.shape[:2])
    if scale >= 1.0:
        return image, pose
    size = (round(image.shape[1] * scale), round(image.shape[0] * scale))
    small = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    keypoints = pose.keypoints.copy()
    keypoints[:, :2] *= scale
    return small, Pose(pose.timestamp, pose.frame_index, keypoints, size)


class KeyframeRecorder:
    """Keeps recent frames and publishes a warn/fault stride's picture (analysis thread).

    With no result sink there is nobody to show a picture to, so no frame is kept.
    """

    def __init__(
        self,
        results: FanOut,
        *,
        min_keypoint_score: float,
        height_cm: Callable[[], float | None] = lambda: None,
    ) -> None:
        self.results = results
        self.min_keypoint_score = min_keypoint_score
        self.height_cm = height_cm  # the athlete's, now: labels in cm rather than body lengths
        # The stride's first foot strike is at most ~1 s old when the stride is judged.
        self.picker = KeyframePicker(window_s=1.2, min_interval_s=5.0, max_frames=48)

    def add(self, frame: Frame, pose: Pose) -> None:
        if self.results:
            self.picker.add(*keyframe_copy(frame, pose))

    def publish(self, report: StrideReport) -> None:
        if not self.results:
            return
        chosen = self.picker.take(report)
        clean = chosen is None
        if clean:  # a clean stride's picture, for the report's best strides only
            chosen = self.picker.take_clean(report)
        if chosen is None:
            return
        try:
            jpeg = render_keyframe(
                *chosen,
                report,
                min_score=self.min_keypoint_score,
                direction=self.picker.facing(self.min_keypoint_score),
                height_cm=self.height_cm(),
            )
        except Exception as exc:  # a picture is never worth stopping the analysis for
            log.warning("keyframe of stride %d not rendered: %s", report.stride.index, exc)
            return
        self.results.publish_keyframe(keyframe_of(report, jpeg, history_only=clean))
