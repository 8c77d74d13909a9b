"""Batch gait analysis of a whole keypoint recording (best accuracy: zero-phase smoothing).

    >>> from edge.recording import read_recording
    >>> from edge.gait.batch import analyse
    >>> result = analyse(read_recording("run.jsonl"))
    >>> result.cadence.value, len(result.strides)

Looking ahead costs nothing in a file, so every decision here uses the whole recording:
limb continuity, near/far and facing over all frames (:func:`build_track`), the detector's
smoothing centred on each frame (:func:`detect_events`), a leg-identity repair from the
running rhythm (:func:`repair_leg_swaps`), near/far decided again between missed strikes
(:func:`near_far_per_segment`), then steps, strides and their metrics.  The
streaming engine (:mod:`edge.gait.streaming`) is its sibling over the same shared pieces
(event machine, smoothing, signals, leg-length rule, scale, metrics adapter) and decides
one frame at a time; neither imports the other.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from itertools import pairwise

import numpy as np

from edge.gait.coco import head_points, sanitize_keypoints
from edge.gait.continuity import LimbContinuity
from edge.gait.events import EventParams, LegEventMachine
from edge.gait.facing import facing_direction, near_side_for, other_side, side_of_leg
from edge.gait.leg_length import leg_length
from edge.gait.metrics_adapter import StrideMetricsFn, choose_stride_metrics, stride_metrics_adapter
from edge.gait.nearfar import (
    ARM_JOINTS,
    LEG_JOINTS,
    compose_near_far,
    decide_near_far,
    near_far_votes,
)
from edge.gait.rhythm import stride_period
from edge.gait.scale import Scale, check_scale_options, resolve_scale
from edge.gait.signals import LegSignals, ground_speed, leg_signals
from edge.gait.smoothing import local_fit, reject_outliers
from edge.gait.timing import assemble, overall_cadence
from edge.gait.track import LimbJoint, SideViewTrack
from edge.recording import Recording
from edge.types import NUM_KEYPOINTS, EventKind, GaitEvent, Leg, MetricValue, Step, Stride


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
    ``stride_metrics=True`` uses :mod:`edge.gait.metrics`; pass ``False`` for timing only,
    or a callable to use another implementation.
    """
    params = params or EventParams()
    check_scale_options(scale, athlete_height_cm)
    t = np.asarray(t, float)
    keep = np.isfinite(t)  # a frame without a usable timestamp cannot be placed in time
    order = np.argsort(t[keep], kind="stable")
    t, keypoints = t[keep][order], np.asarray(keypoints)[keep][order]
    track = build_track(t, keypoints, min_score=params.min_score)
    stride = track_stride(track, params.min_score)
    track, events, _ = detect_repaired_events(track, params, stride)
    track, events = near_far_per_segment(track, events, params.min_score, stride)
    fn = choose_stride_metrics(stride_metrics)
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


# --- the whole recording's track ----------------------------------------------------------


def build_track(
    t: np.ndarray,
    keypoints: np.ndarray,
    *,
    min_score: float = 0.3,
    max_gap: float = 0.5,
    mirrored: bool = False,
) -> SideViewTrack:
    """A :class:`SideViewTrack` from a whole recording of COCO keypoints (N, 17, 3).

    Limb continuity frame by frame, then near/far and facing decided once over all frames.
    ``mirrored`` says the image is flipped (selfie cameras), which swaps anatomical sides.
    """
    t = np.asarray(t, float)
    keypoints = np.asarray(keypoints, float)
    if keypoints.ndim != 3 or keypoints.shape[1:] != (NUM_KEYPOINTS, 3):
        raise ValueError(f"keypoints: expected (N, 17, 3), got {keypoints.shape}")
    keypoints = sanitize_keypoints(keypoints)
    n = len(t)
    continuity = LimbContinuity(min_score, max_gap)
    a = np.empty((n, len(LimbJoint), 3))
    b = np.empty((n, len(LimbJoint), 3))
    for i in range(n):
        a[i], b[i] = continuity.assign(float(t[i]), keypoints[i])
    return track_from_limbs(t, a, b, keypoints, min_score=min_score, mirrored=mirrored)


