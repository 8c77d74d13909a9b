"""Helpers for the dashboard, store, report and keyframe tests.

:func:`real_run` runs the real MoveNet model over a real clip once per test session and
judges it with the real gait and cue pipeline, keeping the frames, so tests publish, store
and draw genuine results.  The dashboard doubles live in :mod:`edge.testing.dashboard`.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from edge.types import Pose, StrideReport

# The treadmill clip up to 11 s: its bent-over stretch (6.5-10 s) gives strides that fault
# "run tall", so there are issues to show (the coach's "right way" clips grade ok now).
CLIP = "movup_run_treadmill.mp4"
CLIP_END_S = 11.0
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


def _missing(what: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{what} not installed")
    pytest.skip(f"{what} not installed")


@contextlib.contextmanager
def chromium(*flags: str) -> Iterator[Any]:
    """Debian's headless Chromium driven by Selenium through the system chromedriver (never
    a downloaded one), with a throwaway profile; ``flags`` are extra command-line flags."""
    webdriver = pytest.importorskip("selenium.webdriver")
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        _missing("chromium / chromium-driver (apt-get install chromium chromium-driver)")
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="trackside-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        f"--user-data-dir={profile}",
        "--window-size=390,844",
        *flags,
    ):
        options.add_argument(flag)
    # An explicit driver path: Selenium Manager never looks for (or downloads) one.
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(20)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


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
