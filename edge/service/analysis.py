"""The analysis thread's work on each frame: is a runner in view → pose → gait and cues → outputs.

While nobody is in view the model runs only ``presence.idle_fps`` times a second, or at once
when the picture changes (a cheap motion signal), so an idle Pi stays cool.  Judged strides
go first to the runner's feedback, then (with their keyframe) to the result sinks; a pass
ends when the runner has been out of view for ``presence.leave_after`` seconds.  One bad
frame or one analysis bug never stops the service: the frame is skipped, or the gait
analysis starts afresh.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from typing import Protocol

import cv2
import numpy as np

from edge.analysis import RunAnalyzer
from edge.config import Config
from edge.pose.inbetween import InBetweenPoses
from edge.service.buffers import RecentFrames
from edge.service.keyframes import KeyframeRecorder
from edge.service.presence import PresenceTracker, body_score
from edge.service.sinks import Outputs
from edge.service.status import Stats
from edge.types import CueAlert, Frame, Pose, StrideReport

log = logging.getLogger(__name__)

MOTION_THUMB = (64, 36)  # px: the 16:9 thumbnail compared for motion while idle


class PoseStage(Protocol):
    def estimate(self, frame: Frame) -> Pose: ...

    def reset_tracking(self) -> None: ...


class PassClips(Protocol):
    """Records each pass on video (:class:`edge.service.clips.SessionClips`)."""

    def add(self, image: np.ndarray, pose: Pose) -> None: ...

    def stride(self, report: StrideReport) -> None: ...

    def end_pass(self, pass_index: int) -> None: ...


class PassEnded(Protocol):
    """Told when a pass ends (burst mode: :meth:`edge.service.burst.BurstWorker.pass_ended`)."""

    def __call__(self, pass_index: int, pass_start: float) -> None: ...


class PassProgress(Protocol):
    """Told after every analysed frame of a pass (burst mode's rolling windows:
    :meth:`edge.service.burst.BurstWorker.pass_progress`)."""

    def __call__(self, pass_index: int, pass_start: float, now: float) -> None: ...


def motion_level(previous: np.ndarray | None, image: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean absolute grey-level change between two tiny thumbnails (cheap wake-up signal)."""
    thumb = cv2.resize(
        cv2.cvtColor(image, cv2.COLOR_RGB2GRAY), MOTION_THUMB, interpolation=cv2.INTER_AREA
    )
    if previous is None:
        return math.inf, thumb
    return float(cv2.absdiff(previous, thumb).mean()), thumb