def track_from_limbs(
    t: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    keypoints: np.ndarray,
    *,
    min_score: float = 0.3,
    mirrored: bool = False,
    near_far: tuple[bool, bool] | None = None,
) -> SideViewTrack:
    """The track of limb tracks A and B (N, 6, 3) already assigned by :class:`LimbContinuity`,
    with near/far and facing decided over all of them (``keypoints``: sanitised, (N, 17, 3)).
    ``near_far`` (legs A near, arms A near) overrides that decision (a stream decides it
    over the whole pass, :class:`NearFarHistory`)."""
    legs_a_near, arms_a_near = near_far or decide_near_far(a, b, min_score)
    near, far = compose_near_far(a, b, legs_a_near, arms_a_near)
    direction = facing_direction(keypoints, min_score)
    side = near_side_for(direction)
    if mirrored:
        side = other_side(side)
    return SideViewTrack(
        t=t,
        near=near.astype(np.float32),
        far=far.astype(np.float32),
        head=head_points(keypoints, side).astype(np.float32),
        direction=direction,
        near_side=side,
    )


def detect_repaired_events(
    track: SideViewTrack, params: EventParams | None = None, stride: float | None = None
) -> tuple[SideViewTrack, list[GaitEvent], list[tuple[float, float]]]:
    """:func:`detect_events`, then :func:`repair_leg_swaps` and the events found again on the
    repaired track if it needed repair; also the :func:`leg_swap_pairs` it repaired (none:
    ``track`` itself comes back).  ``stride``: :func:`track_stride` of ``track``, if the
    caller has it already."""
    params = params or EventParams()
    if stride is None:
        stride = track_stride(track, params.min_score)
    events = detect_events(track, params, stride)
    swaps = leg_swap_pairs(track, events, stride, params.min_score)
    if not swaps:
        return track, events, []
    fixed = repair_leg_swaps(track, swaps)
    return fixed, detect_events(fixed, params, stride), swaps


def track_stride(track: SideViewTrack, min_score: float = 0.3) -> float:
    """The stride period (s) of ``track``'s ankles (:func:`~edge.gait.rhythm.stride_period`;
    ``nan`` without a clear rhythm).  It reads the legs' separation, which exchanging the
    legs leaves alone, so one estimate serves a track and every repair of it."""
    if len(track) < 5:  # too short for events (detect_events), let alone a rhythm
        return float("nan")
    signals = leg_signals(track, min_score)
    return stride_period(signals.t, signals.forward, signals.valid)


def step_time(strike_gaps: np.ndarray, stride: float) -> float:
    """The runner's step (s): the median interval between consecutive strikes, or half the
    ankles' own ``stride`` period when that is shorter.  With every other strike missed the
    strikes' median interval is a stride, and two strikes a stride apart would pass for a
    step (kipchoge at 10 inferences/s: the stream made one "step" of 1.0 s, cadence -50 %)."""
    median = float(np.median(strike_gaps)) if len(strike_gaps) else float("nan")
    if np.isfinite(median) and np.isfinite(stride):
        return min(median, stride / 2)
    return median


# Two consecutive strikes this many steps apart or more: a strike between them was missed.
MISSED_STRIKE_STEPS = 1.5


def _strikes_and_step(
    track: SideViewTrack, events: Sequence[GaitEvent], stride: float | None, min_score: float
) -> tuple[list[GaitEvent], np.ndarray, float]:
    """The foot strikes of ``events``, their intervals and the :func:`step_time` (``nan``
    with fewer than three strikes)."""
    strikes = [e for e in events if e.kind is EventKind.FOOT_STRIKE]
    gaps = np.diff([e.time for e in strikes])
    if len(strikes) < 3:
        return strikes, gaps, float("nan")
    if stride is None:
        stride = track_stride(track, min_score)
    return strikes, gaps, step_time(gaps, stride)


def leg_swap_pairs(
    track: SideViewTrack,
    events: Sequence[GaitEvent],
    stride: float | None = None,
    min_score: float = 0.3,
) -> list[tuple[float, float]]:
    """(earlier, later) times of consecutive strikes of the *same* leg only a step apart
    (not a stride: that would be a missed strike): the near/far tracks swapped between."""
    strikes, gaps, step = _strikes_and_step(track, events, stride, min_score)
    return [
        (a.time, b.time)
        for a, b, gap in zip(strikes, strikes[1:], gaps, strict=False)
        if a.leg is b.leg and gap < MISSED_STRIKE_STEPS * step
    ]


