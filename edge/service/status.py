"""The daemon's health: its counters, the systemd watchdog, and the periodic status.

The **health** thread pings the watchdog only while the analysis loop makes progress, and
every ``service.status_interval`` seconds sends the status: MQTT ``…/status`` through the
result sinks, and the ``STATUS=`` line of ``systemctl status``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from edge.outputs.mqtt.payloads import DeviceStatus
from edge.service import health
from edge.service.notify import SystemdNotifier
from edge.service.sinks import FanOut


@dataclass
class Stats:
    """What the status reports: written by the capture, analysis and burst threads (plain
    assignments and ``+=`` of counters only one thread writes), read by the health thread."""

    state: str = "starting"  # one of edge.outputs.mqtt.payloads.STATUS_STATES
    started: float = 0.0
    frames_analysed: int = 0
    inference_seconds: float = 0.0
    inference_errors: int = 0
    analysis_errors: int = 0
    strides: int = 0
    passes: int = 0
    source_failures: int = 0
    burst_frames_dropped: int = 0
    frames_tracked: int = 0  # in-between frames carried by optical flow (not inferred)
    tracking_seconds: float = 0.0
    last_loop: float = 0.0  # the analysis loop last went round (frame or timeout)
    last_frame: float = 0.0  # the camera last delivered a frame
    # (time, frames analysed, inference seconds) at the previous status: rates are per interval
    last_sample: tuple[float, int, float] | None = None


@dataclass(frozen=True)
class Backlog:
    """Frames lost or waiting outside the analysis loop's own count (see :class:`Stats`)."""

    dropped_frames: Callable[[], int]
    queue_depth: Callable[[], int]
    problems: Callable[[], list[str]] = list  # e.g. the burst analysis cannot keep up


class HealthMonitor:
    """The health thread (:meth:`run`) and the status it sends.

    ``capture_retrying`` says whether the capture thread is knowingly waiting to reopen a
    failed camera; ``backlog`` counts the frames dropped before analysis and the passes
    waiting for the burst worker.
    """

    def __init__(
        self,
        stats: Stats,
        results: FanOut,
        notifier: SystemdNotifier,
        *,
        interval: float,
        capture_retrying: Callable[[], bool],
        backlog: Backlog,
        stop_event: threading.Event,
        clock: Callable[[], float],
    ) -> None:
        self.stats = stats
        self.results = results
        self.notifier = notifier
        self.interval = interval
        self.capture_retrying = capture_retrying
        self.backlog = backlog
        self.stop_event = stop_event
        self.clock = clock

    def run(self) -> None:
        watchdog = self.notifier.watchdog_interval
        tick = min(self.interval, watchdog / 2) if watchdog else self.interval
        next_status = self.clock()
        while not self.stop_event.wait(tick):
            now = self.clock()
            if watchdog and self.healthy(now, watchdog / 2):
                self.notifier.watchdog()
            if now >= next_status:
                self.publish()
                next_status = now + self.interval

    def healthy(self, now: float, within: float) -> bool:
        """Whether to feed the watchdog: the analysis loop is turning, and frames are
        arriving or the capture thread is knowingly retrying a failed camera.  A hung
        interpreter or a camera read that never returns stops the pings, and systemd
        restarts the service."""
        analysing = now - self.stats.last_loop < within
        capturing = now - self.stats.last_frame < within or self.capture_retrying()
        return analysing and capturing

    def status(self) -> DeviceStatus:
        """The status now; rates are over the time since the previous one."""
        now = self.clock()
        stats = self.stats
        t0, f0, s0 = stats.last_sample or (stats.started, 0, 0.0)
        t1, f1, s1 = stats.last_sample = (now, stats.frames_analysed, stats.inference_seconds)
        frames = f1 - f0
        throttling = health.throttling()
        problems = tuple(self.results.problems()) + tuple(self.backlog.problems())
        state = stats.state
        if problems and state in ("idle", "running"):
            state = "degraded"
        return DeviceStatus(
            state=state,
            fps=round(frames / (t1 - t0), 2) if t1 > t0 else 0.0,
            inference_ms=round(1000 * (s1 - s0) / frames, 2) if frames else None,
            dropped_frames=self.backlog.dropped_frames(),
            queue_depth=self.backlog.queue_depth(),
            cpu_temp_c=health.cpu_temperature(),
            throttled=None if throttling is None else bool(throttling),
            uptime_s=round(now - stats.started, 1),
            detail=self._detail(throttling, problems),
            degraded=problems,
        )

    def _detail(self, throttling: list[str] | None, problems: tuple[str, ...]) -> str:
        parts = list(problems)
        if throttling:
            parts.append("throttling: " + ", ".join(throttling))
        failures = self.results.failures()
        if failures:
            counts = ", ".join(f"{name} {n}" for name, n in failures.items())
            parts.append(f"result sink failures: {counts}")
        return "; ".join(parts)

    def publish(self) -> None:
        status = self.status()
        line = (
            f"{status.state}: {status.fps} fps analysed, {status.dropped_frames} dropped, "
            f"{self.stats.strides} strides"
        )
        self.notifier.status(f"{line}; {status.detail}" if status.detail else line)
        self.results.publish_status(status)
