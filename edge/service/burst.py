"""Burst mode: keep every frame of a pass, and analyse them all once the pass is over.

On a slow CPU live analysis sees only some frames, so gait timing is as coarse as the
analysed frame rate.  In burst mode the capture thread also keeps every frame's small
inference image in a bounded :class:`~edge.service.buffers.FrameRing`; when the runner
leaves, the **burst** thread runs the model on all of them with its own estimator and the
batch gait engine, and publishes *those* strides and pass summaries (live strides then only
drive the LEDs).  The session summary is made of the burst strides too.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable

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
QUEUED_PASSES = 2  # passes waiting beyond this are skipped, not queued without bound


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
        self.ring = FrameRing(int(config.service.burst_max_megabytes * 1e6))
        self._jobs: queue.Queue[tuple[int, list[Frame]] | None] = queue.Queue(QUEUED_PASSES)
        self._session = SummaryAccumulator()
        self._session_lock = threading.Lock()  # the burst thread adds, the analysis thread takes

    # --- capture thread ----------------------------------------------------------------------

    def buffer(self, frame: Frame) -> None:
        """Keep the frame's small inference image (the main image when there is none)."""
        small = frame.inference_image if frame.inference_image is not None else frame.image
        self.ring.append(Frame(small, frame.timestamp, frame.index))

    # --- analysis thread ---------------------------------------------------------------------

    def pass_ended(self, pass_index: int, pass_start: float) -> None:
        """Queue the buffered frames of the pass that started at source time ``pass_start``."""
        frames, dropped = self.ring.drain()
        self.stats.burst_frames_dropped += dropped
        frames = [f for f in frames if f.timestamp >= pass_start - PASS_LEAD_IN_S]
        try:
            self._jobs.put_nowait((pass_index, frames))
        except queue.Full:
            log.warning("burst analysis is behind: pass %d skipped", pass_index)

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

    def finish(self, thread: threading.Thread, *, wait: bool) -> None:
        """End the burst thread: after the queued passes (``wait``), or dropping them."""
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
                log.warning("stopping: pass %d not analysed (%d frames)", job[0], len(job[1]))
        self._jobs.put(None)

    # --- burst thread ------------------------------------------------------------------------

    def run(self) -> None:
        estimator = self.estimator_factory()
        while True:
            job = self._jobs.get()
            if job is None:
                return
            pass_index, frames = job
            try:
                self._analyse(estimator, pass_index, frames)
            except Exception:
                log.exception("burst analysis of pass %d failed", pass_index)

    def _analyse(self, estimator: PoseStage, pass_index: int, frames: list[Frame]) -> None:
        estimator.reset_tracking()
        poses = [estimator.estimate(f) for f in frames]
        if len(poses) < MIN_POSES:
            return
        t = np.array([p.timestamp for p in poses])
        keypoints = np.stack([p.keypoints for p in poses])
        judged = judge_poses(t, keypoints, self.config.cues, self.config.athletes)
        accumulator = SummaryAccumulator()
        for report in judged.reports:
            accumulator.add(report)
            with self._session_lock:
                self._session.add(report)
            self.results.publish_stride(report)
        log.info(
            "burst: pass %d analysed, %d frames, %d strides",
            pass_index,
            len(frames),
            len(judged.reports),
        )
        if accumulator.strides:
            self.results.publish_pass_summary(accumulator.summary(), pass_index=pass_index)
