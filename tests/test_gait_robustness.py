"""No input may crash the gait engines or make them warn: the daemon runs all day.

Degenerate poses (every keypoint at one point, a runner standing still, NaN or inf
coordinates, scores exactly at the threshold, one frame, repeated timestamps) go through
both engines with warnings turned into errors; corrupted stretches inside a real
(force-plate) run must not stop the strides around them from being found.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from edge.gait.batch import analyse_arrays
from edge.gait.streaming import GaitTracker
from edge.testing.groundtruth import Spoiling, film, load_fukuchi
from edge.types import Pose

FPS = 30.0
# A standing figure (image px, y down), COCO order.
STANDING = np.array(
    [
        [100, 50], [102, 48], [98, 48], [104, 50], [96, 50], [110, 80], [90, 80],
        [112, 120], [88, 120], [113, 150], [87, 150], [105, 160], [95, 160],
        [105, 220], [95, 220], [105, 280], [95, 280],
    ],
    float,
)  # fmt: skip


def _frames(n: int, xy: np.ndarray, score: float = 0.8) -> np.ndarray:
    kp = np.empty((n, 17, 3))
    kp[:, :, :2] = xy
    kp[:, :, 2] = score
    return kp


def _degenerate_cases() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(1)
    n = int(10 * FPS)  # 10 s
    t = np.arange(n) / FPS
    standing = _frames(n, STANDING)
    standing[:, :, :2] += rng.normal(0, 0.2, (n, 17, 2))  # breathing, detector jitter
    nan_some = standing.copy()
    nan_some[::3, :, :2] = np.nan
    nan_scores = standing.copy()
    nan_scores[::2, :, 2] = np.nan
    infinite = standing.copy()
    infinite[5::7, 11:, 0] = np.inf
    flicker = standing.copy()
    flicker[::2, :, :2] = 0.0  # every other frame collapses onto the image corner
    return {
        "all keypoints identical": (t, _frames(n, np.array([100.0, 100.0]))),
        "standing still for 10 s": (t, standing),
        "standing exactly still": (t, _frames(n, STANDING)),
        "NaN coordinates": (t, nan_some),
        "all NaN": (t, np.full((n, 17, 3), np.nan)),
        "NaN scores": (t, nan_scores),
        "infinite coordinates": (t, infinite),
        "scores exactly at the threshold": (t, _frames(n, STANDING, score=0.3)),
        "collapsing every other frame": (t, flicker),
        "a single frame": (t[:1], standing[:1]),
        "two frames, same timestamp": (np.array([1.0, 1.0]), standing[:2]),
        "no frames": (np.zeros(0), np.zeros((0, 17, 3))),
        "repeated timestamps": (np.repeat(t[::4], 4)[:n], standing),
    }


CASES = _degenerate_cases()


def _stream(t: np.ndarray, keypoints: np.ndarray, **options) -> list:
    tracker = GaitTracker(**options)
    updates = [
        tracker.push(Pose(float(ti), i, kp, (640, 480)))
        for i, (ti, kp) in enumerate(zip(t, keypoints, strict=True))
    ]
    return [s for u in updates for s in u.strides]


@pytest.mark.parametrize("case", list(CASES))
def test_degenerate_input_neither_crashes_nor_warns(case):
    t, keypoints = CASES[case]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = analyse_arrays(t, keypoints, athlete_height_cm=175.0)
        strides = _stream(t, keypoints, athlete_height_cm=175.0)
    # Nobody is running in any of these: no stride may be invented.
    assert result.strides == [] and strides == []


@pytest.fixture(scope="module")
def corrupted_run(groundtruth_dir):
    """20 s of the Fukuchi treadmill run with three bad stretches in the middle."""
    filmed = film(load_fukuchi(groundtruth_dir, "T25"), FPS, spoil=Spoiling(), seed=3, duration=20)
    t, kp = filmed.t.astype(float), filmed.keypoints.astype(float).copy()
    bad = [(t > 6) & (t < 7), (t > 11) & (t < 11.5), (t > 15) & (t < 16)]
    kp[bad[0], :, :2] = kp[bad[0], :1, :2]  # the whole body on the nose
    kp[bad[1], :, :2] = np.nan
    kp[bad[2], :, 2] = 0.3  # every score exactly at the threshold
    return t, kp


def test_corrupted_stretches_do_not_stop_the_engines(corrupted_run):
    t, kp = corrupted_run
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = analyse_arrays(t, kp, athlete_height_cm=181.0)
        streamed = _stream(t, kp, athlete_height_cm=181.0)
    for strides in (result.strides, streamed):
        # The run goes on around the bad stretches: strides before and after each.
        starts = np.array([s.foot_strike.time for s in strides])
        assert (starts < 6).sum() >= 3 and (starts > 16).sum() >= 3
        assert ((starts > 7.5) & (starts < 10.5)).sum() >= 1
        assert all(np.isfinite(s.metrics["stride_time"].value) for s in strides)
