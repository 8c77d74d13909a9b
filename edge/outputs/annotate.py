"""Annotated video: the skeleton, keypoint scores and crop box drawn over each frame.

Used by ``trackside replay --annotate OUT.mp4`` so a person can check by eye that the pose
stage follows the runner.
"""

from __future__ import annotations

import logging
from pathlib import Path

import cv2
import numpy as np

from edge.errors import TracksideError
from edge.nativelog import native_stderr_to
from edge.types import SKELETON_EDGES, Keypoint, Pose

log = logging.getLogger(__name__)

# RGB colours: the runner's left side cool, right side warm, centre line neutral.
_LEFT = (80, 160, 255)
_RIGHT = (255, 140, 40)
_CENTRE = (120, 255, 120)
_CROP = (255, 255, 0)


def _side_colour(a: Keypoint, b: Keypoint) -> tuple[int, int, int]:
    names = a.name + b.name
    if "LEFT" in names and "RIGHT" not in names:
        return _LEFT
    if "RIGHT" in names and "LEFT" not in names:
        return _RIGHT
    return _CENTRE


def _score_colour(score: float) -> tuple[int, int, int]:
    """Red for an unsure keypoint, through yellow, to green for a confident one."""
    s = float(np.clip(score, 0.0, 1.0))
    return (int(255 * min(1.0, 2 * (1 - s))), int(255 * min(1.0, 2 * s)), 0)


def draw_pose(image: np.ndarray, pose: Pose, *, min_score: float = 0.3) -> np.ndarray:
    """Return a copy of the RGB ``image`` with ``pose`` drawn on it."""
    out = np.ascontiguousarray(image).copy()
    kp = pose.keypoints
    # Markers sized to the runner, not the frame, so a small runner in a wide view stays
    # visible under them.
    seen = kp[kp[:, 2] >= min_score, :2]
    body = float(np.ptp(seen[:, 1])) if len(seen) >= 2 else max(out.shape[:2]) / 3
    radius = int(np.clip(body / 45, 2, 8))
    line = max(1, radius // 2)
    text = max(1, round(max(out.shape[:2]) / 600))
    for a, b in SKELETON_EDGES:
        if kp[a, 2] >= min_score and kp[b, 2] >= min_score:
            pa = (round(float(kp[a, 0])), round(float(kp[a, 1])))
            pb = (round(float(kp[b, 0])), round(float(kp[b, 1])))
            cv2.line(out, pa, pb, _side_colour(a, b), line, cv2.LINE_AA)
    for x, y, score in kp:
        if score >= min_score:
            centre = (round(float(x)), round(float(y)))
            cv2.circle(out, centre, radius, _score_colour(score), -1, cv2.LINE_AA)
    if pose.crop is not None:
        c = pose.crop
        cv2.rectangle(out, (round(c.x0), round(c.y0)), (round(c.x1), round(c.y1)), _CROP, text)
    label = f"t={pose.timestamp:6.3f}s  score={pose.mean_score:.2f}"
    cv2.putText(
        out,
        label,
        (6, 16 * text),
        cv2.FONT_HERSHEY_SIMPLEX,
        0.45 * text,
        (255, 255, 255),
        text,
        cv2.LINE_AA,
    )
    return out


class AnnotatedVideoWriter:
    """Writes RGB frames of one size to an MP4 file at a constant frame rate.

    MPEG-4 needs even dimensions, so an odd-sized clip gets one black row or column
    added at the bottom or right rather than being rescaled.
    """

    def __init__(self, path: str | Path, *, fps: float, size: tuple[int, int]):
        self.path = Path(path)
        self.size = size
        self._padded = (size[0] + size[0] % 2, size[1] + size[1] % 2)
        fourcc = cv2.VideoWriter.fourcc(*"mp4v")
        with native_stderr_to(log):
            self._writer = cv2.VideoWriter(str(self.path), fourcc, float(fps), self._padded)
        if not self._writer.isOpened():
            raise TracksideError(f"{self.path}: cannot write video (is the directory writable?)")

    def write(self, image: np.ndarray) -> None:
        bgr = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
        pad_x, pad_y = self._padded[0] - image.shape[1], self._padded[1] - image.shape[0]
        if pad_x or pad_y:
            bgr = cv2.copyMakeBorder(bgr, 0, pad_y, 0, pad_x, cv2.BORDER_CONSTANT, value=0)
        self._writer.write(bgr)

    def close(self) -> None:
        self._writer.release()

    def __enter__(self) -> AnnotatedVideoWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
