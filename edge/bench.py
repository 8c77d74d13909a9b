"""How fast this machine runs Trackside, and what live mode can deliver here.

``trackside bench`` (and ``scripts/bench_pose.py``, ``trackside doctor``) measure:

* **invoke**: the interpreter's ``invoke()`` alone on a prepared input, repeated;
* **end to end**: decode (background thread) + preprocess + invoke + postprocess through
  :func:`edge.replay.iter_poses`, with crop tracking as configured;
* **analysis**: :meth:`edge.analysis.RunAnalyzer.push` (streaming gait engine and cues) on
  the poses the end-to-end run found;
* **live capacity**: the live daemon analyses one frame at a time in one thread (pose, then
  analysis) while the camera thread decodes, so it analyses ``1 / (pose + analysis)``
  frames a second at most (never more than the camera delivers).  The interval between
  analysed frames is the timing resolution of live gait events: a ground contact of about
  200 ms (distance running) is seen on ``200 ms / interval`` frames.

Every loop is bounded by a time budget as well as a count, so one run stays short on a slow
Pi.  Nothing here asserts a speed: tests check only that the numbers are consistent.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from edge.analysis import RunAnalyzer
from edge.capture.base import FrameSource
from edge.config import Config
from edge.pose.crop import letterbox_box
from edge.pose.movenet import PoseEstimator
from edge.replay import iter_poses
from edge.types import Frame, Pose

#: A short ground contact, for the resolution advice: distance running contacts last about
#: 200-300 ms (the clips in ../shared measure 180-310 ms with ``replay --strides``); the
#: short end is the hard case.
GROUND_CONTACT_MS = 200.0
#: Frames per contact below which live timing is too coarse: the gait engine is validated
#: down to 30 fps (docs/gait.md: 6 frames per 200 ms contact); 5 leaves room for one drop.
MIN_FRAMES_PER_CONTACT = 5.0


def first_frame(open_clip: Callable[[], FrameSource]) -> Frame:
    with open_clip() as source:
        frame = next(iter(source.frames()), None)
    if frame is None:
        raise ValueError("the source yielded no frame")
    return frame


def invoke_seconds(
    estimator: PoseEstimator,
    frame: Frame,
    *,
    repeats: int,
    budget_s: float = math.inf,
    warmup: int = 10,
) -> tuple[float, int]:
    """Seconds per pure ``invoke`` on ``frame`` (letterboxed) and how many were timed.

    Runs ``repeats`` times, or fewer if ``budget_s`` runs out first (at least one).
    """
    model_input = estimator.prepare(frame.image, letterbox_box(frame.width, frame.height)).copy()
    for _ in range(warmup):  # first runs allocate and page in weights
        estimator.invoke(model_input)
    count = 0
    start = time.perf_counter()
    while count < repeats:
        estimator.invoke(model_input)
        count += 1
        if time.perf_counter() - start >= budget_s:
            break
    return (time.perf_counter() - start) / count, count


def end_to_end_seconds(
    estimator: PoseEstimator,
    open_clip: Callable[[], FrameSource],
    *,
    frames: int,
    budget_s: float = math.inf,
) -> tuple[float, int, list[Pose]]:
    """Seconds per frame through decode + preprocess + invoke + postprocess.

    A short clip is played again until ``frames`` frames (or ``budget_s``) are done, so
    every runtime sees the same work.  Returns the time per frame, the frames timed, and the
    poses of the first play (in time order, for the analysis benchmark).
    """
    estimator.reset_tracking()
    with open_clip() as warm:  # decoder libraries loaded, interpreter warm
        for _ in itertools.islice(iter_poses(warm, estimator), 5):
            pass
    estimator.reset_tracking()
    count = 0
    first_play: list[Pose] | None = None
    start = time.perf_counter()
    while count < frames and time.perf_counter() - start < budget_s:
        poses: list[Pose] = []
        with open_clip() as source:
            for _frame, pose in itertools.islice(iter_poses(source, estimator), frames - count):
                poses.append(pose)
                count += 1
                if time.perf_counter() - start >= budget_s:
                    break
        if not poses:
            break  # an empty source: nothing to time
        if first_play is None:
            first_play = poses
        estimator.reset_tracking()
    elapsed = time.perf_counter() - start
    return elapsed / max(count, 1), count, first_play or []


def analysis_seconds(
    poses: list[Pose], config: Config, *, budget_s: float = 1.0
) -> tuple[float, int]:
    """Seconds per frame of gait and cue analysis, and the strides it found in ``poses``.

    The same poses are analysed afresh until ``budget_s`` has passed (at least once).
    """
    if not poses:
        return math.nan, 0
    pushed = strides = 0
    start = time.perf_counter()
    while True:
        analyzer = RunAnalyzer(config.cues, config.athletes)
        found = 0
        for pose in poses:
            found += len(analyzer.push(pose).reports)
        pushed += len(poses)
        strides = found
        if time.perf_counter() - start >= budget_s:
            break
    return (time.perf_counter() - start) / pushed, strides


@dataclass(frozen=True)
class LiveCapacity:
    """What live mode can analyse here, from the measured costs and the camera's rate."""

    frames_per_second: float  # frames analysed per second
    interval_ms: float  # between analysed frames: the timing resolution of live events
    frames_per_contact: float  # frames that fall within a GROUND_CONTACT_MS contact
    camera_limited: bool  # the camera, not the CPU, sets the rate

    @property
    def fine_enough(self) -> bool:
        return self.frames_per_contact >= MIN_FRAMES_PER_CONTACT


