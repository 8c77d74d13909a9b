"""Burst mode's rolling windows: a runner who never leaves (a treadmill) gets accurate
strides continuously, each once, within seconds; a burst thread that falls behind says so."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from edge.analysis import judge_poses
from edge.config import Config
from edge.service.burst import BurstWorker
from edge.service.sinks import FanOut
from edge.service.status import Stats
from edge.types import StrideReport

CLIP = "movup_run_treadmill.mp4"  # 25 fps, the runner in view from the first frame to the last


class PublishedAt:
    """A result sink that notes the source time each stride was published at."""

    def __init__(self, clock):
        self.clock = clock
        self.strides: list[tuple[StrideReport, float]] = []
        self.passes: list = []

    def publish_stride(self, report):
        self.strides.append((report, self.clock()))

    def publish_pass_summary(self, summary, *, pass_index):
        self.passes.append((summary, pass_index))


@pytest.fixture(scope="module")
def frames(media_dir: Path):
    from edge.capture import open_source

    return list(open_source(media_dir / CLIP))


def burst_config(window: float, overlap: float) -> Config:
    config = Config()
    service = replace(config.service, mode="burst", burst_window=window, burst_overlap=overlap)
    return replace(config, service=service)


def test_a_treadmill_session_gets_every_stride_once_within_seconds(frames, lightning_model):
    from edge.pose.movenet import PoseEstimator

    now = [0.0]
    sink = PublishedAt(lambda: now[0])
    config = burst_config(window=4.0, overlap=2.0)
    worker = BurstWorker(
        config, lambda: PoseEstimator(lightning_model), FanOut({"at": sink}), Stats()
    )
    estimator = worker.estimator_factory()
    windows = 0
    for frame in frames:  # the analysis thread's calls, with the burst thread run in step
        now[0] = frame.timestamp
        worker.buffer(frame)
        worker.pass_progress(1, frames[0].timestamp, frame.timestamp)
        while worker.queue_depth:
            worker._analyse(estimator, worker._jobs.get_nowait())
            windows += 1
    worker.pass_ended(1, frames[0].timestamp)
    worker._analyse(estimator, worker._jobs.get_nowait())
    duration = frames[-1].timestamp - frames[0].timestamp
    assert windows >= int(duration / 4.0) - 1  # rolling: not one analysis at the end
    published = [r for r, _ in sink.strides]
    before_end = [r for r, at in sink.strides if at < frames[-1].timestamp]
    assert len(before_end) >= 0.6 * len(published)  # continuously, while still running
    delays = [at - r.stride.next_foot_strike.time for r, at in sink.strides if at < now[0]]
    assert max(delays) <= 4.0 + 2.0 / 2 + 0.1 <= 10.0  # window + overlap/2 (+ a frame)
    strikes = np.sort([r.stride.foot_strike.time for r in published])
    assert np.diff(strikes).min() > 0.1  # each stride once, however the windows overlap
    assert [r.stride.index for r in published] == list(range(len(published)))
    # As many as one full-rate analysis of the whole clip finds (the windows' seams cost
    # no stride).
    est = PoseEstimator(lightning_model)
    all_poses = [est.estimate(f) for f in frames]
    whole = judge_poses(
        np.array([p.timestamp for p in all_poses]),
        np.stack([p.keypoints for p in all_poses]),
        config.cues,
    )
    assert len(published) == pytest.approx(len(whole.reports), abs=2)
    assert sink.passes and sink.passes[0][0].strides == len(published)
    assert worker.dropped_frames == 0 and worker.problems() == []


def test_a_burst_thread_that_falls_behind_keeps_the_frames_and_says_so(frames):
    config = burst_config(window=2.0, overlap=1.0)
    worker = BurstWorker(config, lambda: None, FanOut({}), Stats())  # no burst thread runs
    for frame in frames[:200]:  # 8 s: four windows due, room in the queue for two
        worker.buffer(frame)
        worker.pass_progress(1, frames[0].timestamp, frame.timestamp)
    assert worker.queue_depth == 2
    (problem,) = worker.problems()
    assert "cannot keep up" in problem
    queued = [worker._jobs.get_nowait() for _ in range(2)]
    waiting = len(worker.ring)
    # Every frame is in a queued window or still waiting in the ring: none lost silently.
    seen = {f.index for job in queued for f in job.frames} | set(range(200 - waiting, 200))
    assert seen == set(range(200))
    assert worker.dropped_frames == 0
    # Once the burst thread has caught up the next window goes out and the status clears.
    worker.pass_progress(1, frames[0].timestamp, frames[200].timestamp)
    assert worker.queue_depth == 1 and worker.problems() == []
