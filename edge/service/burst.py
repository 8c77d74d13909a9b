"""Burst mode: keep every frame, and analyse them all at full rate in rolling windows.

On a slow CPU live analysis sees only some frames, so gait timing is as coarse as the
analysed frame rate.  In burst mode the capture thread also keeps every frame's small
inference image in a bounded :class:`~edge.service.buffers.FrameRing`; the **burst**
thread runs the model on all of them with its own estimator and the batch gait engine, and
publishes *those* strides and pass summaries (live strides then only drive the LEDs).  The
session summary is made of the burst strides too.

A pass is analysed in **rolling windows** so that a runner who never leaves (a treadmill)
still gets accurate strides continuously: every ``burst_window`` seconds of a pass the
frames since the last window, plus ``burst_overlap`` seconds before them, become one job.
Each window publishes the strides that start in its own span (from the previous window's
end − overlap/2 to its end − overlap/2), so a stride is published once, by a window that
saw at least overlap/2 of lead-in before it and after it; the pass's end publishes the rest.
A stride is thus published at most about ``burst_window + burst_overlap/2`` seconds (plus
the analysis time) after it ends.  When the burst thread falls behind (the queue is full)
no frame is thrown away here: they stay in the ring until the next window, the ring's
memory budget drops (and counts) the oldest, and the status says the analysis is behind.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from edge.analysis import judge_poses
from edge.config import Config
from edge.cues.summary import Summary, SummaryAccumulator
from edge.service.analysis import PoseStage
from edge.service.buffers import FrameRing
from edge.service.sinks import FanOut
from edge.service.status import Stats
from edge.types import Frame

log = logging.getLogger(__name__)

PASS_LEAD_IN_S = 0.5  # frames this long before the pass was noticed hold its first strides
MIN_POSES = 10  # a third of a second at 30 fps, shorter than one stride (~0.7 s): no stride
QUEUED_WINDOWS = 2  # windows waiting beyond this: the frames wait in the ring instead


@dataclass(frozen=True)
class BurstWindow:
    """One job of the burst thread: frames, and the span whose strides it publishes."""

    pass_index: int
    frames: list[Frame]
    publish_from: float  # source time: strides whose foot strike is in [from, until)
    publish_until: float
    last: bool  # the pass ended with this window: publish its summary


class BurstWorker:
    """The frame buffer (filled by the capture thread), and the burst thread's :meth:`run`."""

    def __init__(
        self,
        config: Config,
        estimator_factory: Callable[[], PoseStage],
        results: FanOut,
        stats: Stats,
    ) -> None:
        self.config = config
        self.estimator_factory = estimator_factory
        self.results = results
        self.stats = stats
        self.window = config.service.burst_window
        self.overlap = config.service.burst_overlap
        self.ring = FrameRing(int(config.service.burst_max_megabytes * 1e6))
        self._jobs: queue.Queue[BurstWindow | None] = queue.Queue(QUEUED_WINDOWS)
        self._session = SummaryAccumulator()
        self._session_lock = threading.Lock()  # the burst thread adds, the analysis thread takes
        # analysis thread: the pass's windows so far
        self._carry: list[Frame] = []  # the overlap kept for the next window
        self._window_start: float | None = None
        self._publish_from = -math.inf
        self.newest_frame = -math.inf  # source time of the newest frame handed out or seen
        self.behind_since: float | None = None  # source time the queue was first found full
        # burst thread
        self._pass_summaries: dict[int, SummaryAccumulator] = {}
        self._pass_strides: dict[int, int] = {}
        self.analysed_until = -math.inf  # source time up to which strides were published

    # --- capture thread ----------------------------------------------------------------------

    def buffer(self, frame: Frame) -> None:
        """Keep the frame's small inference image (the main image when there is none)."""
        small = frame.inference_image if frame.inference_image is not None else frame.image
        self.ring.append(Frame(small, frame.timestamp, frame.index))

    # --- analysis thread ---------------------------------------------------------------------

    def pass_progress(self, pass_index: int, pass_start: float, now: float) -> None:
        """The runner is still in view at source time ``now``: hand out a window when due."""
        self.newest_frame = max(self.newest_frame, now)
        if self._window_start is None:
            self._window_start = pass_start
        if now - self._window_start < self.window:
            return
        if self._jobs.full():  # behind: the frames wait in the ring (its budget counts losses)
            if self.behind_since is None:
                self.behind_since = now
                log.warning("burst analysis cannot keep up at %.1f s: windows wait", now)
            return
        self.behind_since = None
        frames = self._collect(pass_start)
        until = now - self.overlap / 2
        self._jobs.put_nowait(BurstWindow(pass_index, frames, self._publish_from, until, False))
        self._publish_from = until
        self._carry = [f for f in frames if f.timestamp >= now - self.overlap]
        self._window_start = now

    def pass_ended(self, pass_index: int, pass_start: float) -> None:
        """Queue the rest of the pass that started at source time ``pass_start``."""
        frames = self._collect(pass_start)
        job = BurstWindow(pass_index, frames, self._publish_from, math.inf, True)
        self._carry, self._window_start, self._publish_from = [], None, -math.inf
        try:
            self._jobs.put_nowait(job)
        except queue.Full:
            self.stats.burst_frames_dropped += len(frames)
            log.warning(
                "burst analysis is behind: the end of pass %d (%d frames) is not analysed",
                pass_index,
                len(frames),
            )

    def _collect(self, pass_start: float) -> list[Frame]:
        frames, dropped = self.ring.drain()
        self.stats.burst_frames_dropped += dropped
        if frames:
            self.newest_frame = max(self.newest_frame, frames[-1].timestamp)
        carried = self._carry[-1].timestamp if self._carry else -math.inf
        frames = self._carry + [f for f in frames if f.timestamp > carried]
        return [f for f in frames if f.timestamp >= pass_start - PASS_LEAD_IN_S]

    def take_session_summary(self) -> Summary | None:
        """The summary of the burst strides since the last call (``None``: no stride)."""
        with self._session_lock:
            session, self._session = self._session, SummaryAccumulator()
        return session.summary() if session.strides else None

    @property
    def dropped_frames(self) -> int:
        """Frames lost to the buffer's memory budget, in this pass and the ones before."""
        return self.stats.burst_frames_dropped + self.ring.dropped

    @property
    def queue_depth(self) -> int:
        return self._jobs.qsize()

    def problems(self) -> list[str]:
        """The status line when the burst thread cannot keep up with the camera."""
        if self.behind_since is None:
            return []
        lag = self.newest_frame - max(self.analysed_until, self.behind_since - self.window)
        return [
            f"burst analysis cannot keep up: about {lag:.0f} s behind the camera; "
            "the strides analysed so far are published"
        ]

    def finish(self, thread: threading.Thread, *, wait: bool) -> None:
        """End the burst thread: after the queued windows (``wait``), or dropping them."""
        if wait:
            self._jobs.put(None)
            thread.join()
            return
        while True:
            try:
                job = self._jobs.get_nowait()
            except queue.Empty:
                break
            if job is not None:
                log.warning(
                    "stopping: pass %d window not analysed (%d frames)",
                    job.pass_index,
                    len(job.frames),
                )
        self._jobs.put(None)

    # --- burst thread ------------------------------------------------------------------------

    def run(self) -> None:
        estimator = self.estimator_factory()
        while True:
            job = self._jobs.get()
            if job is None:
                return
            try:
                self._analyse(estimator, job)
            except Exception:
                log.exception("burst analysis of pass %d failed", job.pass_index)

    def _analyse(self, estimator: PoseStage, job: BurstWindow) -> None:
        estimator.reset_tracking()
        poses = [estimator.estimate(f) for f in job.frames]
        published = 0
        if len(poses) >= MIN_POSES:
            t = np.array([p.timestamp for p in poses])
            keypoints = np.stack([p.keypoints for p in poses])
            judged = judge_poses(t, keypoints, self.config.cues, self.config.athletes)
            summary = self._pass_summaries.setdefault(job.pass_index, SummaryAccumulator())
            for report in judged.reports:
                if not job.publish_from <= report.stride.foot_strike.time < job.publish_until:
                    continue  # the window before or after publishes it
                index = self._pass_strides.get(job.pass_index, 0)
                self._pass_strides[job.pass_index] = index + 1
                stride = dataclasses.replace(report.stride, index=index)
                report = dataclasses.replace(report, stride=stride)
                summary.add(report)
                with self._session_lock:
                    self._session.add(report)
                self.results.publish_stride(report)
                published += 1
            if job.frames:
                self.analysed_until = job.frames[-1].timestamp
        log.info(
            "burst: pass %d window analysed, %d frames, %d strides",
            job.pass_index,
            len(job.frames),
            published,
        )
        if job.last:
            summary = self._pass_summaries.pop(job.pass_index, SummaryAccumulator())
            self._pass_strides.pop(job.pass_index, None)
            if summary.strides:
                self.results.publish_pass_summary(summary.summary(), pass_index=job.pass_index)
