"""Presence: a runner enters after a few confident frames and leaves after a quiet second."""

from __future__ import annotations

import numpy as np

from edge.config import PresenceSettings
from edge.service.presence import PresenceTracker, body_score
from edge.types import Keypoint, Pose


def pose_with(score_body: float, score_face: float = 0.9) -> Pose:
    kp = np.zeros((17, 3), np.float32)
    kp[:, 2] = score_face
    for k in (
        Keypoint.LEFT_SHOULDER,
        Keypoint.RIGHT_HIP,
        Keypoint.LEFT_KNEE,
        Keypoint.RIGHT_ANKLE,
        Keypoint.RIGHT_SHOULDER,
        Keypoint.LEFT_HIP,
        Keypoint.RIGHT_KNEE,
        Keypoint.LEFT_ANKLE,
    ):
        kp[k, 2] = score_body
    return Pose(timestamp=0.0, frame_index=0, keypoints=kp, image_size=(64, 48))


def test_body_score_ignores_the_face():
    assert body_score(pose_with(0.2, score_face=1.0)) == np.float32(0.2)


def test_enter_after_consecutive_confident_frames_and_leave_after_quiet_period():
    tracker = PresenceTracker(PresenceSettings(enter_frames=3, leave_after=1.0, min_body_score=0.4))
    t = [i / 30 for i in range(200)]
    changes = []
    scores = [0.1] * 10 + [0.6, 0.1] + [0.6] * 60 + [0.1] * 60
    for ti, s in zip(t, scores, strict=False):
        change = tracker.update(ti, s)
        if change:
            changes.append((change, round(ti, 3)))
    # Frames 12, 13, 14 are the first three consecutive confident ones (the lone 10 is not).
    assert changes[0] == ("entered", round(t[14], 3))
    # Last confident frame is 71; "left" once 1.0 s has passed without one.
    left_at = next(ti for ti in t if ti - t[71] >= 1.0)
    assert changes[1] == ("left", round(left_at, 3))
    assert len(changes) == 2


def test_brief_occlusions_do_not_end_a_pass():
    tracker = PresenceTracker(PresenceSettings(enter_frames=1, leave_after=0.5))
    assert tracker.update(0.0, 0.9) == "entered"
    for i in range(1, 10):  # 0.3 s of low scores
        assert tracker.update(i / 30, 0.0) is None
    assert tracker.update(0.4, 0.9) is None and tracker.present


def test_idle_rate_and_motion_wake_up():
    tracker = PresenceTracker(PresenceSettings(idle_fps=2.0, motion_threshold=5.0))
    assert tracker.should_infer(0.0)  # nothing seen yet
    tracker.update(0.0, 0.0)
    assert not tracker.should_infer(0.2, motion=1.0)  # idle: 2 fps
    assert tracker.should_infer(0.2, motion=9.0)  # the picture changed
    assert tracker.should_infer(0.5, motion=0.0)  # half a second later anyway
    tracker.settings = PresenceSettings(enter_frames=1)
    tracker.update(0.5, 0.9)
    assert tracker.present and tracker.should_infer(0.51, motion=0.0)  # every frame when present


def test_one_confident_frame_while_idle_brings_the_full_rate_to_confirm_it():
    tracker = PresenceTracker(
        PresenceSettings(enter_frames=3, idle_fps=2.0, motion_threshold=5.0, min_body_score=0.4)
    )
    assert tracker.should_infer(0.0)
    assert tracker.update(0.0, 0.8) is None  # a runner, perhaps: not yet confirmed
    # Still frames (no motion), yet every one is analysed until the runner is confirmed.
    assert tracker.should_infer(1 / 30, motion=0.0)
    assert tracker.update(1 / 30, 0.8) is None
    assert tracker.should_infer(2 / 30, motion=0.0)
    assert tracker.update(2 / 30, 0.8) == "entered"
    assert tracker.entered_at == 0.0  # the pass starts at the first confident frame


def test_a_lone_confident_frame_falls_back_to_the_idle_rate():
    tracker = PresenceTracker(
        PresenceSettings(enter_frames=3, idle_fps=2.0, motion_threshold=5.0, min_body_score=0.4)
    )
    tracker.update(0.0, 0.8)
    assert tracker.should_infer(1 / 30, motion=0.0)
    tracker.update(1 / 30, 0.1)  # nobody after all
    assert not tracker.should_infer(2 / 30, motion=0.0)
    assert tracker.should_infer(0.6, motion=0.0)  # the idle rate again
    assert not tracker.present and tracker.entered_at is None
