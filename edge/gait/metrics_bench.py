"""Microbenchmark of :func:`edge.gait.metrics.stride_metrics` for ``scripts/bench_gait.py``.

Kept apart from the metrics because it reads a clock; the metrics themselves stay pure.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from edge.gait.metrics import stride_metrics
from edge.gait.scale import Scale
from edge.gait.track import SideViewTrack
from edge.types import Stride

#: Margin of track kept either side of a stride, as the engine passes it.
WINDOW_MARGIN_S = 0.1


def seconds_per_stride(
    track: SideViewTrack, strides: Sequence[Stride], *, scale: Scale | None = None, repeats: int = 5
) -> float:
    """Best-of-``repeats`` wall time of computing every stride's metrics, per stride.

    Includes cutting each stride's window out of ``track``, as the engine does.
    """
    if not strides:
        return float("nan")
    best = float("inf")
    for _ in range(max(1, repeats)):
        start = time.perf_counter()
        for stride in strides:
            window = track.window(
                stride.foot_strike.time - WINDOW_MARGIN_S,
                stride.next_foot_strike.time + WINDOW_MARGIN_S,
            )
            stride_metrics(window, stride, (), scale=scale)
        best = min(best, time.perf_counter() - start)
    return best / len(strides)
