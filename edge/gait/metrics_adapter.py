"""Per-stride kinematic metrics, wired into the engines' step-and-stride assembly.

Both engines accept ``stride_metrics=True`` (the metrics of :mod:`edge.gait.metrics`),
``False``/``None`` (timing only) or a callable with the signature of
:func:`edge.gait.metrics.stride_metrics` (:func:`choose_stride_metrics`).
:func:`stride_metrics_adapter` binds it to a track and a scale, in the form
:func:`edge.gait.timing.make_stride` merges over the timing metrics, and adds the
front/rear-view metrics of the stride's raw keypoints.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np

from edge.gait.frontview import frontview_metrics
from edge.gait.metrics import stride_metrics
from edge.gait.scale import Scale
from edge.gait.track import SideViewTrack
from edge.types import GaitEvent, MetricValue, Stride

StrideMetricsFn = Callable[..., Mapping[str, MetricValue]]
StrideExtra = Callable[[Stride, Sequence[GaitEvent]], Mapping[str, MetricValue]]


def choose_stride_metrics(option: StrideMetricsFn | bool | None) -> StrideMetricsFn | None:
    """The stride-metrics function an engine's ``stride_metrics`` option asks for."""
    if option is True:
        return stride_metrics
    return option or None


def stride_metrics_adapter(
    track: SideViewTrack,
    scale: Scale | None,
    fn: StrideMetricsFn | None,
    keypoints: np.ndarray | None = None,
) -> StrideExtra | None:
    """Wrap the per-stride kinematic metrics so :func:`~edge.gait.timing.assemble` can merge
    them.

    ``keypoints`` (N, 17, 3) are the raw COCO keypoints of the frames of ``track`` (same
    times): when given, the front/rear-view metrics (:func:`~edge.gait.frontview.
    frontview_metrics`) over each stride's frames are merged in too.  They are computed
    whatever the view; the cue stage decides by view whether to judge them.
    """
    if fn is None:
        return None

    def extra(stride: Stride, opposite: Sequence[GaitEvent]) -> Mapping[str, MetricValue]:
        out = dict(fn(track, stride, opposite, scale=scale))
        if keypoints is not None and len(keypoints) == len(track):
            lo = int(np.searchsorted(track.t, stride.foot_strike.time, side="left"))
            hi = int(np.searchsorted(track.t, stride.next_foot_strike.time, side="right"))
            out.update(frontview_metrics(keypoints[lo:hi]))
        return out

    return extra