def live_capacity(pose_s: float, analysis_s: float, camera_fps: float) -> LiveCapacity:
    """Live mode's rate: one frame is posed and analysed at a time, at most ``camera_fps``."""
    per_frame = pose_s + (0.0 if math.isnan(analysis_s) else analysis_s)
    cpu_fps = 1.0 / per_frame if per_frame > 0 else math.inf
    fps = min(cpu_fps, camera_fps)
    interval_ms = 1000.0 / fps
    return LiveCapacity(fps, interval_ms, GROUND_CONTACT_MS / interval_ms, cpu_fps >= camera_fps)


@dataclass(frozen=True)
class BenchReport:
    source: str
    model: str
    runtime: str
    threads: int
    crop_tracking: bool
    invoke_s: float
    invokes: int
    end_to_end_s: float
    frames: int
    analysis_s: float
    strides: int
    camera_fps: float  # what the source delivers: the camera's rate, or a clip's
    live: LiveCapacity
    seconds: float  # the whole run, model load included


def run_bench(
    config: Config,
    estimator: PoseEstimator,
    open_clip: Callable[[], FrameSource],
    *,
    source_name: str,
    camera_fps: float,
    frames: int = 300,
    budget_s: float = 20.0,
) -> BenchReport:
    """The whole ``trackside bench`` measurement, within about ``budget_s`` seconds."""
    started = time.perf_counter()
    frame = first_frame(open_clip)
    invoke, invokes = invoke_seconds(estimator, frame, repeats=frames, budget_s=0.2 * budget_s)
    e2e, count, poses = end_to_end_seconds(
        estimator, open_clip, frames=frames, budget_s=0.6 * budget_s
    )
    analysis, strides = analysis_seconds(poses, config, budget_s=0.1 * budget_s)
    return BenchReport(
        source=source_name,
        model=estimator.model_path.name,
        runtime=estimator.runtime_label,
        threads=config.pose.num_threads,
        crop_tracking=estimator.crop_tracking,
        invoke_s=invoke,
        invokes=invokes,
        end_to_end_s=e2e,
        frames=count,
        analysis_s=analysis,
        strides=strides,
        camera_fps=camera_fps,
        live=live_capacity(e2e, analysis, camera_fps),
        seconds=time.perf_counter() - started,
    )


def format_bench(report: BenchReport) -> str:
    """The report as a person reads it."""
    live = report.live
    crop = "on" if report.crop_tracking else "off"
    analysis = (
        "no poses to analyse"
        if math.isnan(report.analysis_s)
        else f"{report.analysis_s * 1e3:6.2f} ms per frame (gait and cues; "
        f"{report.strides} strides found in one play of the source)"
    )
    limit = "the source's frame rate" if live.camera_limited else "the CPU"
    needed_fps = MIN_FRAMES_PER_CONTACT * 1000.0 / GROUND_CONTACT_MS
    if live.fine_enough:
        advice = "fine enough to time ground contact live"
    elif live.camera_limited:  # the CPU keeps up: more frames from the source would help
        advice = f"too coarse: the source needs {needed_fps:.0f} fps or more (camera.fps)"
    else:
        advice = (
            f"too coarse to time ground contact live (fewer than {MIN_FRAMES_PER_CONTACT:g} "
            'frames per contact): use service.mode = "burst" for accurate timing'
        )
    return "\n".join(
        [
            f"source     {report.source}",
            f"model      {report.model} via {report.runtime}, {report.threads} thread(s), "
            f"crop tracking {crop}",
            f"invoke     {report.invoke_s * 1e3:6.2f} ms  ({1 / report.invoke_s:6.1f} fps)  "
            f"interpreter alone, {report.invokes} runs",
            f"pose       {report.end_to_end_s * 1e3:6.2f} ms  ({1 / report.end_to_end_s:6.1f} fps)"
            f"  end to end: decode, prepare, invoke, keypoints; {report.frames} frames",
            f"analysis   {analysis}",
            f"live mode  {live.frames_per_second:.1f} frames analysed per second (set by {limit}; "
            f"source {report.camera_fps:g} fps)",
            f"timing     {live.interval_ms:.0f} ms between analysed frames: "
            f"{live.frames_per_contact:.1f} frames per {GROUND_CONTACT_MS:.0f} ms ground contact, "
            f"{advice}",
            f"took       {report.seconds:.1f} s",
        ]
    )