def repair_leg_swaps(track: SideViewTrack, swaps: Sequence[tuple[float, float]]) -> SideViewTrack:
    """Undo the leg-identity swaps that continuity missed, found by the running rhythm.

    Legs alternate.  Two consecutive strikes of the *same* leg only a step apart (``swaps``,
    from :func:`leg_swap_pairs`) mean the near/far tracks swapped in between; the limbs are
    swapped back from halfway between the two strikes onwards.  Returns ``track`` itself
    when nothing needed repair.
    """
    switch_times = [(a + b) / 2 for a, b in swaps]
    if not switch_times:
        return track
    # Frames after an odd number of switch points get near and far legs exchanged.  Only
    # the legs: the arms have their own continuity (moving them too put the far arm, seen
    # at score 0.3, in the near arm's place for frames of a jes_woods_nike_coach_1 stride).
    flips = np.searchsorted(np.asarray(switch_times), track.t, side="right") % 2 == 1
    near, far = track.near.copy(), track.far.copy()
    legs = list(LEG_JOINTS)
    flipped = np.ix_(flips, legs)
    near[flipped], far[flipped] = track.far[flipped], track.near[flipped]
    # With the identity now consistent, decide again which of the two legs is near, and
    # pair the arms with them again (the near arm swings against the near leg).
    legs_vote, arms_vote = near_far_votes(near.astype(float), far.astype(float))
    if legs_vote < 0:
        near[:, legs], far[:, legs] = far[:, legs].copy(), near[:, legs].copy()
    if arms_vote < 0:
        arms = list(ARM_JOINTS)
        near[:, arms], far[:, arms] = far[:, arms].copy(), near[:, arms].copy()
    return SideViewTrack(track.t, near, far, track.head, track.direction, track.near_side)


# A segment's own depth cues decide its near/far only over this many seconds (about three
# strides): the stream's 4 s windows decide it that way and got near/far right on 43 of 57
# labelled strikes against batch's 24 with one vote for the whole recording.
SEGMENT_MIN_DURATION = 2.0  # s


def near_far_per_segment(
    track: SideViewTrack,
    events: Sequence[GaitEvent],
    min_score: float = 0.3,
    stride: float | None = None,
) -> tuple[SideViewTrack, list[GaitEvent]]:
    """Decide near/far again in each stretch between two missed strikes.

    A leg swap that continuity missed while a strike was missed leaves the legs alternating,
    so :func:`repair_leg_swaps` cannot see it, and one vote over the whole recording then
    names that stretch of the run backwards (movup_run_treadmill: its first 8 s).  Cut at
    every strike gap of 1.5 steps or more and let each stretch of at least
    :data:`SEGMENT_MIN_DURATION` seconds decide with its own depth cues; shorter ones keep the
    whole recording's decision.  A stretch decided the other way has its legs exchanged in
    the track and its events renamed: the events themselves stay as detected (each limb
    track was one leg throughout the stretch, and no stride spans a missed strike).
    """
    events = list(events)
    strikes, gaps, step = _strikes_and_step(track, events, stride, min_score)
    if len(strikes) < 3:
        return track, events
    cuts = [
        (a.time + b.time) / 2
        for a, b, gap in zip(strikes, strikes[1:], gaps, strict=False)
        if gap >= MISSED_STRIKE_STEPS * step
    ]
    edges = [float(track.t[0]), *cuts, float(track.t[-1]) + 1.0]
    near, far = track.near.copy(), track.far.copy()
    legs = np.array(LEG_JOINTS, int)
    flipped: list[tuple[float, float]] = []
    for lo, hi in pairwise(edges):
        inside = (track.t >= lo) & (track.t < hi)
        seen = track.t[inside]
        if len(seen) < 2 or seen[-1] - seen[0] < SEGMENT_MIN_DURATION:
            continue
        legs_vote, _ = near_far_votes(
            near[inside].astype(float), far[inside].astype(float), min_score
        )
        if legs_vote < 0:
            swap = np.ix_(inside, legs)
            near[swap], far[swap] = track.far[swap], track.near[swap]
            flipped.append((lo, hi))
    if not flipped:
        return track, events
    renamed = []
    for e in events:
        if any(lo <= e.time < hi for lo, hi in flipped):
            leg = Leg.FAR if e.leg is Leg.NEAR else Leg.NEAR
            e = replace(e, leg=leg, side=side_of_leg(leg, track.near_side))
        renamed.append(e)
    return SideViewTrack(track.t, near, far, track.head, track.direction, track.near_side), renamed


