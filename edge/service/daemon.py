"""The live daemon: camera → pose → gait → cues → MQTT and LEDs, all day beside a track.

Threads, and what crosses between them:

* **capture** reads the source and drops each frame into a one-slot :class:`LatestFrame`
  (the camera never waits; frames overwritten before use are counted as dropped).  In
  burst mode it also keeps the small inference image of every frame in a bounded
  :class:`FrameRing`.  A source that fails is reopened with exponential backoff.
* **analysis** (the thread that calls :meth:`Daemon.run`) takes the newest frame, runs the
  model when a runner is (or may be) in view, and feeds :class:`~edge.analysis.RunAnalyzer`;
  judged strides and alerts go straight to the outputs, which never block it.
* **burst** (burst mode only) analyses every buffered frame of a pass after it ended and
  publishes those results.
* **health** sends the watchdog ping, but only while the analysis thread makes progress,
  and the periodic status (MQTT ``status``, systemd ``STATUS=``).

MQTT commands arrive on paho's network thread; their handlers only validate and queue, and
the analysis thread applies them between frames, so no lock guards the analysis state.
"""

from __future__ import annotations

import logging
import math
import queue
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import cv2
import numpy as np

from edge.analysis import RunAnalyzer, judge_poses
from edge.capture.base import FrameSource
from edge.capture.pacing import paced
from edge.config import Config
from edge.cues.summary import Summary, SummaryAccumulator
from edge.errors import ConfigError, TracksideError
from edge.outputs.keyframe import KeyframePicker, focus_cue, render_keyframe
from edge.service import health
from edge.service.buffers import FrameRing, LatestFrame
from edge.service.notify import SystemdNotifier
from edge.service.presence import PresenceTracker, body_score
from edge.types import CueAlert, Frame, Pose, StrideReport

log = logging.getLogger(__name__)


class PoseStage(Protocol):
    def estimate(self, frame: Frame) -> Pose: ...

    def reset_tracking(self) -> None: ...


class ResultSink(Protocol):
    """Where results go (the MQTT publisher, or a test double)."""

    def set_session(self, session_id: str | None, *, athlete: str | None = None) -> None: ...

    def publish_stride(self, report: StrideReport) -> str: ...

    def publish_alert(self, alert: CueAlert) -> str: ...

    def publish_pass_summary(self, **summary: Any) -> str: ...

    def publish_session_summary(self, **summary: Any) -> str: ...

    def publish_status(self, *, state: str, **health: Any) -> None: ...

    def publish_keyframe(self, jpeg: bytes, **meta: Any) -> str: ...


class Feedback(Protocol):
    def on_stride(self, report: StrideReport) -> None: ...

    def on_alert(self, alert: CueAlert) -> None: ...


class FanOut:
    """Several result sinks behind one (the MQTT publisher and the on-device store).

    Each call goes to every sink in order; the first sink's message id is returned.
    """

    def __init__(self, sinks: list[Any]):
        self.sinks = sinks

    def __getattr__(self, name: str) -> Callable[..., Any]:
        methods = [getattr(sink, name) for sink in self.sinks]

        def call(*args: Any, **kwargs: Any) -> Any:
            results = [method(*args, **kwargs) for method in methods]
            return results[0] if results else None

        return call


def summary_fields(summary: Summary) -> dict[str, Any]:
    """A cue summary as the keyword arguments of the MQTT summary payloads."""
    return {
        "start_s": summary.start if summary.start is not None else 0.0,
        "end_s": summary.end if summary.end is not None else 0.0,
        "strides": summary.strides,
        "cues": {c.cue_id: dict(c.counts) for c in summary.cues},
        "metrics": {
            m.key: {"unit": m.unit, "mean": m.mean, "sd": m.spread, "n": m.count}
            for m in summary.metrics
        },
    }


KEYFRAME_SIDE = 640  # px: the longer side of the frames kept for keyframe pictures


def keyframe_copy(frame: Frame, pose: Pose) -> tuple[np.ndarray, Pose]:
    """The frame (and its pose) at keyframe size.  The picker holds about a second of
    analysed frames, so they are kept small (640 px: ~0.7 MB each) rather than full size."""
    image = frame.image
    scale = KEYFRAME_SIDE / max(image.shape[:2])
    if scale >= 1.0:
        return image, pose
    size = (round(image.shape[1] * scale), round(image.shape[0] * scale))
    small = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    keypoints = pose.keypoints.copy()
    keypoints[:, :2] *= scale
    return small, Pose(pose.timestamp, pose.frame_index, keypoints, size)


