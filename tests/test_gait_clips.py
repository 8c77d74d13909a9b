"""Gait events on real running clips, through the real pose pipeline, against hand labels.

Each clip goes through the product path (``edge.capture`` → ``edge.pose.PoseEstimator`` with
the int8 MoveNet Lightning model → the gait engine); foot strikes are scored against
../shared/media/labels (±2 frames, leg identity ignored — it is reported separately in
docs/gait.md, where it is still weak on real footage).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))

from validate_gait import read_labels, score_clip

from edge.gait.batch import analyse_arrays
from edge.gait.streaming import GaitTracker
from edge.gait.timing import overall_cadence

pytestmark = [pytest.mark.model, pytest.mark.media]

# clip: (FS recall, FS precision, cadence tolerance) this engine reaches in batch.
CLIPS = {
    "movup_run_treadmill.mp4": (0.85, 0.9, 0.03),
    # GIF time is uneven (labels README): 27 GIF frames ≈ 30 sampling units.
    "jes_woods_nike_coach_1.gif": (0.8, 0.9, 0.04),
    "sports2d_demo3_running_side.mp4": (1.0, 1.0, 0.05),  # 3 strikes: cadence ±10 % rough
}


@pytest.fixture(scope="module")
def poses(media_dir, lightning_model):
    from edge.capture import open_source
    from edge.pose.movenet import PoseEstimator

    out = {}
    for name in CLIPS:
        estimator = PoseEstimator(lightning_model)
        out[name] = [estimator.estimate(frame) for frame in open_source(media_dir / name)]
    return out


@pytest.mark.parametrize("clip", list(CLIPS))
def test_batch_strikes_match_hand_labels(clip, poses, labels_dir):
    recall, precision, cadence_tolerance = CLIPS[clip]
    frames = poses[clip]
    t = np.array([p.timestamp for p in frames])
    index = np.array([p.frame_index for p in frames])
    result = analyse_arrays(t, np.stack([p.keypoints for p in frames]), stride_metrics=False)
    labels = read_labels(labels_dir / f"{Path(clip).stem}.events.csv")
    fs = score_clip(Path(clip).stem, index, t, result.events, labels)
    assert fs.recall >= recall
    assert fs.precision >= precision
    assert max(abs(e) for e in fs.frame_errors) <= 2
    last = float(np.interp(max(x.frame for x in labels) + 1, index, t))
    steps = [s for s in result.steps if s.next_foot_strike.time <= last]
    cadence = overall_cadence(steps).value
    assert cadence == pytest.approx(fs.labelled_cadence, rel=cadence_tolerance)


def test_streaming_on_the_treadmill_clip(poses, labels_dir):
    clip = "movup_run_treadmill.mp4"
    frames = poses[clip]
    tracker = GaitTracker(stride_metrics=False)
    events = [e for p in frames for e in tracker.push(p).events]
    t = np.array([p.timestamp for p in frames])
    index = np.array([p.frame_index for p in frames])
    labels = read_labels(labels_dir / "movup_run_treadmill.events.csv")
    fs = score_clip("movup_run_treadmill", index, t, events, labels)
    assert fs.recall >= 0.8 and fs.precision >= 0.9
    assert min(e.latency for e in events) >= 0
    # After the pass's warm-up (its events are held until it ends): within the LED's budget
    # (issue 14: ~250 ms after the event), except where the ankle was lost for a few
    # frames: an event cannot be decided before its evidence arrives.
    warm = t[0] + tracker.params.pass_warmup
    latency = np.array([e.latency for e in events if e.time >= warm])
    budget = tracker.params.max_latency
    assert np.percentile(latency, 95) <= budget <= 0.25 and latency.max() <= budget + 0.08


def test_streaming_assembles_as_many_strides_as_batch_on_the_treadmill_clip(poses):
    # Measured (product-path recording): batch 52 strikes / 49 steps / 46 strides; streaming
    # 52 / 21 / 14 while its leg-swap repair compared emitted labels (each repair made the
    # next strike look like the same leg again), 52 / 48 / 45 since it compares limb tracks.
    frames = poses["movup_run_treadmill.mp4"]
    tracker = GaitTracker(stride_metrics=False)
    updates = [tracker.push(p) for p in frames]
    strides = [s for u in updates for s in u.strides]
    steps = [s for u in updates for s in u.steps]
    t = np.array([p.timestamp for p in frames])
    batch = analyse_arrays(t, np.stack([p.keypoints for p in frames]), stride_metrics=False)
    assert len(batch.strides) >= 30  # the clip has ~55 strikes: the reference is not empty
    assert len(strides) >= 0.85 * len(batch.strides)
    assert len(steps) >= 0.85 * len(batch.steps)
    for stride in strides:  # each one leg's strike to its next, around the other leg's
        assert stride.foot_strike.leg is stride.next_foot_strike.leg
