"""Gait and cues together, on real footage: athlete height gives centimetres."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from edge.analysis import RunAnalyzer, judge_poses
from edge.config import Config
from edge.cues.profiles import AthleteProfile
from edge.types import Pose

ANA = AthleteProfile(name="Ana", height_cm=175.0)


@pytest.fixture(scope="module")
def treadmill_poses(media_dir, lightning_model) -> list[Pose]:
    from edge.capture import open_source
    from edge.pose.movenet import PoseEstimator
    from edge.replay import iter_poses

    estimator = PoseEstimator(lightning_model, num_threads=2)
    with open_source(media_dir / "movup_run_treadmill.mp4") as source:
        poses = [pose for _, pose in iter_poses(source, estimator)]
    return poses[:300]


def stream(analyzer: RunAnalyzer, poses: list[Pose]):
    reports, alerts = [], []
    for pose in poses:
        update = analyzer.push(pose)
        reports += update.reports
        alerts += update.alerts
    return reports, alerts


def test_centimetres_only_with_a_known_height(treadmill_poses):
    cues = Config().cues
    anonymous, _ = stream(RunAnalyzer(cues), treadmill_poses)
    assert anonymous and all(not r.stride.metrics["overstride_cm"].measured for r in anonymous)

    measured, _ = stream(RunAnalyzer(replace(cues, athlete="Ana"), [ANA]), treadmill_poses)
    values = [r.stride.metrics["overstride_cm"].value for r in measured]
    finite = [v for v in values if math.isfinite(v)]
    assert len(finite) >= len(values) // 2
    # A recreational runner on a treadmill lands the ankle a hand's width or two ahead.
    assert -10 < float(np.median(finite)) < 45


def test_switching_athlete_at_run_time_clears_alerts_and_rescales(treadmill_poses):
    analyzer = RunAnalyzer(Config().cues, [ANA])
    half = len(treadmill_poses) // 2
    before, alerts = stream(analyzer, treadmill_poses[:half])
    cleared = analyzer.select_athlete("Ana", treadmill_poses[half].timestamp)
    raised: set[str] = set()
    for alert in alerts:
        (raised.add if alert.active else raised.discard)(alert.cue_id)
    assert {a.cue_id for a in cleared} == raised and not any(a.active for a in cleared)
    after, _ = stream(analyzer, treadmill_poses[half:])
    assert not any(r.stride.metrics["overstride_cm"].measured for r in before)
    assert any(r.stride.metrics["overstride_cm"].measured for r in after[1:])
    assert analyzer.session_summary.strides == len(before) + len(after)


def test_batch_judging_matches_the_catalogue(treadmill_poses):
    t = np.array([p.timestamp for p in treadmill_poses])
    keypoints = np.stack([p.keypoints for p in treadmill_poses])
    judged = judge_poses(t, keypoints, replace(Config().cues, athlete="Ana"), [ANA])
    assert len(judged.reports) == len(judged.analysis.strides) >= 5
    for report in judged.reports:
        assert report.worst_cue is None or report.worst_cue in {c.cue_id for c in report.cues}
    assert any(r.stride.metrics["overstride_cm"].measured for r in judged.reports)