class FrameAnalysis:
    """Presence, pose, :class:`~edge.analysis.RunAnalyzer` and outputs for one frame at a time.

    ``on_pass_end`` (burst mode) takes over publishing: live strides then only drive the
    LEDs, and each ended pass is handed to it instead of publishing its live summary.
    """

    def __init__(
        self,
        config: Config,
        estimator: PoseStage,
        analyzer: RunAnalyzer,
        outputs: Outputs,
        stats: Stats,
        *,
        on_pass_end: PassEnded | None = None,
        judging: Callable[[], bool] = lambda: True,
        clips: PassClips | None = None,
        on_pass_progress: PassProgress | None = None,
        recent: RecentFrames | None = None,
    ) -> None:
        self.judging = judging  # outside a session: no alert, no LED (strides still go out)
        self.clips = clips  # the pass on video (in a session only)
        self.estimator = estimator
        self.analyzer = analyzer
        self.outputs = outputs
        self.stats = stats
        self.on_pass_end = on_pass_end
        self.on_pass_progress = on_pass_progress
        # In-between tracking: the frames the capture thread kept while the model was busy.
        self.recent = recent
        self.inbetween = InBetweenPoses() if recent is not None else None
        self.presence = PresenceTracker(config.presence)
        self.keyframes = KeyframeRecorder(
            outputs.results,
            min_keypoint_score=config.pose.min_keypoint_score,
            height_cm=lambda: analyzer.athlete_height_cm,
        )
        self.source_time = 0.0  # of the newest analysed frame: alerts are stamped on it
        self._pass_start: float | None = None
        self._thumb: np.ndarray | None = None

    def analyse(self, frame: Frame) -> None:
        between = self.recent.take_before(frame.timestamp) if self.recent is not None else []
        motion = None
        if not self.presence.present:
            image = frame.inference_image if frame.inference_image is not None else frame.image
            motion, self._thumb = motion_level(self._thumb, image)
        if not self.presence.should_infer(frame.timestamp, motion):
            return
        if self.presence.present:
            for earlier in between:  # in time order, all before this frame
                self._track(earlier)
        started = time.perf_counter()
        try:
            pose = self.estimator.estimate(frame)
        except Exception as exc:  # one bad frame must not stop the service
            self.stats.inference_errors += 1
            log.warning("inference failed on frame %d: %s", frame.index, exc)
            return
        self.stats.inference_seconds += time.perf_counter() - started
        self.stats.frames_analysed += 1
        self.source_time = frame.timestamp
        self.keyframes.add(frame, pose)
        if self.clips is not None and self.presence.present and self.judging():
            self.clips.add(frame.image, pose)

        change = self.presence.update(frame.timestamp, body_score(pose))
        if change == "entered":
            self._pass_start = self.presence.entered_at
            self.stats.state = "running"
            log.info("runner in view at %.2f s", self._pass_start)
        if not self._push(pose):
            return
        if self.inbetween is not None:
            if self.presence.present:
                self.inbetween.seed(frame, pose)
            else:
                self.inbetween.reset()
        if change == "left":
            self._end_pass(frame.timestamp)
        elif self.presence.present and self.on_pass_progress is not None:
            start = frame.timestamp if self._pass_start is None else self._pass_start
            self.on_pass_progress(self.stats.passes + 1, start, frame.timestamp)

    def _track(self, frame: Frame) -> None:
        """A frame the model did not see: legs tracked from its last result, then gait."""
        assert self.inbetween is not None
        started = time.perf_counter()
        try:
            pose = self.inbetween.track(frame)
        except Exception as exc:  # one bad frame must not stop the service
            self.stats.inference_errors += 1
            log.warning("tracking failed on frame %d: %s", frame.index, exc)
            return
        self.stats.tracking_seconds += time.perf_counter() - started
        if pose is not None:
            self.stats.frames_tracked += 1
            self.source_time = frame.timestamp
            self._push(pose)

    def _push(self, pose: Pose) -> bool:
        """Gait and cues for one pose; ``False`` when the analysis failed (and was reset)."""
        try:
            update = self.analyzer.push(pose)
        except Exception:  # a bug on odd input must not take the service down
            self.stats.analysis_errors += 1
            log.exception(
                "analysis failed at %.3f s; starting the gait analysis afresh", pose.timestamp
            )
            self.analyzer.reset_gait()
            return False
        if update:
            self._emit(update.reports, update.alerts)
        return True

    def close_pass(self) -> None:
        """End the pass in progress, if any (the daemon is stopping)."""
        if self.presence.present:
            self.presence.present = False
            self._end_pass(self.source_time)

    def _emit(self, reports: list[StrideReport], alerts: list[CueAlert]) -> None:
        judging = self.judging()
        for report in reports:
            self.stats.strides += 1
            if self.outputs.feedback and judging:
                self.outputs.feedback.on_stride(report)
            self.keyframes.publish(report)
            if self.clips is not None:
                self.clips.stride(report)
            # In burst mode the accurate after-pass analysis is what gets published.
            if self.on_pass_end is None:
                self.outputs.results.publish_stride(report)
        if judging:
            self.outputs.alerts(alerts)

    def _end_pass(self, t: float) -> None:
        self.stats.passes += 1
        self.stats.state = "idle"
        self.estimator.reset_tracking()
        try:
            tail = self.analyzer.flush()  # the strides of the pass's last moments
        except Exception:  # a bug on odd input must not take the service down
            self.stats.analysis_errors += 1
            log.exception("analysis failed while ending the pass at %.3f s", t)
            self.analyzer.reset_gait()
        else:
            self._emit(tail.reports, tail.alerts)
        summary = self.analyzer.end_pass()
        log.info(
            "pass %d ended at %.2f s (%d strides)",
            self.stats.passes,
            t,
            summary.strides if summary else 0,
        )
        if self.clips is not None:
            self.clips.end_pass(self.stats.passes)
        if self.on_pass_end is not None:
            start = t if self._pass_start is None else self._pass_start  # 0.0 is a start
            self.on_pass_end(self.stats.passes, start)
        elif summary is not None:
            self.outputs.results.publish_pass_summary(summary, pass_index=self.stats.passes)
