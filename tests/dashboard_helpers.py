"""Helpers for the dashboard, store, report and keyframe tests.

:func:`real_run` runs the real MoveNet model over a real clip once per test session and
judges it with the real gait and cue pipeline, keeping the frames, so tests publish, store
and draw genuine results.  The dashboard doubles live in :mod:`edge.testing.dashboard`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from edge.types import Pose, StrideReport

# The treadmill clip up to 11 s: its bent-over stretch (6.5-10 s) gives strides that fault
# "run tall", so there are issues to show (the coach's "right way" clips grade ok now).
CLIP = "movup_run_treadmill.mp4"
CLIP_END_S = 11.0


@dataclass(frozen=True)
class RealRun:
    frames: list[np.ndarray]  # at keyframe size
    poses: list[Pose]  # in the frames' pixels
    reports: list[StrideReport]

    def frame_at(self, t: float) -> tuple[np.ndarray, Pose]:
        times = np.array([p.timestamp for p in self.poses])
        i = int(np.argmin(np.abs(times - t)))
        return self.frames[i], self.poses[i]

    def flagged(self) -> list[StrideReport]:
        return [r for r in self.reports if r.grade.value in ("warn", "fault")]


@cache
def real_run(media_dir: Path, model: Path) -> RealRun:
    """Frames, poses and judged strides of a real clip through the real pipeline."""
    from edge.analysis import judge_poses
    from edge.capture import open_source
    from edge.cues.settings import CuesConfig
    from edge.pose.movenet import PoseEstimator
    from edge.replay import iter_poses
    from edge.service.keyframes import keyframe_copy

    estimator = PoseEstimator(model, num_threads=2)
    frames, poses, small_poses = [], [], []
    with open_source(media_dir / CLIP) as source:
        for frame, pose in iter_poses(source, estimator):
            if pose.timestamp > CLIP_END_S:
                break
            # Kept at keyframe size, as the daemon keeps them (full frames would be ~0.5 GB).
            image, small = keyframe_copy(frame, pose)
            frames.append(image)
            small_poses.append(small)
            poses.append(pose)
    t = np.array([p.timestamp for p in poses])
    keypoints = np.stack([p.keypoints for p in poses])
    judged = judge_poses(t, keypoints, CuesConfig())
    return RealRun(frames, small_poses, judged.reports)
