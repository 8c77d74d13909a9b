"""Keypoints for the frames between two pose inferences, by optical flow (prototype).

A Raspberry Pi 4 runs MoveNet Lightning about 10 times a second while the camera delivers
30-60 frames.  The frames in between still show where the feet are.  :class:`InBetweenTracker`
is seeded with each MoveNet result and carries the leg keypoints (hips, knees, ankles)
from frame to frame with pyramidal Lucas-Kanade optical flow on a small grey crop around the
legs, so the gait engine gets a pose for every frame::

    tracker = InBetweenTracker()
    tracker.seed(frame.image, pose.keypoints)      # a frame MoveNet saw
    keypoints = tracker.track(next_frame.image)    # each following frame: (17, 3)

The crop is fixed between two seeds (the legs' box plus a margin), resampled so that the
leg is about ``FlowSettings.leg_px`` pixels long, so the cost per frame does not depend on
the camera resolution.  Each joint follows a small grid of points (their median motion);
a point whose forward-backward flow does not come back within ``fb_max_error`` is not
trusted, and a joint with too few trusted points is reported as unseen (score 0) until the
next seed.  A tracked joint keeps its seed's score, so the gait engine's depth cues
(MoveNet scores the near leg higher) are neither helped nor hurt by the tracking.

:func:`bridge` blends a forward and a backward pass between two seeds (needs the next
inference first, so it adds one inference period of delay).

Measured on the real clips in docs/live-timing-notes.md.  :class:`InBetweenPoses` is what
the daemon's live path uses (``[pose] inbetween = true``): the frames that arrived while the
model was busy are tracked from its last result, so the gait engine gets every frame
(design and numbers in docs/gait.md, "Full-rate timing at a Pi's inference rate").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from edge.types import NUM_KEYPOINTS, Frame, Keypoint, Pose

LEG_KEYPOINTS = (
    Keypoint.LEFT_HIP,
    Keypoint.RIGHT_HIP,
    Keypoint.LEFT_KNEE,
    Keypoint.RIGHT_KNEE,
    Keypoint.LEFT_ANKLE,
    Keypoint.RIGHT_ANKLE,
)


@dataclass(frozen=True)
class FlowSettings:
    """Tracking knobs (the defaults are the ones measured in docs/live-timing-notes.md)."""

    leg_px: float = 64.0  # working-image leg length (hip-knee + knee-ankle)
    max_side: int = 320  # working image never larger than this (px)
    margin: float = 0.6  # leg lengths added around the legs' box (room to move)
    grid: int = 3  # points per joint: grid x grid
    spacing: float = 2.0  # px between grid points (working image)
    window: int = 11  # Lucas-Kanade window (working px)
    levels: int = 2  # pyramid levels above the base
    fb_max_error: float = 1.0  # px (working): forward-backward disagreement allowed
    min_points: int = 3  # trusted grid points a joint needs
    min_score: float = 0.3  # seed keypoints below this are not tracked


class InBetweenTracker:
    """Carries a seed pose's leg keypoints through the following frames."""

    def __init__(self, settings: FlowSettings | None = None):
        self.settings = settings or FlowSettings()
        self._box: tuple[int, int, int, int] | None = None  # x0, y0, x1, y1 source px
        self._size: tuple[int, int] = (0, 0)  # working image w, h
        self._scale = 1.0
        self._grey: np.ndarray | None = None
        self._points: np.ndarray | None = None  # (J, G, 2) working px
        self._alive = np.zeros(len(LEG_KEYPOINTS), bool)
        self._keypoints = np.zeros((NUM_KEYPOINTS, 3))

    @property
    def seeded(self) -> bool:
        return self._grey is not None

    def seed(self, image: np.ndarray, keypoints: np.ndarray) -> None:
        """Start from a frame the pose model saw: ``keypoints`` (17, 3) in ``image`` pixels."""
        kp = np.asarray(keypoints, float)
        if kp.shape != (NUM_KEYPOINTS, 3):
            raise ValueError(f"keypoints: expected (17, 3), got {kp.shape}")
        s = self.settings
        self._keypoints = kp.copy()
        legs = kp[list(LEG_KEYPOINTS)]
        seen = np.isfinite(legs).all(1) & (legs[:, 2] >= s.min_score)
        leg = _leg_length(kp, s.min_score)
        if seen.sum() < 2 or not np.isfinite(leg) or leg < 4:
            self._grey = None  # nothing worth tracking: report the seed's joints as unseen
            return
        h, w = image.shape[:2]
        x0, y0 = legs[seen, :2].min(0) - s.margin * leg
        x1, y1 = legs[seen, :2].max(0) + s.margin * leg
        x0, y0 = max(0, int(x0)), max(0, int(y0))
        x1, y1 = min(w, int(np.ceil(x1))), min(h, int(np.ceil(y1)))
        if x1 - x0 < 8 or y1 - y0 < 8:
            self._grey = None
            return
        scale = min(s.leg_px / leg, s.max_side / max(x1 - x0, y1 - y0))
        self._box = (x0, y0, x1, y1)
        self._scale = scale
        self._size = (max(8, round((x1 - x0) * scale)), max(8, round((y1 - y0) * scale)))
        self._grey = self._working(image, self._box)
        offsets = (np.arange(s.grid) - (s.grid - 1) / 2) * s.spacing
        grid = np.stack(np.meshgrid(offsets, offsets), -1).reshape(-1, 2)
        centres = (legs[:, :2] - (x0, y0)) * scale
        self._points = (centres[:, None, :] + grid[None, :, :]).astype(np.float32)
        self._alive = seen.copy()

    def track(self, image: np.ndarray) -> np.ndarray:
        """This frame's keypoints (17, 3): tracked legs; other joints as seeded, score 0."""
        out = self._keypoints.copy()
        out[:, 2] = 0.0
        legs = list(LEG_KEYPOINTS)
        box = self._box
        if self._grey is None or self._points is None or box is None or not self._alive.any():
            return out
        s = self.settings
        grey = self._working(image, box)
        alive = np.flatnonzero(self._alive)
        start = self._points[alive].reshape(-1, 1, 2)
        moved, ok = self._lucas_kanade(self._grey, grey, start)
        back, ok_back = self._lucas_kanade(grey, self._grey, moved)
        error = np.linalg.norm(back - start, axis=2).ravel()
        good = (ok.ravel() == 1) & (ok_back.ravel() == 1) & (error <= s.fb_max_error)
        moved = moved.reshape(len(alive), -1, 2)
        good = good.reshape(len(alive), -1)
        w, h = self._size
        for row, j in enumerate(alive):
            trusted = good[row]
            if trusted.sum() < s.min_points:
                self._alive[j] = False
                continue
            shift = np.median(moved[row, trusted] - self._points[j, trusted], axis=0)
            self._points[j] += shift.astype(np.float32)
            centre = self._points[j].mean(0)
            if not (0 <= centre[0] < w and 0 <= centre[1] < h):
                self._alive[j] = False  # left the crop: wait for the next inference
        self._grey = grey
        x0, y0 = box[:2]
        for row, k in enumerate(legs):
            if self._alive[row]:
                out[k, :2] = self._points[row].mean(0) / self._scale + (x0, y0)
                out[k, 2] = self._keypoints[k, 2]
        return out

    def _lucas_kanade(
        self, previous: np.ndarray, current: np.ndarray, points: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Pyramidal Lucas-Kanade: where ``points`` (P, 1, 2) moved, and which were found."""
        s = self.settings
        moved, found, _ = cv2.calcOpticalFlowPyrLK(
            previous,
            current,
            points,
            None,
            winSize=(s.window, s.window),
            maxLevel=s.levels,
            criteria=(cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 10, 0.03),
        )
        return np.asarray(moved), np.asarray(found)

    def _working(self, image: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
        x0, y0, x1, y1 = box
        crop = image[y0:y1, x0:x1]
        # Grey first: the area resampling (anti-aliased, so flow is not fooled by aliasing)
        # then runs on one channel instead of three.
        grey = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY) if crop.ndim == 3 else crop
        return cv2.resize(grey, self._size, interpolation=cv2.INTER_AREA)


def bridge(forward: Sequence[np.ndarray], backward: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Blend a forward pass (from the earlier seed) and a backward pass (from the later seed)
    over the same in-between frames, in time order.

    Frame ``i`` of ``n`` weighs the forward estimate by ``(n - i) / (n + 1)`` — trusting each
    seed more near it, so drift is largest mid-way and smaller than either pass alone.  A
    joint seen by only one pass takes that one; its score is the lower of the two seen.
    """
    if len(forward) != len(backward):
        raise ValueError(f"forward has {len(forward)} frames, backward {len(backward)}")
    n = len(forward)
    out = []
    for i, (f, b) in enumerate(zip(forward, backward, strict=True)):
        w = (n - i) / (n + 1)
        fs, bs = f[:, 2] > 0, b[:, 2] > 0
        kp = np.where(fs[:, None], f, b).astype(float)
        both = fs & bs
        kp[both, :2] = w * f[both, :2] + (1 - w) * b[both, :2]
        kp[both, 2] = np.minimum(f[both, 2], b[both, 2])
        out.append(kp)
    return out


def _leg_length(kp: np.ndarray, min_score: float) -> float:
    """Longest seen hip-knee + knee-ankle (px) of the two legs, nan if neither is whole."""
    best = float("nan")
    for hip, knee, ankle in (
        (Keypoint.LEFT_HIP, Keypoint.LEFT_KNEE, Keypoint.LEFT_ANKLE),
        (Keypoint.RIGHT_HIP, Keypoint.RIGHT_KNEE, Keypoint.RIGHT_ANKLE),
    ):
        if min(kp[hip, 2], kp[knee, 2], kp[ankle, 2]) >= min_score:
            length = np.hypot(*(kp[hip, :2] - kp[knee, :2])) + np.hypot(
                *(kp[knee, :2] - kp[ankle, :2])
            )
            best = length if not np.isfinite(best) else max(best, length)
    return best


class InBetweenPoses:
    """Poses for the frames the model did not see: seeded by each inference, tracked after.

    ``seed(frame, pose)`` after every inference; ``track(frame)`` for each later frame (in
    time order) until the next seed.  Frames before the seed, or before any seed, give no
    pose (``None``).
    """

    def __init__(self, settings: FlowSettings | None = None):
        self.tracker = InBetweenTracker(settings)
        self.seed_time = -np.inf
        self._last = -np.inf
        self.tracked = 0  # frames tracked since construction

    def seed(self, frame: Frame, pose: Pose) -> None:
        self.tracker.seed(frame.image, np.asarray(pose.keypoints, float))
        self.seed_time = self._last = frame.timestamp

    def reset(self) -> None:
        """Forget the seed (the runner left): nothing is tracked until the next one."""
        self.tracker = InBetweenTracker(self.tracker.settings)
        self.seed_time = self._last = -np.inf

    def track(self, frame: Frame) -> Pose | None:
        if not self.tracker.seeded or frame.timestamp <= self._last:
            return None
        self._last = frame.timestamp
        keypoints = self.tracker.track(frame.image).astype(np.float32)
        self.tracked += 1
        return Pose(frame.timestamp, frame.index, keypoints, (frame.width, frame.height))