def motion_level(previous: np.ndarray | None, image: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean absolute grey-level change between two tiny thumbnails (cheap wake-up signal)."""
    thumb = cv2.resize(
        cv2.cvtColor(image, cv2.COLOR_RGB2GRAY), (64, 36), interpolation=cv2.INTER_AREA
    )
    if previous is None:
        return math.inf, thumb
    return float(cv2.absdiff(previous, thumb).mean()), thumb


@dataclass
class Stats:
    """Counters the status message reports (written by the analysis thread)."""

    started: float = 0.0
    frames_analysed: int = 0
    inference_seconds: float = 0.0
    inference_errors: int = 0
    analysis_errors: int = 0
    strides: int = 0
    passes: int = 0
    source_failures: int = 0
    burst_frames_dropped: int = 0
    last_loop: float = 0.0  # the analysis loop last went round (frame or timeout)
    last_frame: float = 0.0  # the camera last delivered a frame
    # (time, frames analysed, inference seconds) at the previous status: rates are per interval
    last_sample: tuple[float, int, float] | None = None


class Daemon:
    """Wires the stages together; see the module docstring for the threads.

    ``source_factory`` opens the frame source (called again after a failure);
    ``estimator_factory`` makes a pose estimator (called once for live analysis and, in burst
    mode, once more for the burst worker).  ``sink`` and ``feedback`` may be ``None``.
    ``pace`` replays a clip as if it were a camera, at that speed (1.0: real time); ``None``
    analyses every frame of it as fast as possible.
    """

    def __init__(
        self,
        config: Config,
        *,
        source_factory: Callable[[], FrameSource],
        estimator_factory: Callable[[], PoseStage],
        sink: ResultSink | None = None,
        feedback: Feedback | None = None,
        notifier: SystemdNotifier | None = None,
        pace: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.config = config
        self.source_factory = source_factory
        self.estimator = estimator_factory()
        self._estimator_factory = estimator_factory
        self.sink = sink
        self.feedback = feedback
        self.notifier = notifier or SystemdNotifier()
        self.pace = pace
        self.clock = clock
        self.sleep = sleep
        self.burst = config.service.mode == "burst"

        self.analyzer = RunAnalyzer(config.cues, config.athletes)
        self.presence = PresenceTracker(config.presence)
        # A clip replayed as fast as possible loses no frame; a camera (or a clip paced like
        # one) always hands the analysis its newest frame.
        self.slot = LatestFrame(lossless=pace is None)
        self.ring = FrameRing(int(config.service.burst_max_megabytes * 1e6)) if self.burst else None
        self.stats = Stats()
        self.stop_event = threading.Event()
        self.source_ended = threading.Event()
        self.state = "starting"
        self.session_id: str | None = None
        self.athlete: str | None = config.cues.athlete or None
        self._commands: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self._burst_jobs: queue.Queue[tuple[int, list[Frame]] | None] = queue.Queue(maxsize=2)
        self._burst_session = SummaryAccumulator()
        self._pass_start: float | None = None
        self._thumb: np.ndarray | None = None
        self._last_source_time = 0.0
        # The stride's first foot strike is at most ~1 s old when the stride is judged.
        self.keyframes = KeyframePicker(window_s=1.2, min_interval_s=5.0, max_frames=48)
        self._threads: list[threading.Thread] = []
        self._source: FrameSource | None = None
        self._source_lock = threading.Lock()
        self._capture_retrying = False
        self._session_passes = 0

    # --- commands (called on the MQTT thread: validate, then queue) ------------------------

    def request_start_session(self, athlete: str | None = None, session_id: str | None = None):
        self._check_athlete(athlete)
        self._commands.put(lambda: self._start_session(athlete, session_id))

    def request_stop_session(self) -> None:
        self._commands.put(self._stop_session)

    def request_select_athlete(self, athlete: str) -> None:
        self._check_athlete(athlete)
        self._commands.put(lambda: self._select_athlete(athlete))

    def request_set_cue(self, cue_id: str, enabled: bool) -> None:
        self._commands.put(lambda: self.analyzer.set_cue_enabled(cue_id, enabled))

    def _check_athlete(self, athlete: str | None) -> None:
        names = [a.name for a in self.config.athletes]
        if athlete and athlete not in names:
            known = ", ".join(f'"{n}"' for n in names) or "none defined"
            raise ConfigError(f'athlete: no profile named "{athlete}" (known: {known})')

    # --- sessions (analysis thread) ---------------------------------------------------------

    def _now_source(self) -> float:
        """Source time of the newest analysed frame (alerts are stamped on that clock)."""
        return self._last_source_time

    def _start_session(self, athlete: str | None, session_id: str | None = None) -> None:
        if self.session_id is not None:
            self._stop_session()
        if athlete is not None:
            self._select_athlete(athlete)
        self.session_id = session_id or f"s-{uuid.uuid4().hex[:12]}"
        self._session_passes = 0
        if self.sink:
            self.sink.set_session(self.session_id, athlete=self.athlete)
        log.info("session %s started (athlete: %s)", self.session_id, self.athlete or "none")

    def _stop_session(self) -> None:
        if self.session_id is None:
            return
        summary, cleared = self.analyzer.end_session(self._now_source())
        if self.burst:
            summary = self._burst_session.summary() if self._burst_session.strides else None
            self._burst_session = SummaryAccumulator()
        self._emit_alerts(cleared)
        if summary is not None and self.sink:
            self.sink.publish_session_summary(
                **summary_fields(summary), passes=self._session_passes
            )
        log.info("session %s stopped", self.session_id)
        self.session_id = None
        if self.sink:
            self.sink.set_session(None, athlete=self.athlete)

    def _select_athlete(self, athlete: str) -> None:
        self._emit_alerts(self.analyzer.select_athlete(athlete, self._now_source()))
        self.athlete = athlete
        if self.sink and self.session_id:
            self.sink.set_session(self.session_id, athlete=athlete)

    # --- outputs ----------------------------------------------------------------------------

    def _emit_alerts(self, alerts) -> None:
        for alert in alerts:
            log.info("alert %s %s", alert.cue_id, "raised" if alert.active else "cleared")
            if self.feedback:
                self.feedback.on_alert(alert)
            if self.sink:
                self.sink.publish_alert(alert)

    def _emit_live(self, reports: list[StrideReport], alerts: list[CueAlert]) -> None:
        for report in reports:
            self.stats.strides += 1
            if self.feedback:
                self.feedback.on_stride(report)
            self._publish_keyframe(report)
            # In burst mode the accurate after-pass analysis is what gets published.
            if self.sink and not self.burst:
                self.sink.publish_stride(report)
        self._emit_alerts(alerts)

    def _publish_keyframe(self, report: StrideReport) -> None:
        """A picture of a warn/fault stride, at most one every 5 s (after the LED, so it
        never delays the runner's feedback)."""
        chosen = self.keyframes.take(report) if self.sink is not None else None
        if chosen is None:
            return
        cue = focus_cue(report)
        try:
            jpeg = render_keyframe(*chosen, report, min_score=self.config.pose.min_keypoint_score)
            self.sink.publish_keyframe(
                jpeg,
                stride_index=report.stride.index,
                cue_id=cue.cue_id if cue else None,
                time_s=report.stride.foot_strike.time,
                verdict=cue.verdict.value if cue else None,
                message=cue.message if cue else "",
            )
        except Exception as exc:  # a picture is never worth stopping the analysis for
            log.warning("keyframe of stride %d not published: %s", report.stride.index, exc)

    # --- capture thread ---------------------------------------------------------------------

    def _capture_loop(self) -> None:
        delay = 1.0
        while not self.stop_event.is_set():
            try:
                source = self.source_factory()
            except TracksideError as exc:
                self._source_failed(f"cannot open source: {exc}")
                delay = self._backoff(delay)
                continue
            with self._source_lock:
                self._source = source
            try:
                if self.pace is None:
                    frames = source.frames()
                else:
                    frames = paced(source.frames(), self.pace, clock=self.clock, sleep=self.sleep)
                for frame in frames:
                    if self.stop_event.is_set():
                        break
                    self.stats.last_frame = self.clock()
                    self._capture_retrying = False
                    self.slot.put(frame)
                    if self.ring is not None:
                        small = (
                            frame.inference_image
                            if frame.inference_image is not None
                            else frame.image
                        )
                        self.ring.append(Frame(small, frame.timestamp, frame.index))
                    delay = 1.0  # frames flow again: next failure starts the backoff afresh
                else:
                    if not source.live:  # a clip ended: the run is over
                        self.source_ended.set()
                        self.slot.close()
                        return
                    self._source_failed("camera stopped delivering frames")
            except Exception as exc:  # a camera glitch must not end the service
                self._source_failed(f"source error: {exc}")
            finally:
                with self._source_lock:
                    self._source = None
                source.close()
            if not self.stop_event.is_set():
                delay = self._backoff(delay)

    def _source_failed(self, reason: str) -> None:
        self._capture_retrying = True
        self.stats.source_failures += 1
        self.state = "degraded"
        log.warning("%s; retrying", reason)
        self.notifier.status(f"degraded: {reason}")

    def _backoff(self, delay: float) -> float:
        self.stop_event.wait(delay)
        return min(delay * 2, self.config.service.source_retry_max)

    # --- analysis (the calling thread) ------------------------------------------------------

    def _analyse(self, frame: Frame) -> None:
        motion = None
        if not self.presence.present:
            image = frame.inference_image if frame.inference_image is not None else frame.image
            motion, self._thumb = motion_level(self._thumb, image)
        if not self.presence.should_infer(frame.timestamp, motion):
            return
        started = time.perf_counter()
        try:
            pose = self.estimator.estimate(frame)
        except Exception as exc:  # one bad frame must not stop the service
            self.stats.inference_errors += 1
            log.warning("inference failed on frame %d: %s", frame.index, exc)
            return
        self.stats.inference_seconds += time.perf_counter() - started
        self.stats.frames_analysed += 1
        self._last_source_time = frame.timestamp
        if self.sink is not None:
            self.keyframes.add(*keyframe_copy(frame, pose))

        change = self.presence.update(frame.timestamp, body_score(pose))
        if change == "entered":
            self._pass_start = frame.timestamp
            self.state = "running"
            log.info("runner in view at %.2f s", frame.timestamp)
        try:
            update = self.analyzer.push(pose)
        except Exception:  # a bug on odd input must not take the service down
            self.stats.analysis_errors += 1
            log.exception(
                "analysis failed at %.3f s; starting the gait analysis afresh", frame.timestamp
            )
            self.analyzer.reset_gait()
            return
        if update:
            self._emit_live(update.reports, update.alerts)
        if change == "left":
            self._end_pass(frame.timestamp)

    def _end_pass(self, t: float) -> None:
        self.stats.passes += 1
        self._session_passes += 1
        self.state = "idle"
        self.estimator.reset_tracking()
        summary = self.analyzer.end_pass()
        log.info(
            "pass %d ended at %.2f s (%d strides)",
            self.stats.passes,
            t,
            summary.strides if summary else 0,
        )
        if self.ring is not None:
            frames, dropped = self.ring.drain()
            self.stats.burst_frames_dropped += dropped
            start = (self._pass_start or t) - 0.5
            frames = [f for f in frames if f.timestamp >= start]
            try:
                self._burst_jobs.put_nowait((self.stats.passes, frames))
            except queue.Full:
                log.warning("burst analysis is behind: pass %d skipped", self.stats.passes)
        elif summary is not None and self.sink:
            self.sink.publish_pass_summary(**summary_fields(summary), pass_index=self.stats.passes)

    # --- burst thread ---------------------------------------------------------------------

    def _burst_loop(self) -> None:
        estimator = self._estimator_factory()
        while True:
            job = self._burst_jobs.get()
            if job is None:
                return
            pass_index, frames = job
            try:
                self._analyse_burst(estimator, pass_index, frames)
            except Exception:
                log.exception("burst analysis of pass %d failed", pass_index)

    def _analyse_burst(self, estimator: PoseStage, pass_index: int, frames: list[Frame]) -> None:
        estimator.reset_tracking()
        poses = [estimator.estimate(f) for f in frames]
        if len(poses) < 10:
            return
        t = np.array([p.timestamp for p in poses])
        keypoints = np.stack([p.keypoints for p in poses])
        judged = judge_poses(t, keypoints, self.config.cues, self.config.athletes)
        accumulator = SummaryAccumulator()
        for report in judged.reports:
            accumulator.add(report)
            self._burst_session.add(report)
            if self.sink:
                self.sink.publish_stride(report)
        log.info(
            "burst: pass %d analysed, %d frames, %d strides",
            pass_index,
            len(frames),
            len(judged.reports),
        )
        if accumulator.strides and self.sink:
            self.sink.publish_pass_summary(
                **summary_fields(accumulator.summary()), pass_index=pass_index
            )

    # --- health thread ----------------------------------------------------------------------

    def _health_loop(self) -> None:
        interval = self.config.service.status_interval
        watchdog = self.notifier.watchdog_interval
        tick = min(interval, watchdog / 2) if watchdog else interval
        next_status = self.clock()
        while not self.stop_event.wait(tick):
            now = self.clock()
            if watchdog and self.healthy(now, watchdog / 2):
                self.notifier.watchdog()
            if now >= next_status:
                self.publish_status()
                next_status = now + interval

    def healthy(self, now: float, within: float) -> bool:
        """Whether to feed the watchdog: the analysis loop is turning, and frames are
        arriving or the capture thread is knowingly retrying a failed camera.  A hung
        interpreter or a camera read that never returns stops the pings, and systemd
        restarts the service."""
        analysing = now - self.stats.last_loop < within
        capturing = now - self.stats.last_frame < within or self._capture_retrying
        return analysing and capturing

    def status_fields(self) -> dict[str, Any]:
        now = self.clock()
        stats = self.stats
        t0, f0, s0 = stats.last_sample or (stats.started, 0, 0.0)
        t1, f1, s1 = stats.last_sample = (now, stats.frames_analysed, stats.inference_seconds)
        frames = f1 - f0
        fps = frames / (t1 - t0) if t1 > t0 else 0.0
        burst_dropped = stats.burst_frames_dropped + (self.ring.dropped if self.ring else 0)
        return {
            "fps": round(fps, 2),
            "inference_ms": round(1000 * (s1 - s0) / frames, 2) if frames else None,
            "dropped_frames": self.slot.dropped + burst_dropped,
            "queue_depth": self._burst_jobs.qsize(),
            "cpu_temp_c": health.cpu_temperature(),
            "throttled": health.throttling(),
            "uptime_s": round(now - stats.started, 1),
        }

    def publish_status(self) -> None:
        fields = self.status_fields()
        self.notifier.status(
            f"{self.state}: {fields['fps']} fps analysed, {fields['dropped_frames']} dropped, "
            f"{self.stats.strides} strides"
        )
        if self.sink:
            try:
                self.sink.publish_status(state=self.state, **fields)
            except Exception as exc:  # status is best effort
                log.warning("cannot publish status: %s", exc)

    # --- life cycle -------------------------------------------------------------------------

    def _start_thread(self, target: Callable[[], None], name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def run(self) -> None:
        """Run until :meth:`stop` (or SIGTERM via the CLI), or until a clip ends."""
        self.stats.started = self.stats.last_loop = self.stats.last_frame = self.clock()
        self._start_session(self.athlete)
        self._start_thread(self._capture_loop, "capture")
        if self.burst:
            self._start_thread(self._burst_loop, "burst")
        self._start_thread(self._health_loop, "health")
        self.state = "idle"
        self.notifier.ready(f"idle: waiting for a runner ({self.config.service.mode} mode)")
        log.info("running in %s mode", self.config.service.mode)
        try:
            while not self.stop_event.is_set():
                self.stats.last_loop = self.clock()
                self._apply_commands()
                frame = self.slot.take(timeout=0.2)
                if frame is None:
                    if self.source_ended.is_set():
                        break
                    continue
                self._analyse(frame)
        finally:
            self._shutdown()

    def _apply_commands(self) -> None:
        while True:
            try:
                command = self._commands.get_nowait()
            except queue.Empty:
                return
            try:
                command()
            except TracksideError as exc:
                log.warning("command failed: %s", exc)

    def stop(self) -> None:
        """Ask :meth:`run` to finish (safe from a signal handler or another thread)."""
        self.stop_event.set()
        self.slot.close()

    def _shutdown(self) -> None:
        self.notifier.stopping("stopping")
        self.stop_event.set()
        self.slot.close()
        if self.presence.present:
            self.presence.present = False
            self._end_pass(self._now_source())
        self.state = "stopping"
        self._apply_commands()
        burst = next((t for t in self._threads if t.name == "burst"), None)
        if burst is not None:
            if self.source_ended.is_set():
                # A clip that ended is analysed to its end before the session closes.
                self._burst_jobs.put(None)
                burst.join()
            else:  # a stop request (SIGTERM) does not wait for pending passes
                self._drop_pending_bursts()
        self._stop_session()
        with self._source_lock:
            if self._source is not None:
                self._source.close()  # unblocks a capture thread waiting on the camera
        deadline = self.clock() + 1.5  # systemd expects us gone within TimeoutStopSec
        for thread in self._threads:
            thread.join(timeout=max(0.05, deadline - self.clock()))
        self.publish_status()

    def _drop_pending_bursts(self) -> None:
        while True:
            try:
                job = self._burst_jobs.get_nowait()
            except queue.Empty:
                break
            if job is not None:
                log.warning("stopping: pass %d not analysed (%d frames)", job[0], len(job[1]))
        self._burst_jobs.put(None)
