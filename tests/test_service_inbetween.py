"""In-between tracking in the live path: at a Pi's ~10 inferences/s the frames the model
missed are tracked, reach the gait engine in time order, and are not counted as lost."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from edge.analysis import RunAnalyzer
from edge.config import Config
from edge.service.analysis import FrameAnalysis
from edge.service.buffers import RecentFrames
from edge.service.sinks import FanOut, Outputs
from edge.service.status import Stats

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
from bench_burst import live_schedule

CLIP = "movup_run_treadmill.mp4"


class Pushed(RunAnalyzer):
    """Notes the timestamp of every pose the gait engine receives."""

    def __init__(self, config: Config):
        super().__init__(config.cues)
        self.times: list[float] = []

    def push(self, pose):
        self.times.append(pose.timestamp)
        return super().push(pose)


def run_at_ten_per_second(frames, model, *, inbetween: bool):
    from edge.pose.movenet import PoseEstimator

    config = Config()
    config = replace(config, presence=replace(config.presence, idle_fps=60.0))
    analyzer = Pushed(config)
    stats = Stats()
    recent = RecentFrames() if inbetween else None
    analysis = FrameAnalysis(
        config,
        PoseEstimator(model),
        analyzer,
        Outputs(FanOut({}), None),
        stats,
        recent=recent,
    )
    chosen = set(live_schedule([f.timestamp for f in frames], 0.1))
    for frame in frames:  # the capture thread keeps each frame; the model takes some
        if recent is not None:
            recent.append(frame)
        if frame.index in chosen:
            analysis.analyse(frame)
    analysis.close_pass()
    return analyzer, stats, len(chosen)


@pytest.fixture(scope="module")
def frames(media_dir: Path):
    from edge.capture import open_source

    return list(open_source(media_dir / CLIP))


def test_the_frames_between_inferences_are_tracked_and_analysed(frames, lightning_model):
    analyzer, stats, inferred = run_at_ten_per_second(frames, lightning_model, inbetween=True)
    assert inferred < 0.5 * len(frames)  # 10 of 25 frames a second
    # Nearly every frame of the pass reaches the gait engine, in time order, once.
    assert len(analyzer.times) >= 0.9 * len(frames)
    assert np.all(np.diff(analyzer.times) > 0)
    assert stats.frames_tracked == len(analyzer.times) - stats.frames_analysed > 0
    assert stats.tracking_seconds > 0
    sparse, _, _ = run_at_ten_per_second(frames, lightning_model, inbetween=False)
    tracked_strides = analyzer.session_summary.strides
    sparse_strides = sparse.session_summary.strides
    assert tracked_strides > sparse_strides  # the timing the frames in between carry


def test_recent_frames_hand_over_only_what_came_before_and_count_the_rest():
    from edge.types import Frame

    recent = RecentFrames(capacity=3)
    image = np.zeros((4, 4, 3), np.uint8)
    for i in range(5):
        recent.append(Frame(image, i / 10, i))
    assert recent.dropped == 2  # frames 0 and 1 were pushed out unseen
    assert [f.index for f in recent.take_before(0.4)] == [2, 3]
    assert recent.take_before(0.5) == []  # frame 4 (at 0.4) went with the one at 0.4


@pytest.mark.parametrize("phase", [0, 1, 2])
def test_strikes_a_stride_apart_never_make_a_step(media_dir: Path, lightning_model, phase):
    """At 10 inferences/s the marathon GIF (15 fps) loses some strikes: in one schedule
    phase every other one, so the strikes' median interval is a stride.  Two strikes a stride
    apart must not be published as one step (the labels: 124 steps/min, a step of 0.48 s;
    before, one "step" of 1.0 s made that phase's cadence -50 %)."""
    from bench_burst import live_with_tracking

    from edge.capture import open_source
    from edge.gait.streaming import GaitTracker

    frames = list(open_source(media_dir / "eliud_kipchoge_sub2_marathon.gif"))
    t = [f.timestamp for f in frames]
    chosen = {phase + i for i in live_schedule(t[phase:], 0.1)}
    tracker = GaitTracker(stride_metrics=False)
    steps = []
    for pose in live_with_tracking(frames, chosen, lightning_model, []):
        steps += tracker.push(pose).steps
    steps += tracker.flush().steps
    labelled_step = 60 / 124.4  # ../shared/media/labels/README.md
    assert all(s.duration < 1.5 * labelled_step for s in steps)
