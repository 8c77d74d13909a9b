"""Front/rear-view metrics and the side-vs-front view classifier.

Synthetic poses are built from stated body proportions; the real-geometry check projects
the BMClab overground run (acromion and hip markers) to a side and a front camera.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from edge.gait.frontview import CameraView, classify_view, frontview_metrics
from edge.types import Keypoint

TORSO = 150.0  # shoulder-to-hip height, px
SHOULDER_HALF = 45.0  # front view: shoulder width 0.6 torso
HIP_HALF = 22.0  # front view: hip width 0.29 torso


def front_pose(
    *, viewed_from_front=True, left_drop_px=0.0, wrist_x=(None, None), score=0.9
) -> np.ndarray:
    """One front (or rear) view pose centred on x=400; ``wrist_x`` offsets from the midline
    towards each wrist's own side (negative = crossed)."""
    # From the front, the runner's left appears on the image right.
    left = 1.0 if viewed_from_front else -1.0
    k = np.zeros((17, 3))
    k[:, 2] = score
    k[Keypoint.LEFT_SHOULDER, :2] = (400 + left * SHOULDER_HALF, 100 + left_drop_px)
    k[Keypoint.RIGHT_SHOULDER, :2] = (400 - left * SHOULDER_HALF, 100)
    k[Keypoint.LEFT_HIP, :2] = (400 + left * HIP_HALF, 100 + TORSO)
    k[Keypoint.RIGHT_HIP, :2] = (400 - left * HIP_HALF, 100 + TORSO)
    k[Keypoint.NOSE, :2] = (400, 40)
    for kp, side, offset in (
        (Keypoint.LEFT_WRIST, left, wrist_x[0]),
        (Keypoint.RIGHT_WRIST, -left, wrist_x[1]),
    ):
        k[kp, :2] = (400 + side * (offset if offset is not None else 50.0), 180)
    return k


def side_pose(shoulder_dx=4.0, hip_dx=2.0) -> np.ndarray:
    k = np.zeros((17, 3))
    k[:, 2] = 0.9
    k[Keypoint.LEFT_SHOULDER, :2] = (400 + shoulder_dx, 100)
    k[Keypoint.RIGHT_SHOULDER, :2] = (400, 101)
    k[Keypoint.LEFT_HIP, :2] = (390 + hip_dx, 100 + TORSO)
    k[Keypoint.RIGHT_HIP, :2] = (390, 100 + TORSO)
    return k


@pytest.mark.parametrize("from_front", [True, False], ids=["front", "rear"])
def test_wrist_crossing_measured_in_shoulder_widths(from_front):
    # The left wrist swings 18 px past the midline, the right one stays 30 px on its side.
    poses = np.stack(
        [
            front_pose(viewed_from_front=from_front, wrist_x=(x, 30.0))
            for x in (40.0, 10.0, -18.0, 5.0)
        ]
    )
    m = frontview_metrics(poses)
    width = 2 * SHOULDER_HALF
    assert m["wrist_crossing_left_shoulder_width"].value == pytest.approx(18.0 / width)
    assert m["wrist_crossing_right_shoulder_width"].value == pytest.approx(-30.0 / width)
    assert m["wrist_crossing_shoulder_width"].value == pytest.approx(18.0 / width)


@pytest.mark.parametrize("from_front", [True, False], ids=["front", "rear"])
def test_shoulder_tilt_sign_is_anatomical(from_front):
    drops = np.array([6.0, 10.0, 2.0])
    m = frontview_metrics(
        np.stack([front_pose(viewed_from_front=from_front, left_drop_px=d) for d in drops])
    )
    tilts = np.degrees(np.arctan2(drops, 2 * SHOULDER_HALF))
    assert m["shoulder_tilt_deg"].value == pytest.approx(tilts.mean())  # left lower: +
    assert m["shoulder_tilt_max_deg"].value == pytest.approx(tilts.max())


def test_missing_shoulders_and_low_scores():
    pose = front_pose()
    pose[[Keypoint.LEFT_SHOULDER, Keypoint.RIGHT_SHOULDER], 2] = 0.1
    m = frontview_metrics(pose)
    assert not m["shoulder_tilt_deg"].measured and "shoulders" in m["shoulder_tilt_deg"].note
    assert not m["wrist_crossing_shoulder_width"].measured
    sure = frontview_metrics(front_pose(score=0.9))
    unsure = frontview_metrics(front_pose(score=0.5))
    assert unsure["shoulder_tilt_deg"].quality < sure["shoulder_tilt_deg"].quality


def test_view_classifier_on_synthetic_geometry():
    front = classify_view(np.stack([front_pose(), front_pose(viewed_from_front=False)]))
    assert front.view == CameraView.FRONT_OR_REAR and front.confidence > 0.8
    side = classify_view(side_pose())
    assert side.view == CameraView.SIDE and side.confidence > 0.8
    # A 3/4 view sits in between: whichever answer, it is not a confident one.
    three_quarter = classify_view(side_pose(shoulder_dx=0.3 * TORSO, hip_dx=0.14 * TORSO))
    assert three_quarter.confidence < 0.3
    nothing = np.zeros((17, 3))
    assert classify_view(nothing).view == CameraView.UNKNOWN


def test_side_view_with_trunk_rotation_frames_stays_side():
    # Trunk rotation widens the shoulders for a few frames; the median keeps the answer.
    frames = [side_pose(shoulder_dx=dx) for dx in (3, 5, 60, 8, 2, 70, 6)]
    assert classify_view(np.stack(frames)).view == CameraView.SIDE


def _trc(path: Path) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    lines = path.read_text().splitlines()
    markers = [n for n in lines[3].split("\t")[2:] if n.strip()]
    width = 2 + 3 * len(markers)
    rows = [(r.split("\t") + [""] * width)[:width] for r in lines[5:] if r.strip()]
    table = np.array([[float(v) if v.strip() else math.nan for v in r] for r in rows])
    return table[:, 1], {m: table[:, 2 + 3 * i : 5 + 3 * i] for i, m in enumerate(markers)}


@pytest.fixture(scope="module")
def bmclab_markers(groundtruth_dir: Path) -> dict[str, np.ndarray]:
    return _trc(groundtruth_dir / "bmclab_overground_run" / "motion_capture_run.trc")[1]


@pytest.mark.parametrize("camera", ["side", "front"])
def test_view_classifier_on_projected_lab_runner(bmclab_markers, camera):
    """Real running geometry (acromia, ASIS/PSIS-based hips), orthographic projection."""
    m = bmclab_markers
    # Hip joints approximated midway between each ASIS and PSIS, lowered 8 cm.
    hips = {s: 0.5 * (m[f"{s}ASI"] + m[f"{s}PSI"]) - np.array([0, 80.0, 0]) for s in "RL"}
    points = {
        Keypoint.LEFT_SHOULDER: m["LACR"],
        Keypoint.RIGHT_SHOULDER: m["RACR"],
        Keypoint.LEFT_HIP: hips["L"],
        Keypoint.RIGHT_HIP: hips["R"],
    }
    k = np.zeros((len(m["RACR"]), 17, 3))
    for kp, xyz in points.items():
        horizontal = xyz[:, 0] if camera == "side" else xyz[:, 2]  # X forward, Z lateral
        k[:, kp] = np.column_stack([horizontal, -xyz[:, 1], np.full(len(xyz), 0.9)])
    estimate = classify_view(k)
    expected = CameraView.SIDE if camera == "side" else CameraView.FRONT_OR_REAR
    assert estimate.view == expected
    assert estimate.confidence > 0.5