def is_treadmill(track: SideViewTrack, min_score: float = 0.3) -> bool | None:
    """Treadmill (pelvis still in the image) or overground (pelvis crossing the frame)."""
    if len(track) < 10:
        return None
    length = leg_length(track.near, track.far, min_score=min_score)
    hips = np.stack([track.near[:, LimbJoint.HIP], track.far[:, LimbJoint.HIP]], 1)
    ok = (hips[:, :, 2] >= min_score).all(1)
    if ok.sum() < 10 or not np.isfinite(length):
        return None
    x = hips[ok, :, 0].mean(1) / length
    t = track.t[ok]
    duration = t[-1] - t[0]
    if duration <= 0:
        return None
    # Overground runners cover at least ~1 leg length per second; treadmill drift is tiny.
    speed = abs(np.polyfit(t, x, 1)[0])
    return bool(speed < 0.4)


# --- events, zero phase -------------------------------------------------------------------


def detect_events(
    track: SideViewTrack, params: EventParams | None = None, stride: float | None = None
) -> list[GaitEvent]:
    """All foot strikes and toe-offs in ``track`` (zero-phase smoothing), in time order.
    ``stride``: :func:`track_stride` of ``track``, if the caller has it already."""
    params = params or EventParams()
    if len(track) < 5:
        return []
    signals = leg_signals(track, params.min_score)
    if not np.isfinite(signals.leg_length):
        return []
    dt = frame_interval(signals.t)
    params = params.for_frame_interval(dt)
    if params.follow_rhythm:  # sprinting shortens every phase: so do the limits
        if stride is None:
            stride = stride_period(signals.t, signals.forward, signals.valid)
        params = params.for_stride(stride)
    smooth = smooth_signals(
        signals, signals.t, params.smoothing_half_window(dt), params.speed_half_window(dt)
    )
    v_ground = ground_speed(smooth[:, :, 0].ravel())
    events: list[GaitEvent] = []
    legs = (Leg.NEAR, Leg.FAR)
    machines = (LegEventMachine(params), LegEventMachine(params))
    sides = [side_of_leg(leg, track.near_side) for leg in legs]
    for i, t in enumerate(signals.t):
        for column, machine in enumerate(machines):
            speed, height, forward = smooth[i, column]
            other = machines[1 - column].last_strike
            found = machine.update(float(t), speed, height, forward, v_ground, other_strike=other)
            for kind, when in found:
                events.append(GaitEvent(kind, legs[column], when, side=sides[column]))
    # Over the first smoothing half-window the fit sees one side only, and an event found
    # there may have happened before the first frame: on whole Fukuchi films (60 fps) a
    # strike ~25 ms before the first frame was reported 6-22 ms after it, a spurious first
    # strike in 3 of 4 mirrored white-noise films (scripts/validate_gait_errors.py).  A true
    # event that early cannot be timed either; the stream's later windows already leave
    # their own first half-window to the windows before (streaming.py).
    first = float(signals.t[0]) + params.smoothing_half_window(dt)
    events = [e for e in events if e.time >= first]
    events.sort(key=lambda e: e.time)
    return events


def smooth_signals(
    signals: LegSignals,
    t_query: np.ndarray,
    half_window: float,
    speed_half_window: float | None = None,
) -> np.ndarray:
    """(Q, 2, 3) smoothed ``forward speed, height, forward`` for both legs at ``t_query``;
    the forward signals over ``speed_half_window`` if given (a fast rhythm), the height
    over ``half_window``."""
    t, forward, height, valid = signals.t, signals.forward, signals.height, signals.valid
    if speed_half_window is None or speed_half_window == half_window:  # one pass for both
        both = np.concatenate([forward, height], 1)
        value, slope = _fit(t, both, np.concatenate([valid, valid], 1), t_query, half_window)
        forward_value, forward_slope, height_value = value[:, :2], slope[:, :2], value[:, 2:]
    else:
        forward_value, forward_slope = _fit(t, forward, valid, t_query, speed_half_window)
        height_value, _ = _fit(t, height, valid, t_query, half_window)
    out = np.empty((len(t_query), 2, 3))
    out[:, :, 0] = forward_slope
    out[:, :, 1] = height_value
    out[:, :, 2] = forward_value
    return out


def _fit(
    t: np.ndarray, values: np.ndarray, valid: np.ndarray, t_query: np.ndarray, half_window: float
) -> tuple[np.ndarray, np.ndarray]:
    """Outlier rejection, then the local fit (value, slope) of ``values`` at ``t_query``."""
    valid = reject_outliers(t, values, valid, half_window)
    return local_fit(t, values, valid, t_query, half_window)


def frame_interval(t: np.ndarray) -> float:
    """Median frame interval of a timestamp array (s); 1/30 if unknown."""
    if len(t) < 2:
        return 1 / 30
    d = np.diff(t)
    d = d[d > 0]
    return float(np.median(d)) if len(d) else 1 / 30
