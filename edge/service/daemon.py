"""The live daemon: camera → pose → gait → cues → MQTT and LEDs, all day beside a track.

Threads, each one module's job:

* **capture** (:mod:`edge.service.capture`) reads the source and drops each frame into a
  one-slot :class:`~edge.service.buffers.LatestFrame`; a source that fails is reopened
  with backoff.
* **analysis** (the thread that calls :meth:`Daemon.run`) applies queued commands
  (:mod:`edge.service.sessions`), takes the newest frame and analyses it
  (:mod:`edge.service.analysis`, keyframes in :mod:`edge.service.keyframes`); results go
  to every result sink through one :class:`~edge.service.sinks.FanOut`, which never blocks
  or raises into it.
* **burst** (burst mode only, :mod:`edge.service.burst`) analyses every buffered frame of a
  pass after it ended and publishes those results.
* **health** (:mod:`edge.service.status`) feeds the watchdog while the analysis makes
  progress, and sends the periodic status.

MQTT commands arrive on paho's network thread; their handlers only validate and queue, and
the analysis thread applies them between frames, so no lock guards the analysis state.
:func:`edge.service.assembly.build_daemon` builds a daemon from the configuration.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping

from edge.analysis import RunAnalyzer
from edge.capture.base import FrameSource
from edge.config import Config
from edge.outputs.pass_clips import PassClipRecorder
from edge.service.analysis import FrameAnalysis, PoseStage
from edge.service.buffers import LatestFrame, RecentFrames
from edge.service.burst import BurstWorker
from edge.service.capture import CaptureSupervisor
from edge.service.clips import SessionClips
from edge.service.notify import SystemdNotifier
from edge.service.sessions import SessionControl
from edge.service.sinks import FanOut, Feedback, Outputs, ResultSink
from edge.service.status import Backlog, HealthMonitor, Stats
from edge.types import Frame

log = logging.getLogger(__name__)

FRAME_WAIT_S = 0.2  # the analysis loop goes round at least this often without frames
STOP_WITHIN_S = 1.5  # threads get this long to finish: systemd expects us gone soon after


class Daemon:
    """Builds the parts and runs their threads; see the module docstring.

    ``source_factory`` opens the frame source (called again after a failure);
    ``estimator_factory`` makes a pose estimator (called once for live analysis and, in burst
    mode, once more for the burst worker).  ``sinks`` are the named result sinks (may be
    empty), ``feedback`` the runner's LEDs (may be ``None``).  ``pace`` replays a clip as if
    it were a camera, at that speed (1.0: real time); ``None`` analyses every frame of it as
    fast as possible.
    """

    def __init__(
        self,
        config: Config,
        *,
        source_factory: Callable[[], FrameSource],
        estimator_factory: Callable[[], PoseStage],
        sinks: Mapping[str, ResultSink] | None = None,
        feedback: Feedback | None = None,
        notifier: SystemdNotifier | None = None,
        pace: float | None = None,
        clips: PassClipRecorder | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.config = config
        self.clock = clock
        self.notifier = notifier or SystemdNotifier()
        self.stats = Stats()
        self.stop_event = threading.Event()
        self.results = FanOut(sinks)
        outputs = Outputs(self.results, feedback)
        analyzer = RunAnalyzer(config.cues, config.athletes)
        self.burst = (
            BurstWorker(config, estimator_factory, self.results, self.stats)
            if config.service.mode == "burst"
            else None
        )
        # A clip replayed as fast as possible loses no frame; a camera (or a clip paced like
        # one) always hands the analysis its newest frame.
        self.slot = LatestFrame(lossless=pace is None)
        self.recent = RecentFrames() if config.pose.inbetween else None
        self.capture = CaptureSupervisor(
            source_factory,
            self.slot,
            self.stats,
            self.notifier,
            retry_max=config.service.source_retry_max,
            stop_event=self.stop_event,
            on_frame=self._on_frame if (self.burst or self.recent) else None,
            pace=pace,
            clock=clock,
            sleep=sleep,
        )
        self.analysis = FrameAnalysis(
            config,
            estimator_factory(),
            analyzer,
            outputs,
            self.stats,
            on_pass_end=self.burst.pass_ended if self.burst else None,
            judging=lambda: self.sessions.judging,
            on_pass_progress=self.burst.pass_progress if self.burst else None,
            recent=self.recent,
        )
        self.sessions = SessionControl(
            config,
            analyzer,
            outputs,
            self.stats,
            now=lambda: self.analysis.source_time,
            session_summary=self.burst.take_session_summary if self.burst else None,
        )
        if clips is not None:
            self.analysis.clips = SessionClips(
                clips, lambda: (self.sessions.session_id, self.sessions.athlete)
            )
        self.health = HealthMonitor(
            self.stats,
            self.results,
            self.notifier,
            interval=config.service.status_interval,
            capture_retrying=lambda: self.capture.retrying,
            backlog=Backlog(
                # Frames the slot overwrote were lost unless in-between tracking carried them.
                dropped_frames=lambda: (
                    max(0, self.slot.dropped - self.stats.frames_tracked)
                    + (self.burst.dropped_frames if self.burst else 0)
                ),
                queue_depth=lambda: self.burst.queue_depth if self.burst else 0,
                problems=lambda: (
                    (self.burst.problems() if self.burst else [])
                    + (clips.problems() if clips else [])
                ),
            ),
            stop_event=self.stop_event,
            clock=clock,
        )
        self._threads: dict[str, threading.Thread] = {}

    def _on_frame(self, frame: Frame) -> None:
        """The capture thread's copy of every frame: burst buffer, in-between tracking."""
        if self.burst:
            self.burst.buffer(frame)
        if self.recent is not None:
            self.recent.append(frame)

    def _start_thread(self, target: Callable[[], None], name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads[name] = thread

    def run(self) -> None:
        """Run until :meth:`stop` (or SIGTERM via the CLI), or until a clip ends."""
        self.stats.started = self.stats.last_loop = self.stats.last_frame = self.clock()
        self.sessions.start_automatically()
        self._start_thread(self.capture.run, "capture")
        if self.burst:
            self._start_thread(self.burst.run, "burst")
        self._start_thread(self.health.run, "health")
        self.stats.state = "idle"
        mode = self.config.service.mode
        self.notifier.ready(f"idle: waiting for a runner ({mode} mode)")
        log.info("running in %s mode", mode)
        try:
            while not self.stop_event.is_set():
                self.stats.last_loop = self.clock()
                self.sessions.apply_commands()
                frame = self.slot.take(timeout=FRAME_WAIT_S)
                if frame is None:
                    if self.capture.source_ended.is_set():
                        break
                    continue
                self.analysis.analyse(frame)
        finally:
            self._shutdown()

    def stop(self) -> None:
        """Ask :meth:`run` to finish (safe from a signal handler or another thread)."""
        self.stop_event.set()
        self.slot.close()

    def _shutdown(self) -> None:
        self.notifier.stopping("stopping")
        self.stop()
        self.analysis.close_pass()
        self.stats.state = "stopping"
        self.sessions.apply_commands()
        burst_thread = self._threads.get("burst")
        if self.burst and burst_thread is not None:
            # A clip that ended is analysed to its end before the session closes; a stop
            # request (SIGTERM) does not wait for pending passes.
            self.burst.finish(burst_thread, wait=self.capture.source_ended.is_set())
        self.sessions.stop()
        self.capture.close_source()
        deadline = self.clock() + STOP_WITHIN_S
        for thread in self._threads.values():
            thread.join(timeout=max(0.05, deadline - self.clock()))
        self.health.publish()
