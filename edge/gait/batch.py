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

from edge.errors import ConfigError
from edge.gait.events import EventParams, detect_events, leg_signals
from edge.gait.frontview import frontview_metrics
from edge.gait.legs import LEG_JOINTS, build_track, near_far_votes, sanitize_keypoints
from edge.gait.scale import Scale
from edge.gait.timing import assemble, overall_cadence
from edge.gait.track import SideViewTrack
from edge.recording import Recording
from edge.types import EventKind, GaitEvent, MetricValue, Step, Stride

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
    track: SideViewTrack,
    scale: Scale | None,
    fn: StrideMetricsFn | None,
    keypoints: np.ndarray | None = None,
) -> Callable[[Stride, Sequence[GaitEvent]], Mapping[str, MetricValue]] | None:
    """Wrap the per-stride kinematic metrics so :func:`assemble` can merge them.

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


def check_scale_options(scale: Scale | None, athlete_height_cm: float | None) -> None:
    """Fail early, with a clear message, on a scale the engines cannot use."""
    if scale is not None and not isinstance(scale, Scale):
        raise TypeError(
            f"scale: expected an edge.gait.scale.Scale (e.g. Scale.from_calibration(...)) "
            f"or None, got {type(scale).__name__}; pass a height as athlete_height_cm"
        )
    if athlete_height_cm is not None and not 50.0 <= float(athlete_height_cm) <= 250.0:
        raise ConfigError(f"athlete_height_cm must be 50..250 cm, got {athlete_height_cm}")


def resolve_scale(
    track: SideViewTrack,
    scale: Scale | None,
    athlete_height_cm: float | None,
    min_score: float = 0.3,
) -> Scale | None:
    """The scale the stride metrics use: an explicit one (calibration) wins; otherwise the
    athlete's height against the leg length seen in ``track``; ``None`` when neither."""
    if scale is not None:
        return scale
    if athlete_height_cm is None or len(track) == 0:
        return None
    return Scale.from_athlete_height(track, float(athlete_height_cm), min_score=min_score)


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


def repair_leg_swaps(track: SideViewTrack, events: Sequence[GaitEvent]) -> SideViewTrack:
    """Undo a leg-identity swap that continuity missed, using the running rhythm.

    Legs alternate.  Two consecutive strikes of the *same* leg only a step apart (not a
    stride: that would be a missed strike) mean the near/far tracks swapped in between;
    the limbs are swapped back from halfway between the two strikes onwards.  Returns
    ``track`` itself when nothing needed repair.
    """
    strikes = [e for e in events if e.kind is EventKind.FOOT_STRIKE]
    if len(strikes) < 3:
        return track
    gaps = np.diff([e.time for e in strikes])
    step = float(np.median(gaps))
    switch_times = [
        (a.time + b.time) / 2
        for a, b, gap in zip(strikes, strikes[1:], gaps, strict=False)
        if a.leg is b.leg and gap < 1.5 * step
    ]
    if not switch_times:
        return track
    # Frames after an odd number of switch points get near and far exchanged.
    flips = np.searchsorted(np.asarray(switch_times), track.t, side="right") % 2 == 1
    near, far = track.near.copy(), track.far.copy()
    near[flips], far[flips] = track.far[flips], track.near[flips]
    # With the identity now consistent, decide again which of the two legs is near.
    legs_vote, _ = near_far_votes(near.astype(float), far.astype(float))
    if legs_vote < 0:
        legs = list(LEG_JOINTS)
        near[:, legs], far[:, legs] = far[:, legs].copy(), near[:, legs].copy()
    return SideViewTrack(track.t, near, far, track.head, track.direction, track.near_side)


def analyse_arrays(
    t: np.ndarray,
    keypoints: np.ndarray,
    *,
    params: EventParams | None = None,
    scale: Scale | None = None,
    athlete_height_cm: float | None = None,
    stride_metrics: StrideMetricsFn | bool | None = True,
) -> GaitAnalysis:
    """Analyse timestamps (N,) and COCO keypoints (N, 17, 3) in source pixels.

    Centimetre metrics need a scale: ``scale`` (a :class:`~edge.gait.scale.Scale`, e.g. from
    a calibration distance) when known, else ``athlete_height_cm`` (standing height), which
    is turned into a scale with the leg length seen in this recording.
    ``stride_metrics=True`` uses :mod:`edge.gait.metrics` when present; pass ``False`` for
    timing only, or a callable to use another implementation.
    """
    params = params or EventParams()
    check_scale_options(scale, athlete_height_cm)
    t = np.asarray(t, float)
    keep = np.isfinite(t)  # a frame without a usable timestamp cannot be placed in time
    order = np.argsort(t[keep], kind="stable")
    t, keypoints = t[keep][order], np.asarray(keypoints)[keep][order]
    track = build_track(t, keypoints, min_score=params.min_score)
    events = detect_events(track, params)
    fixed = repair_leg_swaps(track, events)
    if fixed is not track:
        track, events = fixed, detect_events(fixed, params)
    fn = load_stride_metrics() if stride_metrics is True else (stride_metrics or None)
    scale = resolve_scale(track, scale, athlete_height_cm, params.min_score)
    extra = stride_metrics_adapter(track, scale, fn, sanitize_keypoints(keypoints))
    steps, strides = assemble(events, stride_extra=extra)
    return GaitAnalysis(
        track=track,
        events=events,
        steps=steps,
        strides=strides,
        cadence=overall_cadence(steps),
        treadmill=is_treadmill(track, params.min_score),
    )


def analyse(recording: Recording, **options) -> GaitAnalysis:
    """Analyse a keypoint recording read with :func:`edge.recording.read_recording`."""
    return analyse_arrays(recording.timestamps, recording.keypoints, **options)
