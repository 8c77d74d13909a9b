"""Batch gait analysis of a whole keypoint recording (best accuracy: zero-phase smoothing).

    >>> from edge.recording import read_recording
    >>> from edge.gait.batch import analyse
    >>> result = analyse(read_recording("run.jsonl"))
    >>> result.cadence.value, len(result.strides)

The streaming engine (:mod:`edge.gait.streaming`) runs the same detector one frame at a
time; use this module for files, where looking ahead costs nothing.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from edge.gait.events import EventParams, detect_events, leg_signals
from edge.gait.legs import build_track
from edge.gait.timing import assemble, mean_cadence
from edge.gait.track import SideViewTrack
from edge.recording import Recording
from edge.types import GaitEvent, MetricValue, Step, Stride

StrideMetricsFn = Callable[..., Mapping[str, MetricValue]]


@dataclass(frozen=True)
class GaitAnalysis:
    """Everything found in one recording.

    ``treadmill`` is ``True`` when the pelvis stays put in the image while the feet sweep
    backwards (treadmill or a panning camera), ``False`` when the runner crosses the frame,
    ``None`` when it cannot be told.
    """

    track: SideViewTrack
    events: list[GaitEvent]
    steps: list[Step]
    strides: list[Stride]
    cadence: MetricValue
    treadmill: bool | None


def load_stride_metrics() -> StrideMetricsFn | None:
    """``edge.gait.metrics.stride_metrics`` if that module is installed, else ``None``."""
    try:
        module = importlib.import_module("edge.gait.metrics")
    except ImportError:
        return None
    return getattr(module, "stride_metrics", None)


def stride_metrics_adapter(
    track: SideViewTrack, scale: float | None, fn: StrideMetricsFn | None
) -> Callable[[Stride, Sequence[GaitEvent]], Mapping[str, MetricValue]] | None:
    """Wrap the per-stride kinematic metrics so :func:`assemble` can merge them."""
    if fn is None:
        return None

    def extra(stride: Stride, opposite: Sequence[GaitEvent]) -> Mapping[str, MetricValue]:
        return fn(track, stride, opposite, scale=scale)

    return extra


def is_treadmill(track: SideViewTrack, min_score: float = 0.3) -> bool | None:
    """Treadmill (pelvis still in the image) or overground (pelvis crossing the frame)."""
    if len(track) < 10:
        return None
    signals = leg_signals(track, min_score)
    hips = np.stack([track.near[:, 3], track.far[:, 3]], 1)
    ok = (hips[:, :, 2] >= min_score).all(1)
    if ok.sum() < 10 or not np.isfinite(signals.leg_length):
        return None
    x = hips[ok, :, 0].mean(1) / signals.leg_length
    t = track.t[ok]
    duration = t[-1] - t[0]
    if duration <= 0:
        return None
    # Overground runners cover at least ~1 leg length per second; treadmill drift is tiny.
    speed = abs(np.polyfit(t, x, 1)[0])
    return bool(speed < 0.4)


def analyse_arrays(
    t: np.ndarray,
    keypoints: np.ndarray,
    *,
    params: EventParams | None = None,
    scale: float | None = None,
    stride_metrics: StrideMetricsFn | bool | None = True,
) -> GaitAnalysis:
    """Analyse timestamps (N,) and COCO keypoints (N, 17, 3) in source pixels.

    ``scale`` (cm per pixel, when known) is passed to the stride metrics.
    ``stride_metrics=True`` uses :mod:`edge.gait.metrics` when present; pass ``False`` for
    timing only, or a callable to use another implementation.
    """
    params = params or EventParams()
    t = np.asarray(t, float)
    order = np.argsort(t, kind="stable")
    t, keypoints = t[order], np.asarray(keypoints)[order]
    track = build_track(t, keypoints, min_score=params.min_score)
    events = detect_events(track, params)
    fn = load_stride_metrics() if stride_metrics is True else (stride_metrics or None)
    steps, strides = assemble(events, stride_extra=stride_metrics_adapter(track, scale, fn))
    return GaitAnalysis(
        track=track,
        events=events,
        steps=steps,
        strides=strides,
        cadence=mean_cadence(steps),
        treadmill=is_treadmill(track, params.min_score),
    )


def analyse(recording: Recording, **options) -> GaitAnalysis:
    """Analyse a keypoint recording read with :func:`edge.recording.read_recording`."""
    return analyse_arrays(recording.timestamps, recording.keypoints, **options)
