"""Streaming gait analysis: push one pose at a time, get events, steps and strides back.

    >>> tracker = GaitTracker()
    >>> for pose in poses:
    ...     update = tracker.push(pose)
    ...     for event in update.events:
    ...         print(event.kind, event.leg, event.time, event.latency)

It runs the same detector as :mod:`edge.gait.batch`, with the smoothing window evaluated a
small ``lag`` behind the newest frame instead of centred on it, so every event is decided
within ``max_latency`` (120 ms by default) of when it happened.  Everything it keeps lives in
fixed-size ring buffers (a few seconds of frames), so it can run for hours.  After a gap
(``reset_after`` seconds without a usable runner, e.g. between two passes of a trackside
camera) it starts afresh.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from edge.gait.batch import (
    check_scale_options,
    load_stride_metrics,
    resolve_scale,
    stride_metrics_adapter,
)
from edge.gait.events import (
    OUTLIER_SIGMAS,
    EventParams,
    LegEventMachine,
    ground_speed,
    local_fit,
)
from edge.gait.legs import (
    LEG_JOINTS,
    MIN_LEG_PX,
    LimbContinuity,
    NearFarHistory,
    compose_near_far,
    facing_direction,
    head_points,
    near_far_votes,
    near_side_for,
    sanitize_keypoints,
)
from edge.gait.scale import Scale
from edge.gait.timing import MAX_STEP_TIME, make_stride, step_metrics, toe_off_between
from edge.gait.track import LimbJoint, SideViewTrack
from edge.types import (
    NUM_KEYPOINTS,
    EventKind,
    GaitEvent,
    Leg,
    MetricValue,
    Pose,
    Side,
    Step,
    Stride,
)


@dataclass(frozen=True)
class GaitUpdate:
    """What one :meth:`GaitTracker.push` decided: new events, completed steps and strides."""

    events: tuple[GaitEvent, ...] = ()
    steps: tuple[Step, ...] = ()
    strides: tuple[Stride, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.events or self.steps or self.strides)


@dataclass
class _Frame:
    t: float
    a: np.ndarray  # (6, 3) limb track A
    b: np.ndarray  # (6, 3) limb track B
    px: np.ndarray  # (4,) ankle x - pelvis x for A, B; ankle y for A, B (pixels)
    ok: np.ndarray  # (4,) usable (confident, and not an outlier)
    keypoints: np.ndarray  # (17, 3) as received (face, facing cues)


@dataclass
class StreamingParams:
    """Knobs of the streaming engine (the detector's own are in :class:`EventParams`)."""

    max_latency: float = 0.12  # s: every event is decided this soon after it happened
    buffer_seconds: float = 3.0  # history kept (covers the longest stride plus smoothing)
    max_buffer_frames: int = 1024  # hard cap, whatever the frame rate
    reset_after: float = 0.5  # s without a usable runner: start afresh
    # Time reserved for a toe-off measurement to arrive after its expected time (the lag
    # shrinks by as much); later, the expected time is reported instead.
    toe_off_allowance: float = 0.0
    decide_every: float = 0.5  # s between near/far, facing and scale re-decisions
    min_visible_joints: int = 4  # of the 6 leg joints, to count a frame as "runner present"
    events: EventParams = field(default_factory=EventParams)


class GaitTracker:
    """Incremental gait engine over a stream of :class:`~edge.types.Pose`.

    ``stride_metrics`` works as in :func:`edge.gait.batch.analyse_arrays`: ``True`` uses
    :mod:`edge.gait.metrics` when present.  Centimetre metrics need a scale: ``scale``
    (:class:`~edge.gait.scale.Scale`, e.g. from a calibration distance) when known, else
    ``athlete_height_cm``, turned into a scale with the leg length in the buffered frames
    and re-estimated at every near/far decision (see :attr:`scale`).
    """

    def __init__(
        self,
        params: StreamingParams | None = None,
        *,
        scale: Scale | None = None,
        athlete_height_cm: float | None = None,
        stride_metrics: Callable[..., Mapping[str, MetricValue]] | bool | None = True,
    ):
        check_scale_options(scale, athlete_height_cm)
        self.params = params or StreamingParams()
        self._fixed_scale = scale
        self.athlete_height_cm = athlete_height_cm
        self._stride_fn = (
            load_stride_metrics() if stride_metrics is True else (stride_metrics or None)
        )
        cap = self.params.max_buffer_frames
        self._frames: deque[_Frame] = deque(maxlen=cap)
        self._speeds: deque[float] = deque(maxlen=cap)
        self._events: deque[GaitEvent] = deque(maxlen=16)
        self._step_count = 0
        self._stride_count = 0
        self.resets = 0
        self._reset_state()

    # -- public -----------------------------------------------------------------------------

    @property
    def buffered_frames(self) -> int:
        """Frames held in memory now (bounded by ``max_buffer_frames``)."""
        return len(self._frames)

    @property
    def scale(self) -> Scale | None:
        """The scale the stride metrics use now (``None``: no centimetre metrics)."""
        return self._fixed_scale or self._height_scale

    @property
    def direction(self) -> int:
        return self._direction

    def set_athlete_height(self, height_cm: float | None) -> None:
        """Scale by another athlete's height (``None``: no cm) from the next decision on."""
        check_scale_options(None, height_cm)
        self.athlete_height_cm = height_cm
        self._height_scale = None

    def push(self, pose: Pose) -> GaitUpdate:
        """Add one pose (in time order) and return whatever it allowed to be decided."""
        t = float(pose.timestamp)
        if self._last_t is not None and t <= self._last_t:
            return GaitUpdate()  # out of order or duplicate frame: ignore
        if not np.isfinite(t):
            return GaitUpdate()
        kp = np.asarray(pose.keypoints, float)
        if kp.shape != (NUM_KEYPOINTS, 3):
            return GaitUpdate()  # not a COCO-17 pose: nothing to learn from it
        kp = sanitize_keypoints(kp)
        ms = self.params.events.min_score
        leg_scores = kp[[11, 12, 13, 14, 15, 16], 2]
        present = int((leg_scores >= ms).sum()) >= self.params.min_visible_joints
        if self._last_present is not None and t - self._last_present > self.params.reset_after:
            self._reset_state()
            self.resets += 1
        self._last_t = t
        if not present:
            return GaitUpdate()
        self._last_present = t
        a, b = self._continuity.assign(t, kp)
        # The depth history stays in the tracks' original identity (see _check_identity).
        self._near_far.add(*((b, a) if self._identity_flipped else (a, b)))
        px, ok = self._ankle_pixels(a, b)
        ok = self._check_outliers(t, px, ok)
        self._frames.append(_Frame(t, a, b, px, ok, kp))
        self._trim(t)
        if self._next_decision is None or t >= self._next_decision:
            self._decide()
            if np.isfinite(self._leg_length):  # until the first decision, retry every frame
                self._next_decision = t + self.params.decide_every
        return self._evaluate(t)

    def track(self) -> SideViewTrack:
        """The buffered frames as a :class:`SideViewTrack` with the current near/far decision."""
        return self._track_and_keypoints()[0]

    def _track_and_keypoints(self) -> tuple[SideViewTrack, np.ndarray]:
        """:meth:`track`, and the buffered frames' raw COCO keypoints (N, 17, 3)."""
        frames = list(self._frames)
        if not frames:
            empty = np.zeros((0, 6, 3), np.float32)
            track = SideViewTrack(
                np.zeros(0),
                empty,
                empty,
                np.zeros((0, 5, 3), np.float32),
                self._direction,
                self._near_side,
            )
            return track, np.zeros((0, NUM_KEYPOINTS, 3))
        a = np.stack([f.a for f in frames])
        b = np.stack([f.b for f in frames])
        near, far = compose_near_far(a, b, self._legs_a_near, self._arms_a_near)
        keypoints = np.stack([f.keypoints for f in frames])
        head = head_points(keypoints, self._near_side or Side.RIGHT)
        track = SideViewTrack(
            t=np.array([f.t for f in frames]),
            near=near.astype(np.float32),
            far=far.astype(np.float32),
            head=head.astype(np.float32),
            direction=self._direction,
            near_side=self._near_side,
        )
        return track, keypoints

    # -- internals --------------------------------------------------------------------------

    def _reset_state(self) -> None:
        self._frames.clear()
        self._speeds.clear()
        self._events.clear()
        self._continuity = LimbContinuity(self.params.events.min_score)
        self._near_far = NearFarHistory(self.params.events.min_score)
        self._machines = (LegEventMachine(self.params.events), LegEventMachine(self.params.events))
        self._last_t: float | None = None
        self._last_present: float | None = None
        self._next_decision: float | None = None
        self._legs_a_near = True
        self._arms_a_near = True
        self._direction = 1
        self._near_side: Side | None = None
        self._leg_length = float("nan")
        self._v_ground = float("nan")
        self._last_eval: float | None = None
        self._dt = 1 / 30
        self._half = self.params.events.smoothing_half_window(self._dt)
        self._resid_spread = np.zeros(4)
        self._resid_count = np.zeros(4, int)
        self._dt_known = False
        self._dt_age = 0
        self._speed_updates = 0
        self._leg_vote = 0.0
        self._arm_vote = 0.0
        self._height_scale: Scale | None = None
        self._identity_flipped = False  # tracks A and B exchanged legs since the start
        self._step_times: deque[float] = deque(maxlen=9)
        self._last_strike_track: int | None = None  # limb track (0 = A) of the latest strike
        self._last_strike_time = float("nan")

    def _trim(self, now: float) -> None:
        horizon = now - self.params.buffer_seconds
        while self._frames and self._frames[0].t < horizon:
            self._frames.popleft()

    def _decide(self) -> None:
        """Re-decide near/far, facing and the leg length from the buffered frames."""
        frames = list(self._frames)
        if len(frames) < 5:
            return
        ms = self.params.events.min_score
        a = np.stack([f.a for f in frames])
        b = np.stack([f.b for f in frames])
        # Legs: all evidence since the runner appeared (running sums, per frame).
        self._leg_vote = self._near_far.legs_vote()
        self._legs_a_near = (self._leg_vote >= 0) != self._identity_flipped
        # Arms: need the leg decision; windows of the buffer, summed with slow forgetting.
        _, arms_vote = near_far_votes(a, b, ms)
        self._arm_vote = 0.99 * self._arm_vote + arms_vote
        self._arms_a_near = self._arm_vote >= 0 if arms_vote != 0 else self._legs_a_near
        kp = np.stack([f.keypoints for f in frames])
        self._direction = facing_direction(kp, ms)
        self._near_side = near_side_for(self._direction)
        lengths = []
        for limb in (a, b):
            j = limb[:, list(LEG_JOINTS)]
            ok = (j[:, :, 2] >= ms).all(1)
            if ok.any():
                thigh = np.hypot(*(j[ok, 0, :2] - j[ok, 1, :2]).T)
                shank = np.hypot(*(j[ok, 1, :2] - j[ok, 2, :2]).T)
                lengths.append(thigh + shank)
        if lengths:
            length = float(np.median(np.concatenate(lengths)))
            if length >= MIN_LEG_PX:  # a collapsed pose gives no scale
                self._leg_length = length
        if self._fixed_scale is None and self.athlete_height_cm is not None:
            estimate = resolve_scale(self.track(), None, self.athlete_height_cm, ms)
            self._height_scale = estimate or self._height_scale

    def _lag_and_window(self) -> tuple[float, float]:
        ep = self.params.events
        # A stable frame interval (median over ~1 s, refreshed now and then), so the lag
        # does not jump around.
        self._dt_age += 1
        if self._dt_age >= 15 or not self._dt_known:
            n = len(self._frames)
            times = [self._frames[i].t for i in range(max(0, n - 31), n)]
            if len(times) > 2:
                self._dt = float(np.median(np.diff(times)))
                self._dt_known = len(times) > 10
            self._dt_age = 0
        dt = self._dt
        half = ep.smoothing_half_window(dt)
        self._half = half
        late_offset = max(0.0, -ep.fs_offset, -ep.to_offset, self.params.toe_off_allowance)
        # The signals are evaluated at ``now - lag`` on every push, so a crossing is seen at
        # most one push interval after ``lag`` (+ any negative event offset); budget two
        # frame intervals so that a dropped frame does not make an event late.
        lag = min(half, self.params.max_latency - 2 * dt - late_offset - 0.004)
        # Below ~25 fps the budget cannot be met; keep at least one frame of look-ahead so
        # the smoothing still has support on both sides (later, but still working).
        return max(lag, min(half, dt)), half

    def _evaluate(self, now: float) -> GaitUpdate:
        """Smooth the signals at ``now - lag`` and feed the leg state machines."""
        if not np.isfinite(self._leg_length) or len(self._frames) < 3:
            return GaitUpdate()
        lag, half = self._lag_and_window()
        t_eval = now - lag
        if self._last_eval is not None and t_eval <= self._last_eval:
            return GaitUpdate()
        self._last_eval = t_eval
        # Only the frames that can fall inside the window are needed (newest at the end).
        window: list[_Frame] = []
        for frame in reversed(self._frames):
            if frame.t < t_eval - half:
                break
            window.append(frame)
        window.reverse()
        if len(window) < 3:
            return GaitUpdate()
        t = np.array([f.t for f in window])
        values, valid = self._raw_signals(window)
        v, s = local_fit(t, values, valid, np.array([t_eval]), half)
        smooth = np.array([[s[0, 0], v[0, 2], v[0, 0]], [s[0, 1], v[0, 3], v[0, 1]]])
        for track in (0, 1):
            if np.isfinite(smooth[track, 0]):
                self._speeds.append(float(smooth[track, 0]))
        refresh = self._speed_updates % 5 == 0 or not np.isfinite(self._v_ground)
        if len(self._speeds) >= 20 and refresh:
            self._v_ground = ground_speed(np.fromiter(self._speeds, float))
        self._speed_updates += 1
        found: list[tuple[float, EventKind, int]] = []
        # Waiting for a toe-off measurement must not make it late: past this point in
        # evaluation time, the expected toe-off is reported instead.
        deadline = self.params.max_latency - lag - 2 * self._dt - 0.004
        for track, machine in enumerate(self._machines):
            speed, height, forward = smooth[track]
            other = self._machines[1 - track].last_strike
            for kind, when in machine.update(
                t_eval, speed, height, forward, self._v_ground, deadline, now, other
            ):
                found.append((when, kind, track))
        if not found:
            return GaitUpdate()
        # In time order, and each strike labelled only after the identity check it feeds.
        new_events = []
        for when, kind, track in sorted(found, key=lambda f: f[0]):
            if kind is EventKind.FOOT_STRIKE:
                self._check_identity(track, when)
            new_events.append(self._make_event(kind, track, when, now))
        return self._assemble(new_events)

    def _ankle_pixels(self, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Ankle x relative to the pelvis and ankle y (pixels) of tracks A and B."""
        ms = self.params.events.min_score
        hips = np.array([a[LimbJoint.HIP], b[LimbJoint.HIP]])
        seen = hips[:, 2] >= ms
        if not seen.any():
            return np.zeros(4), np.zeros(4, bool)
        pelvis = float(hips[seen, 0].mean())
        ka, kb = a[LimbJoint.ANKLE], b[LimbJoint.ANKLE]
        px = np.array([ka[0] - pelvis, kb[0] - pelvis, ka[1], kb[1]])
        ok = np.array([ka[2] >= ms, kb[2] >= ms, ka[2] >= ms, kb[2] >= ms])
        return px, ok

    def _check_outliers(self, t: float, px: np.ndarray, ok: np.ndarray) -> np.ndarray:
        """Drop a sample that sits far off the curve through the frames just before it.

        A keypoint that jumps to the other foot for one confident frame would otherwise
        bend the smoothed curve and make a false event.  The spread of these one-frame
        prediction errors is tracked per signal (a running mean absolute residual).
        """
        half = self._half
        recent = []
        for frame in reversed(self._frames):
            if frame.t < t - half:
                break
            recent.append(frame)
        if len(recent) < 4:
            return ok
        times = np.array([f.t for f in reversed(recent)])
        values = np.array([f.px for f in reversed(recent)])
        valid = np.array([f.ok for f in reversed(recent)])
        predicted, _ = local_fit(times, values, valid, np.array([t]), half)
        resid = np.abs(px - predicted[0])
        checked = ok & np.isfinite(resid)
        spread = self._resid_spread
        outlier = checked & (self._resid_count >= 20) & (resid > OUTLIER_SIGMAS * 1.25 * spread)
        update = checked & ~outlier
        clipped = np.minimum(resid, 3 * np.where(self._resid_count >= 20, spread, np.inf))
        rate = np.where(self._resid_count < 20, 1 / (self._resid_count + 1), 0.02)
        self._resid_spread = np.where(update, spread + rate * (clipped - spread), spread)
        self._resid_count = self._resid_count + update
        return ok & ~outlier

    def _raw_signals(self, frames: Sequence[_Frame]) -> tuple[np.ndarray, np.ndarray]:
        """(N, 4) forward A, forward B, height A, height B in leg lengths, and validity."""
        px = np.array([f.px for f in frames])
        valid = np.array([f.ok for f in frames])
        values = np.empty_like(px)
        values[:, :2] = self._direction * px[:, :2] / self._leg_length
        values[:, 2:] = -px[:, 2:] / self._leg_length
        return values, valid

    def _check_identity(self, track: int, when: float) -> None:
        """Notice that the limb tracks exchanged legs, from the running rhythm.

        Legs alternate: two strikes in a row on the same *track* only a step apart (a missed
        strike would leave a stride) mean continuity lost the legs in between.  The online
        counterpart of :func:`edge.gait.batch.repair_leg_swaps`: from now on the near/far
        labels (and the depth history) follow the legs, not the tracks, and the strike that
        revealed it is labelled that way too.

        It compares tracks, never emitted labels: a label also changes when the near/far
        decision does, and a label-based check would then "repair" every following strike
        (each repair making the next strike look like the same leg again).
        """
        prev_track, gap = self._last_strike_track, when - self._last_strike_time
        self._last_strike_track, self._last_strike_time = track, when
        if prev_track is None or not gap > 0:
            return
        if prev_track != track:
            if gap <= MAX_STEP_TIME:
                self._step_times.append(gap)
            return
        if len(self._step_times) >= 3 and gap < 1.5 * float(np.median(self._step_times)):
            self._identity_flipped = not self._identity_flipped
            self._legs_a_near = not self._legs_a_near

    def _make_event(self, kind: EventKind, track: int, when: float, now: float) -> GaitEvent:
        is_near = (track == 0) == self._legs_a_near
        leg = Leg.NEAR if is_near else Leg.FAR
        side = None
        if self._near_side is not None:
            other = Side.LEFT if self._near_side is Side.RIGHT else Side.RIGHT
            side = self._near_side if is_near else other
        return GaitEvent(kind, leg, when, side=side, emitted_at=now)

    def _assemble(self, new_events: list[GaitEvent]) -> GaitUpdate:
        if not new_events:
            return GaitUpdate()
        steps: list[Step] = []
        strides: list[Stride] = []
        for event in sorted(new_events, key=lambda e: e.time):
            self._events.append(event)
            if event.kind is not EventKind.FOOT_STRIKE:
                continue
            history = list(self._events)
            strikes = [e for e in history if e.kind is EventKind.FOOT_STRIKE]
            if len(strikes) >= 2:
                prev = strikes[-2]
                if prev.leg is not event.leg and 0 < event.time - prev.time <= 1.0:
                    toe = toe_off_between(history, prev.leg, prev.time, event.time)
                    steps.append(
                        Step(
                            self._step_count,
                            prev.leg,
                            prev,
                            toe,
                            event,
                            step_metrics(prev, toe, event),
                            emitted_at=event.emitted_at,
                        )
                    )
                    self._step_count += 1
            if len(strikes) >= 3:
                extra = None
                if self._stride_fn is not None:
                    track, keypoints = self._track_and_keypoints()
                    extra = stride_metrics_adapter(track, self.scale, self._stride_fn, keypoints)
                stride = make_stride(
                    self._stride_count, strikes[-3], strikes[-2], event, history, extra
                )
                if stride is not None:
                    strides.append(stride)
                    self._stride_count += 1
        return GaitUpdate(tuple(new_events), tuple(steps), tuple(strides))
