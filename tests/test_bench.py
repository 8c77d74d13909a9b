"""trackside bench: what it reports is well-formed and consistent (never how fast it is)."""

from __future__ import annotations

import math

import pytest
from test_cli import run_cli

from edge.bench import GROUND_CONTACT_MS, format_bench, live_capacity, run_bench
from edge.capture import open_source
from edge.config import Config
from edge.pose.movenet import PoseEstimator


def test_live_capacity_is_set_by_the_cpu_or_the_camera_whichever_is_slower():
    cpu_bound = live_capacity(pose_s=0.080, analysis_s=0.020, camera_fps=30.0)  # a Pi 4
    assert cpu_bound.frames_per_second == pytest.approx(10.0)
    assert cpu_bound.interval_ms == pytest.approx(100.0)
    assert cpu_bound.frames_per_contact == pytest.approx(GROUND_CONTACT_MS / 100.0)
    assert not cpu_bound.camera_limited and not cpu_bound.fine_enough
    camera_bound = live_capacity(pose_s=0.005, analysis_s=0.002, camera_fps=30.0)
    assert camera_bound.frames_per_second == 30.0 and camera_bound.camera_limited
    assert camera_bound.fine_enough
    unknown_analysis = live_capacity(pose_s=0.05, analysis_s=math.nan, camera_fps=120.0)
    assert unknown_analysis.frames_per_second == pytest.approx(20.0)


def test_a_short_bench_run_reports_consistent_numbers(media_dir, lightning_model):
    clip = media_dir / "jes_woods_nike_coach_1.gif"
    config = Config()
    estimator = PoseEstimator(lightning_model, num_threads=config.pose.num_threads)
    report = run_bench(
        config,
        estimator,
        lambda: open_source(clip),
        source_name=clip.name,
        camera_fps=20.0,
        frames=120,  # more than the clip's 90: it is played again
        budget_s=60.0,  # generous, so the frame count (not time) ends each loop
    )
    assert 1 <= report.invokes <= 120 and report.frames == 120
    assert report.invoke_s > 0 and report.end_to_end_s > 0 and report.analysis_s > 0
    assert report.strides >= 1  # the analysis saw the runner (one play: 90 frames)
    expected = live_capacity(report.end_to_end_s, report.analysis_s, 20.0)
    assert report.live == expected
    assert report.live.interval_ms == pytest.approx(1000.0 / report.live.frames_per_second)
    text = format_bench(report)
    labels = [line.split()[0] for line in text.splitlines()]
    assert labels == ["source", "model", "invoke", "pose", "analysis", "live", "timing", "took"]
    assert f"{report.invoke_s * 1e3:6.2f} ms" in text
    assert f"{report.live.frames_per_second:.1f} frames analysed per second" in text
    assert f"{report.strides} strides found" in text


def test_bench_command_runs_within_its_budget_and_prints_every_line(media_dir, model_dir):
    result = run_cli(
        "bench", "--clip", str(media_dir / "jes_woods_nike_coach_1.gif"),
        "--frames", "60", "--seconds", "5",
        env={"TRACKSIDE_MODEL_DIR": str(model_dir)},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert [line.split()[0] for line in lines] == [
        "source", "model", "invoke", "pose", "analysis", "live", "timing", "took"
    ]  # fmt: skip
    assert "frames per 200 ms ground contact" in result.stdout
