"""Streaming gait analysis: push one pose at a time, get events, steps and strides back.

    >>> tracker = GaitTracker()
    >>> for pose in poses:
    ...     update = tracker.push(pose)
    ...     for event in update.events:
    ...         print(event.kind, event.leg, event.time, event.latency)

The sibling of the batch engine (:mod:`edge.gait.batch`) over the same shared pieces — limb
continuity, near/far and facing cues, the leg-length rule, the smoothing and the event
machine — deciding as it goes instead of over a whole recording.  The smoothing is
evaluated a small ``lag`` behind the newest frame instead of centred on it, so every event
is decided within ``max_latency`` (120 ms by default) of when it happened.  Everything it
keeps lives in fixed-size ring buffers (a few seconds of frames), so it can run for hours.
After a gap (``reset_after`` seconds without a usable runner, e.g. between two passes of a
trackside camera) it starts afresh.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np

from edge.gait.coco import LEG_KEYPOINTS, head_points, sanitize_keypoints
from edge.gait.continuity import LimbContinuity
from edge.gait.events import EventParams, LegEventMachine
from edge.gait.facing import facing_direction, near_side_for, side_of_leg
from edge.gait.leg_length import leg_length
from edge.gait.metrics_adapter import StrideMetricsFn, choose_stride_metrics, stride_metrics_adapter
from edge.gait.nearfar import NearFarHistory, compose_near_far, near_far_votes
from edge.gait.scale import Scale, check_scale_options, resolve_scale
from edge.gait.signals import ground_speed
from edge.gait.smoothing import local_fit
from edge.gait.stream_identity import RhythmIdentity
from edge.gait.stream_signals import (
    BufferedFrame,
    FrameClock,
    OnlineOutlierFilter,
    ankle_pixels,
    frames_since,
    signals_in_leg_lengths,
)
from edge.gait.timing import make_step, make_stride
from edge.gait.track import SideViewTrack
from edge.types import NUM_KEYPOINTS, EventKind, GaitEvent, Leg, Pose, Side, Step, Stride


@dataclass(frozen=True)
class GaitUpdate:
    """What one :meth:`GaitTracker.push` decided: new events, completed steps and strides."""

    events: tuple[GaitEvent, ...] = ()
    steps: tuple[Step, ...] = ()
    strides: tuple[Stride, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.events or self.steps or self.strides)


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


@dataclass
class _PassState:
    """Everything the tracker knows about the current pass of the runner (one continuous
    presence); a gap of ``reset_after`` seconds replaces it with a fresh one."""

    frames: deque[BufferedFrame]
    speeds: deque[float]  # recent smoothed forward speeds of both legs (ground speed)
    events: deque[GaitEvent]  # recent events (steps and strides are built from them)
    continuity: LimbContinuity
    near_far: NearFarHistory
    machines: tuple[LegEventMachine, LegEventMachine]  # limb track A, track B
    clock: FrameClock
    outliers: OnlineOutlierFilter = field(default_factory=OnlineOutlierFilter)
    identity: RhythmIdentity = field(default_factory=RhythmIdentity)
    last_t: float | None = None  # newest frame
    last_present: float | None = None  # newest frame with a usable runner
    next_decision: float | None = None
    last_eval: float | None = None  # newest time the signals were evaluated at
    legs_a_near: bool = True
    arms_a_near: bool = True
    arm_vote: float = 0.0  # summed over decisions, slowly forgotten
    direction: int = 1
    near_side: Side | None = None
    leg_length: float = float("nan")  # px
    v_ground: float = float("nan")  # leg lengths/s
    speed_updates: int = 0
    height_scale: Scale | None = None

    @classmethod
    def fresh(cls, params: StreamingParams) -> _PassState:
        cap, ep = params.max_buffer_frames, params.events
        return cls(
            frames=deque(maxlen=cap),
            speeds=deque(maxlen=cap),
            events=deque(maxlen=16),
            continuity=LimbContinuity(ep.min_score),
            near_far=NearFarHistory(ep.min_score),
            machines=(LegEventMachine(ep), LegEventMachine(ep)),
            clock=FrameClock(ep),
        )


class GaitTracker:
    """Incremental gait engine over a stream of :class:`~edge.types.Pose`.

    ``stride_metrics`` works as in :func:`edge.gait.batch.analyse_arrays`: ``True`` uses
    :mod:`edge.gait.metrics`.  Centimetre metrics need a scale: ``scale``
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
        stride_metrics: StrideMetricsFn | bool | None = True,
    ):
        check_scale_options(scale, athlete_height_cm)
        self.params = params or StreamingParams()
        self._fixed_scale = scale
        self.athlete_height_cm = athlete_height_cm
        self._stride_fn = choose_stride_metrics(stride_metrics)
        self._step_count = 0
        self._stride_count = 0
        self.resets = 0
        self._state = _PassState.fresh(self.params)

    # -- public -----------------------------------------------------------------------------

    @property
    def buffered_frames(self) -> int:
        """Frames held in memory now (bounded by ``max_buffer_frames``)."""
        return len(self._state.frames)

    @property
    def scale(self) -> Scale | None:
        """The scale the stride metrics use now (``None``: no centimetre metrics)."""
        return self._fixed_scale or self._state.height_scale

    @property
    def direction(self) -> int:
        return self._state.direction

    def set_athlete_height(self, height_cm: float | None) -> None:
        """Scale by another athlete's height (``None``: no cm) from the next decision on."""
        check_scale_options(None, height_cm)
        self.athlete_height_cm = height_cm
        self._state.height_scale = None

    def push(self, pose: Pose) -> GaitUpdate:
        """Add one pose (in time order) and return whatever it allowed to be decided."""
        s = self._state
        t = float(pose.timestamp)
        if s.last_t is not None and t <= s.last_t:
            return GaitUpdate()  # out of order or duplicate frame: ignore
        if not np.isfinite(t):
            return GaitUpdate()
        kp = np.asarray(pose.keypoints, float)
        if kp.shape != (NUM_KEYPOINTS, 3):
            return GaitUpdate()  # not a COCO-17 pose: nothing to learn from it
        kp = sanitize_keypoints(kp)
        ms = self.params.events.min_score
        leg_scores = kp[list(LEG_KEYPOINTS), 2]
        present = int((leg_scores >= ms).sum()) >= self.params.min_visible_joints
        if s.last_present is not None and t - s.last_present > self.params.reset_after:
            s = self._state = _PassState.fresh(self.params)
            self.resets += 1
        s.last_t = t
        if not present:
            return GaitUpdate()
        s.last_present = t
        a, b = s.continuity.assign(t, kp)
        # The depth history stays in the tracks' original identity (see RhythmIdentity).
        s.near_far.add(*((b, a) if s.identity.flipped else (a, b)))
        px, ok = ankle_pixels(a, b, ms)
        ok = s.outliers.check(t, px, ok, s.frames, s.clock.half_window)
        s.frames.append(BufferedFrame(t, a, b, px, ok, kp))
        self._trim(t)
        if s.next_decision is None or t >= s.next_decision:
            self._decide()
            if np.isfinite(s.leg_length):  # until the first decision, retry every frame
                s.next_decision = t + self.params.decide_every
        return self._evaluate(t)

    def track(self) -> SideViewTrack:
        """The buffered frames as a :class:`SideViewTrack` with the current near/far decision."""
        return self._track_and_keypoints()[0]

    # -- internals --------------------------------------------------------------------------

    def _track_and_keypoints(self) -> tuple[SideViewTrack, np.ndarray]:
        """:meth:`track`, and the buffered frames' raw COCO keypoints (N, 17, 3)."""
        s = self._state
        frames = list(s.frames)
        if not frames:
            empty = np.zeros((0, 6, 3), np.float32)
            head = np.zeros((0, 5, 3), np.float32)
            track = SideViewTrack(np.zeros(0), empty, empty, head, s.direction, s.near_side)
            return track, np.zeros((0, NUM_KEYPOINTS, 3))
        a = np.stack([f.a for f in frames])
        b = np.stack([f.b for f in frames])
        near, far = compose_near_far(a, b, s.legs_a_near, s.arms_a_near)
        keypoints = np.stack([f.keypoints for f in frames])
        head = head_points(keypoints, s.near_side or Side.RIGHT)
        track = SideViewTrack(
            t=np.array([f.t for f in frames]),
            near=near.astype(np.float32),
            far=far.astype(np.float32),
            head=head.astype(np.float32),
            direction=s.direction,
            near_side=s.near_side,
        )
        return track, keypoints

    def _trim(self, now: float) -> None:
        frames = self._state.frames
        horizon = now - self.params.buffer_seconds
        while frames and frames[0].t < horizon:
            frames.popleft()

    def _decide(self) -> None:
        """Re-decide near/far, facing and the leg length from the buffered frames."""
        s = self._state
        frames = list(s.frames)
        if len(frames) < 5:
            return
        ms = self.params.events.min_score
        a = np.stack([f.a for f in frames])
        b = np.stack([f.b for f in frames])
        # Legs: all evidence since the runner appeared (running sums, per frame).
        s.legs_a_near = (s.near_far.legs_vote() >= 0) != s.identity.flipped
        # Arms: need the leg decision; windows of the buffer, summed with slow forgetting.
        _, arms_vote = near_far_votes(a, b, ms)
        s.arm_vote = 0.99 * s.arm_vote + arms_vote
        s.arms_a_near = s.arm_vote >= 0 if arms_vote != 0 else s.legs_a_near
        s.direction = facing_direction(np.stack([f.keypoints for f in frames]), ms)
        s.near_side = near_side_for(s.direction)
        length = leg_length(a, b, min_score=ms)
        if np.isfinite(length):  # no measurable leg (e.g. a collapsed pose): keep the last
            s.leg_length = length
        if self._fixed_scale is None and self.athlete_height_cm is not None:
            estimate = resolve_scale(self.track(), None, self.athlete_height_cm, ms)
            s.height_scale = estimate or s.height_scale

    def _lag(self) -> float:
        """How far behind the newest frame the signals are evaluated now (s)."""
        s, ep = self._state, self.params.events
        s.clock.update(s.frames)
        dt, half = s.clock.dt, s.clock.half_window
        late_offset = max(0.0, -ep.fs_offset, -ep.to_offset, self.params.toe_off_allowance)
        # The signals are evaluated at ``now - lag`` on every push, so a crossing is seen at
        # most one push interval after ``lag`` (+ any negative event offset); budget two
        # frame intervals so that a dropped frame does not make an event late.
        lag = min(half, self.params.max_latency - 2 * dt - late_offset - 0.004)
        # Below ~25 fps the budget cannot be met; keep at least one frame of look-ahead so
        # the smoothing still has support on both sides (later, but still working).
        return max(lag, min(half, dt))

    def _evaluate(self, now: float) -> GaitUpdate:
        """Smooth the signals at ``now - lag`` and feed the leg state machines."""
        s = self._state
        if not np.isfinite(s.leg_length) or len(s.frames) < 3:
            return GaitUpdate()
        lag = self._lag()
        half = s.clock.half_window
        t_eval = now - lag
        if s.last_eval is not None and t_eval <= s.last_eval:
            return GaitUpdate()
        s.last_eval = t_eval
        # Only the frames that can fall inside the window are needed.
        window = frames_since(s.frames, t_eval - half)
        if len(window) < 3:
            return GaitUpdate()
        t = np.array([f.t for f in window])
        values, valid = signals_in_leg_lengths(window, s.direction, s.leg_length)
        v, slope = local_fit(t, values, valid, np.array([t_eval]), half)
        # Per limb track: forward speed, height, forward position.
        smooth = np.array([[slope[0, 0], v[0, 2], v[0, 0]], [slope[0, 1], v[0, 3], v[0, 1]]])
        self._update_ground_speed(smooth[:, 0])
        found: list[tuple[float, EventKind, int]] = []
        # Waiting for a toe-off measurement must not make it late: past this point in
        # evaluation time, the expected toe-off is reported instead.
        deadline = self.params.max_latency - lag - 2 * s.clock.dt - 0.004
        for track, machine in enumerate(s.machines):
            speed, height, forward = smooth[track]
            other = s.machines[1 - track].last_strike
            for kind, when in machine.update(
                t_eval, speed, height, forward, s.v_ground, deadline, now, other
            ):
                found.append((when, kind, track))
        if not found:
            return GaitUpdate()
        # In time order, and each strike labelled only after the identity check it feeds.
        new_events = []
        for when, kind, track in sorted(found, key=lambda f: f[0]):
            if kind is EventKind.FOOT_STRIKE and s.identity.strike(track, when):
                s.legs_a_near = not s.legs_a_near
            new_events.append(self._make_event(kind, track, when, now))
        return self._assemble(new_events)

    def _update_ground_speed(self, speeds: np.ndarray) -> None:
        """Add both tracks' forward speeds; re-estimate the ground speed every 5 updates."""
        s = self._state
        for speed in speeds:
            if np.isfinite(speed):
                s.speeds.append(float(speed))
        refresh = s.speed_updates % 5 == 0 or not np.isfinite(s.v_ground)
        if len(s.speeds) >= 20 and refresh:
            s.v_ground = ground_speed(np.fromiter(s.speeds, float))
        s.speed_updates += 1

    def _make_event(self, kind: EventKind, track: int, when: float, now: float) -> GaitEvent:
        is_near = (track == 0) == self._state.legs_a_near
        leg = Leg.NEAR if is_near else Leg.FAR
        side = side_of_leg(leg, self._state.near_side)
        return GaitEvent(kind, leg, when, side=side, emitted_at=now)

    def _assemble(self, new_events: list[GaitEvent]) -> GaitUpdate:
        """Steps and strides completed by ``new_events`` (each strike can complete both)."""
        recent = self._state.events
        steps: list[Step] = []
        strides: list[Stride] = []
        for event in sorted(new_events, key=lambda e: e.time):
            recent.append(event)
            if event.kind is not EventKind.FOOT_STRIKE:
                continue
            history = list(recent)
            strikes = [e for e in history if e.kind is EventKind.FOOT_STRIKE]
            if len(strikes) >= 2:
                step = make_step(self._step_count, strikes[-2], event, history)
                if step is not None:
                    steps.append(step)
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
