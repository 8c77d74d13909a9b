"""Frame hand-off between the capture thread and the analysis thread.

Live mode uses :class:`LatestFrame`: the camera never waits, and inference always takes the
newest frame; every frame overwritten before it was taken is counted as dropped.
Burst mode also fills a :class:`FrameRing` while a runner is in view, so that *every* frame
of the pass can be analysed afterwards, within a fixed memory budget.  With in-between
tracking the capture thread also keeps the last few frames in :class:`RecentFrames`, so
the analysis thread can track the ones that arrived while the model was busy.
"""

from __future__ import annotations

import threading
from collections import deque

from edge.types import Frame


class LatestFrame:
    """A one-slot mailbox where a new frame replaces an untaken one.

    With ``lossless=True`` (replaying a file as fast as possible) :meth:`put` waits for the
    slot to be taken instead, so every frame of the clip is analysed.
    """

    def __init__(self, *, lossless: bool = False) -> None:
        self.lossless = lossless
        self._frame: Frame | None = None
        self._closed = False
        self._cond = threading.Condition()
        self.put_count = 0
        self.dropped = 0

    def put(self, frame: Frame) -> None:
        """Never blocks, unless lossless: the camera thread must not wait for the analysis."""
        with self._cond:
            while self.lossless and self._frame is not None and not self._closed:
                self._cond.wait()
            if self._frame is not None:
                self.dropped += 1
            self._frame = frame
            self.put_count += 1
            self._cond.notify()

    def take(self, timeout: float | None = None) -> Frame | None:
        """The newest frame, waiting up to ``timeout``; ``None`` on timeout or when closed."""
        with self._cond:
            if self._frame is None and not self._closed:
                self._cond.wait(timeout)
            frame, self._frame = self._frame, None
            self._cond.notify_all()  # a lossless put may be waiting for the slot
            return frame

    def close(self) -> None:
        """Wake any waiting :meth:`take` (used on shutdown)."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()


def frame_nbytes(frame: Frame) -> int:
    """Bytes a buffered frame holds (the inference image when there is one, plus the main)."""
    size = frame.image.nbytes
    if frame.inference_image is not None:
        size += frame.inference_image.nbytes
    return size


class FrameRing:
    """The frames of one pass, oldest dropped first once ``max_bytes`` is reached.

    The budget is in bytes rather than frames because frame size depends on the camera
    settings; ``dropped`` counts frames lost to it, so a pass that outgrew the buffer is
    reported instead of silently analysed from its second half.
    """

    def __init__(self, max_bytes: int):
        if max_bytes <= 0:
            raise ValueError("max_bytes must be positive")
        self.max_bytes = max_bytes
        self._frames: deque[Frame] = deque()
        self._lock = threading.Lock()
        self.nbytes = 0
        self.dropped = 0

    def append(self, frame: Frame) -> None:
        size = frame_nbytes(frame)
        with self._lock:
            self._frames.append(frame)
            self.nbytes += size
            while self.nbytes > self.max_bytes and len(self._frames) > 1:
                self.nbytes -= frame_nbytes(self._frames.popleft())
                self.dropped += 1

    def __len__(self) -> int:
        return len(self._frames)

    def drain(self) -> tuple[list[Frame], int]:
        """Take every buffered frame (oldest first) and how many were dropped; empty the ring."""
        with self._lock:
            frames, dropped = list(self._frames), self.dropped
            self._frames.clear()
            self.nbytes = 0
            self.dropped = 0
            return frames, dropped


class RecentFrames:
    """The newest ``capacity`` frames (the capture thread adds, the analysis thread takes).

    Frames pushed out unseen are counted in ``dropped``: they were neither inferred nor
    tracked.  ``capacity`` 8 holds 130 ms at 60 fps, more than one Pi 4 inference (~95 ms).
    """

    def __init__(self, capacity: int = 8) -> None:
        self._frames: deque[Frame] = deque()
        self.capacity = capacity
        self._lock = threading.Lock()
        self.dropped = 0

    def append(self, frame: Frame) -> None:
        with self._lock:
            self._frames.append(frame)
            if len(self._frames) > self.capacity:
                self._frames.popleft()
                self.dropped += 1

    def take_before(self, timestamp: float) -> list[Frame]:
        """The kept frames older than ``timestamp`` (in time order); they are forgotten,
        and so is the frame at ``timestamp`` itself (the model is about to see it)."""
        with self._lock:
            before = []
            while self._frames and self._frames[0].timestamp <= timestamp:
                frame = self._frames.popleft()
                if frame.timestamp < timestamp:
                    before.append(frame)
            return before
