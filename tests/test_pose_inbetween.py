"""Optical-flow keypoints between two pose inferences (edge/pose/inbetween.py)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from edge.pose.inbetween import LEG_KEYPOINTS, FlowSettings, InBetweenTracker, bridge
from edge.types import NUM_KEYPOINTS, Keypoint

SIZE = (240, 320)  # h, w


def textured_scene(rng: np.random.Generator) -> np.ndarray:
    """A smooth random texture (LK needs gradients), RGB uint8."""
    noise = rng.random((SIZE[0] // 4, SIZE[1] // 4))
    big = np.kron(noise, np.ones((4, 4)))
    image = cv2.GaussianBlur((255 * big).astype(np.uint8), (5, 5), 1.5)
    return np.repeat(image[:, :, None], 3, axis=2)


def leg_pose(shift=(0.0, 0.0), score: float = 0.8) -> np.ndarray:
    """A standing side-view leg pair around the image centre (leg ~100 px), (17, 3)."""
    kp = np.zeros((NUM_KEYPOINTS, 3))
    points = {
        Keypoint.LEFT_HIP: (150, 70),
        Keypoint.RIGHT_HIP: (160, 72),
        Keypoint.LEFT_KNEE: (145, 120),
        Keypoint.RIGHT_KNEE: (170, 118),
        Keypoint.LEFT_ANKLE: (140, 168),
        Keypoint.RIGHT_ANKLE: (185, 165),
    }
    for k, (x, y) in points.items():
        kp[k] = (x + shift[0], y + shift[1], score)
    kp[Keypoint.NOSE] = (155, 20, 0.9)
    return kp


def shifted(image: np.ndarray, dx: int, dy: int) -> np.ndarray:
    return np.roll(np.roll(image, dy, axis=0), dx, axis=1)


def test_tracked_legs_follow_a_moving_scene():
    rng = np.random.default_rng(1)
    scene = textured_scene(rng)
    tracker = InBetweenTracker()
    tracker.seed(scene, leg_pose())
    total = np.zeros(2)
    for step in [(3, 1), (4, -2), (2, 2)]:
        total += step
        out = tracker.track(shifted(scene, *total.astype(int)))
        expected = leg_pose(tuple(total))
        legs = list(LEG_KEYPOINTS)
        assert np.all(out[legs, 2] == pytest.approx(0.8))
        # Working image ~0.64x the source: sub-pixel flow there is ~1 px here.
        assert np.max(np.abs(out[legs, :2] - expected[legs, :2])) < 1.5
    # Joints the tracker does not follow are passed on unseen, never as stale detections.
    assert out[Keypoint.NOSE, 2] == 0.0


def test_a_joint_is_dropped_when_its_patch_disappears():
    rng = np.random.default_rng(2)
    scene = textured_scene(rng)
    tracker = InBetweenTracker()
    tracker.seed(scene, leg_pose())
    blank = np.full_like(scene, 128)  # no texture anywhere: no flow can be trusted
    out = tracker.track(blank)
    assert np.all(out[list(LEG_KEYPOINTS), 2] == 0.0)
    # ... and stays dropped until the next seed.
    assert np.all(tracker.track(scene)[list(LEG_KEYPOINTS), 2] == 0.0)
    tracker.seed(scene, leg_pose())
    assert np.all(tracker.track(scene)[list(LEG_KEYPOINTS), 2] > 0)


def test_unconfident_seed_joints_are_not_tracked():
    rng = np.random.default_rng(3)
    scene = textured_scene(rng)
    kp = leg_pose()
    kp[Keypoint.LEFT_ANKLE, 2] = 0.1
    tracker = InBetweenTracker(FlowSettings(min_score=0.3))
    tracker.seed(scene, kp)
    out = tracker.track(shifted(scene, 2, 0))
    assert out[Keypoint.LEFT_ANKLE, 2] == 0.0
    assert out[Keypoint.RIGHT_ANKLE, 2] == pytest.approx(0.8)


def test_a_seed_without_a_leg_tracks_nothing():
    rng = np.random.default_rng(4)
    scene = textured_scene(rng)
    tracker = InBetweenTracker()
    tracker.seed(scene, np.zeros((NUM_KEYPOINTS, 3)))
    assert not tracker.seeded
    assert np.all(tracker.track(scene)[:, 2] == 0.0)
    # Never seeded at all: the same.
    assert np.all(InBetweenTracker().track(scene)[:, 2] == 0.0)


def test_seed_rejects_a_wrong_shape():
    with pytest.raises(ValueError, match=r"expected \(17, 3\)"):
        InBetweenTracker().seed(np.zeros((10, 10, 3), np.uint8), np.zeros((16, 3)))


def test_bridge_trusts_each_seed_more_near_it():
    n = 3
    forward = [np.tile([10.0, 0.0, 0.8], (NUM_KEYPOINTS, 1)) for _ in range(n)]
    backward = [np.tile([20.0, 0.0, 0.6], (NUM_KEYPOINTS, 1)) for _ in range(n)]
    out = bridge(forward, backward)
    xs = [kp[0, 0] for kp in out]
    assert xs == pytest.approx([12.5, 15.0, 17.5])  # weights 3/4, 1/2, 1/4 on forward
    assert all(kp[0, 2] == pytest.approx(0.6) for kp in out)  # the lower score


def test_bridge_takes_the_pass_that_saw_the_joint():
    forward = [np.tile([10.0, 5.0, 0.8], (NUM_KEYPOINTS, 1))]
    backward = [np.tile([20.0, 5.0, 0.0], (NUM_KEYPOINTS, 1))]
    out = bridge(forward, backward)
    assert out[0][0].tolist() == [10.0, 5.0, 0.8]
    with pytest.raises(ValueError, match="forward has 1 frames, backward 0"):
        bridge(forward, [])
