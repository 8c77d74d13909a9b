"""Replay a recorded source at the speed it was captured, as if it were live.

The frames' own timestamps say when each one is due; :func:`paced` waits until then::

    from edge.capture import open_source, paced

    with open_source("clip.mp4") as source:
        for frame in paced(source, speed=1.0):
            ...  # arrives no earlier than frame.timestamp after the first frame

The clock here is only for *pacing*: frame timestamps are never changed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator

from edge.capture.base import FrameSource
from edge.types import Frame


def paced(
    source: FrameSource | Iterable[Frame],
    speed: float = 1.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[Frame]:
    """Yield the source's frames, each no earlier than its timestamp (÷ ``speed``).

    Time counts from the moment the first frame arrives.  A consumer that falls behind is
    not caught up by dropping frames: late frames are yielded at once, in order (dropping
    is the caller's policy).  ``speed=2`` plays twice as fast.
    """
    if not speed > 0:
        raise ValueError(f"speed must be positive, got {speed!r}")
    frames = source.frames() if isinstance(source, FrameSource) else iter(source)
    start_clock: float | None = None
    start_time = 0.0
    for frame in frames:
        if start_clock is None:
            start_clock, start_time = clock(), frame.timestamp
        else:
            delay = start_clock + (frame.timestamp - start_time) / speed - clock()
            if delay > 0:
                sleep(delay)
        yield frame


class LoopedSource:
    """A recorded source played over and over as one endless stream (soak tests, demos).

    Each repetition continues the timeline ``gap`` seconds after the previous one ended, so
    timestamps keep increasing and the gait engine sees a runner leave and come back.
    """

    live = True  # it never ends by itself
    frame_count: int | None = None  # live: no end, so no total

    def __init__(self, source: FrameSource, gap: float = 1.0):
        self.source = source
        self.gap = gap
        self.name = f"{source.name} (looped)"
        self.nominal_fps = source.nominal_fps

    def frames(self) -> Iterator[Frame]:
        offset, index = 0.0, 0
        while True:
            last = None
            for frame in self.source.frames():
                last = frame
                yield Frame(frame.image, frame.timestamp + offset, index, frame.inference_image)
                index += 1
            if last is None:
                return
            offset += last.timestamp + self.gap

    def close(self) -> None:
        self.source.close()

    def __enter__(self) -> LoopedSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
