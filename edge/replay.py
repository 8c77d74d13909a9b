"""Replay: run a recorded clip (or any frame source) through the pose stage.

Decoding runs in a background thread while the interpreter runs in the caller's thread, so
on a multi-core machine the end-to-end rate approaches the pure inference rate: OpenCV's
decoder and the TFLite interpreter both release the GIL.  Crop tracking makes each frame's
model input depend on the previous pose, so only decoding (not preprocessing) is prefetched.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from edge.capture.base import FrameSource
from edge.types import Frame, Pose


class PoseStage(Protocol):
    def estimate(self, frame: Frame) -> Pose: ...


_END = object()


def prefetch_frames(source: FrameSource, depth: int = 4) -> Iterator[Frame]:
    """Yield ``source``'s frames, decoded up to ``depth`` frames ahead in a thread.

    An exception raised by the source is re-raised in the consumer, after the frames
    decoded before it.  Stopping early (``close()`` on this generator) stops the thread.
    """
    buffer: queue.Queue[object] = queue.Queue(maxsize=max(1, depth))
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                buffer.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def decode() -> None:
        try:
            for frame in source.frames():
                if not put(frame):
                    return
            put(_END)
        except BaseException as exc:  # handed to the consumer thread
            put(exc)

    worker = threading.Thread(target=decode, name=f"decode:{source.name}", daemon=True)
    worker.start()
    try:
        while True:
            item = buffer.get()
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        worker.join(timeout=2.0)


def iter_poses(
    source: FrameSource, estimator: PoseStage, *, prefetch: int = 4
) -> Iterator[tuple[Frame, Pose]]:
    """Run every frame of ``source`` through ``estimator``."""
    for frame in prefetch_frames(source, prefetch):
        yield frame, estimator.estimate(frame)


@dataclass
class ReplayStats:
    """Running totals for the replay summary."""

    min_score: float = 0.3
    frames: int = 0
    first_timestamp: float | None = None
    last_timestamp: float | None = None
    score_sum: float = 0.0
    visible_sum: int = 0
    cropped_frames: int = 0
    per_keypoint_visible: np.ndarray = field(default_factory=lambda: np.zeros(17, np.int64))

    def add(self, pose: Pose) -> None:
        if self.first_timestamp is None:
            self.first_timestamp = pose.timestamp
        self.last_timestamp = pose.timestamp
        self.frames += 1
        self.score_sum += pose.mean_score
        visible = pose.visible(self.min_score)
        self.visible_sum += int(visible.sum())
        self.per_keypoint_visible += visible
        self.cropped_frames += pose.crop is not None

    @property
    def mean_score(self) -> float:
        return self.score_sum / self.frames if self.frames else float("nan")

    @property
    def visible_rate(self) -> float:
        return self.visible_sum / (17 * self.frames) if self.frames else float("nan")

    @property
    def clip_seconds(self) -> float:
        if self.first_timestamp is None or self.last_timestamp is None:
            return 0.0
        return self.last_timestamp - self.first_timestamp
