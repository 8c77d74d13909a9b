"""The capture thread: open the source, hand its frames off, reopen it when it fails.

Frames go into the one-slot :class:`~edge.service.buffers.LatestFrame` (the camera never
waits; a frame overwritten before the analysis took it is counted as dropped), and to an
optional ``on_frame`` hook (burst mode buffers every frame there).  A source that fails to
open or stops delivering is reopened with exponential backoff, up to
``service.source_retry_max``; a clip that ends ends the run.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator

from edge.capture.base import FrameSource
from edge.capture.pacing import paced
from edge.errors import TracksideError
from edge.service.buffers import LatestFrame
from edge.service.notify import SystemdNotifier
from edge.service.status import Stats
from edge.types import Frame

log = logging.getLogger(__name__)

FIRST_RETRY_S = 1.0  # then 2, 4, 8 … s up to service.source_retry_max


class CaptureSupervisor:
    """Runs the source in :meth:`run` (the capture thread) until ``stop_event`` or a clip ends.

    ``source_factory`` opens the source (called again after each failure).  ``pace`` replays
    a clip as if it were a camera, at that speed (1.0: real time); ``None`` hands over every
    frame as fast as the analysis takes them.
    """

    def __init__(
        self,
        source_factory: Callable[[], FrameSource],
        slot: LatestFrame,
        stats: Stats,
        notifier: SystemdNotifier,
        *,
        retry_max: float,
        stop_event: threading.Event,
        on_frame: Callable[[Frame], None] | None = None,
        pace: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.source_factory = source_factory
        self.slot = slot
        self.stats = stats
        self.notifier = notifier
        self.retry_max = retry_max
        self.stop_event = stop_event
        self.on_frame = on_frame
        self.pace = pace
        self.clock = clock
        self.sleep = sleep
        self.source_ended = threading.Event()
        self.retrying = False  # knowingly waiting to reopen a failed source
        self._source: FrameSource | None = None
        self._source_lock = threading.Lock()

    def run(self) -> None:
        delay = FIRST_RETRY_S
        while not self.stop_event.is_set():
            try:
                source = self.source_factory()
            except TracksideError as exc:
                self._failed(f"cannot open source: {exc}")
                delay = self._backoff(delay)
                continue
            with self._source_lock:
                self._source = source
            try:
                for frame in self._frames(source):
                    if self.stop_event.is_set():
                        break
                    self._deliver(frame)
                    delay = FIRST_RETRY_S  # frames flow again: next failure starts afresh
                else:
                    if not source.live:  # a clip ended: the run is over
                        self.source_ended.set()
                        self.slot.close()
                        return
                    self._failed("camera stopped delivering frames")
            except Exception as exc:  # a camera glitch must not end the service
                self._failed(f"source error: {exc}")
            finally:
                with self._source_lock:
                    self._source = None
                source.close()
            if not self.stop_event.is_set():
                delay = self._backoff(delay)

    def _frames(self, source: FrameSource) -> Iterator[Frame]:
        if self.pace is None:
            return source.frames()
        return paced(source.frames(), self.pace, clock=self.clock, sleep=self.sleep)

    def _deliver(self, frame: Frame) -> None:
        self.stats.last_frame = self.clock()
        self.retrying = False
        self.slot.put(frame)
        if self.on_frame is not None:
            self.on_frame(frame)

    def close_source(self) -> None:
        """Close the open source: unblocks a capture thread waiting on the camera."""
        with self._source_lock:
            if self._source is not None:
                self._source.close()

    def _failed(self, reason: str) -> None:
        self.retrying = True
        self.stats.source_failures += 1
        self.stats.state = "degraded"
        log.warning("%s; retrying", reason)
        self.notifier.status(f"degraded: {reason}")

    def _backoff(self, delay: float) -> float:
        self.stop_event.wait(delay)
        return min(delay * 2, self.retry_max)
