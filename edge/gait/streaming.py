"""Streaming gait analysis: push one pose at a time, get events, steps and strides back.

    >>> tracker = GaitTracker()
    >>> for pose in poses:
    ...     update = tracker.push(pose)
    ...     for event in update.events:
    ...         print(event.kind, event.leg, event.time, event.latency)
    >>> tail = tracker.flush()  # end of the pass, session or recording

The streaming engine *is* the batch engine (:mod:`edge.gait.batch`) run over a sliding
window of the last few seconds: limb continuity frame by frame as the poses arrive, then
every ``analyse_every`` seconds near/far, facing, the zero-phase smoothing, the event
machine and the rhythm repair over the whole window.  An event is final — and emitted —
once it lies ``look_behind`` seconds behind the newest frame: by then the centred
smoothing (half-window 90 ms) has all its data, so the window sees what a whole-recording
analysis sees (above 40 fps the half-window is 150 ms, and the newest 40 ms of it, with
little of the kernel's weight, are not waited for).  Every event is therefore decided
within :attr:`StreamingParams.max_latency` (≤ 0.25 s at ≥ 25 fps) of when it happened, at
batch quality; :meth:`GaitTracker.flush` emits the events of the last ``look_behind``
seconds when a pass, a session or a recording ends, and a gap of ``reset_after`` seconds
without a usable runner does the same before starting afresh.  Memory is a fixed-size
ring buffer of frames.
"""

from __future__ import annotations

import dataclasses
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from edge.gait.batch import (
    MISSED_STRIKE_STEPS,
    SEGMENT_MIN_DURATION,
    detect_repaired_events,
    frame_interval,
    step_time,
    track_from_limbs,
    track_stride,
)
from edge.gait.coco import LEG_KEYPOINTS, sanitize_keypoints
from edge.gait.continuity import ROBUST_MAX_INTERVAL, LimbContinuity
from edge.gait.events import EventParams
from edge.gait.facing import side_of_leg
from edge.gait.metrics_adapter import StrideMetricsFn, choose_stride_metrics, stride_metrics_adapter
from edge.gait.nearfar import LEG_JOINTS, NearFarHistory
from edge.gait.scale import Scale, check_scale_options, resolve_scale
from edge.gait.timing import make_step, make_stride
from edge.gait.track import SideViewTrack
from edge.types import NUM_KEYPOINTS, EventKind, GaitEvent, Leg, Pose, Step, Stride


@dataclass(frozen=True)
class GaitUpdate:
    """What one :meth:`GaitTracker.push` decided: new events, completed steps and strides."""

    events: tuple[GaitEvent, ...] = ()
    steps: tuple[Step, ...] = ()
    strides: tuple[Stride, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.events or self.steps or self.strides)

    def __add__(self, other: GaitUpdate) -> GaitUpdate:
        return GaitUpdate(
            self.events + other.events, self.steps + other.steps, self.strides + other.strides
        )


@dataclass
class StreamingParams:
    """Knobs of the streaming engine (the detector's own are in :class:`EventParams`)."""

    # s behind the newest frame at which an event is final: the smoothing's half-window
    # (0.09 s) plus one frame interval at 25 fps and a margin for the event machine's
    # sub-frame interpolation.  Measured on Fukuchi T25/T35 at 30/60 fps: event times
    # change by < 1 ms once this far behind (tests/test_gait_streaming.py).
    look_behind: float = 0.11
    analyse_every: float = 0.1  # s between two window analyses
    # s of frames for near/far and facing (batch decides them over a whole recording; on
    # Fukuchi T25 at 30 fps a 4 s window mislabelled 41 of 75 strikes, 6 s none)
    buffer_seconds: float = 6.0
    # s of the newest frames the event machine runs over: several strides, so the rhythm
    # repair and the contact/stride fusion (median of the last 9 contacts) have history.
    # Fukuchi T25/T35, 4 films, 30/60 fps (scripts/validate_gait.py): stream toe-off median
    # 16.3/13.8/11.1/10.0 ms at 2.5 s against 11.7/9.9/8.7/8.0 ms at 4 s (batch
    # 10.3/8.7/8.8/6.9); the cost per pose grows ~40 % (scripts/bench_gait.py).
    event_window: float = 4.0
    max_buffer_frames: int = 512  # hard cap, whatever the frame rate
    reset_after: float = 0.5  # s without a usable runner: flush and start afresh
    decide_every: float = 0.5  # s between re-estimates of the height scale
    # Of the 6 leg joints, to count a frame as "runner present": it may start a pass and
    # keeps one alive (``reset_after``).  A pass keeps its other frames too, as batch does
    # (their seen joints count): dropping them cost live recall at 10 inferences/s, where
    # the in-between tracker loses joints (scripts/bench_burst.py: 0.73 -> 0.78 pooled).
    min_visible_joints: int = 4
    # s at the start of a pass during which nothing is final yet: the first windows have
    # too little of the pass for near/far and the ground-speed estimate, so their events
    # can be spurious, missed or on the wrong leg.  Chosen on 4 s windows of the Fukuchi
    # T25/T35 films (8 per trial, white and MoveNet-like errors, 60 fps;
    # `scripts/validate_gait_errors.py --window 4`): spurious + missed first strikes
    # 19 -> 9 -> 9 -> 5 and wrong-leg strikes 52 -> 49 -> 46 -> 39 at 0 / 1 / 1.5 / 2 s.
    # The pass's first events therefore reach the LED up to this long after the pass
    # began; every later event within :attr:`max_latency`.
    pass_warmup: float = 2.0
    # The warm-up also lasts until the window holds this many foot strikes: with only two,
    # the leg-swap repair has no rhythm to check them against and can name both strikes
    # after one leg (simplehrnet_running_track_wide, a slow-motion clip with 0.6-0.8 s
    # steps: its first stride was lost live, found in batch).  Three strikes is the fewest
    # that show the alternation.  It never outlasts the window: see :attr:`max_warmup`.
    warmup_strikes: int = 3
    events: EventParams = field(default_factory=EventParams)

    def __post_init__(self) -> None:
        if not 0 <= self.pass_warmup <= self.max_warmup:
            raise ValueError(
                f"pass_warmup {self.pass_warmup} s: expected 0 .. event_window - look_behind "
                f"- analyse_every ({self.max_warmup:.2f} s), or the pass's first events "
                "leave the window before they are final"
            )
        if self.warmup_strikes < 0:
            raise ValueError(f"warmup_strikes {self.warmup_strikes}: expected >= 0")

    @property
    def max_warmup(self) -> float:
        """The longest a pass's first events can be held: after this the pass's first frames
        leave the event window before they are final."""
        return self.event_window - self.look_behind - self.analyse_every

    @property
    def max_latency(self) -> float:
        """Upper bound of an event's latency at 25 fps or more (one frame interval = 0.04 s
        between the event becoming final and the next analysis's frame arriving)."""
        return self.look_behind + self.analyse_every + 0.04


@dataclass
class _Frame:
    t: float
    a: np.ndarray  # (6, 3) limb track A
    b: np.ndarray  # (6, 3) limb track B
    keypoints: np.ndarray  # (17, 3) sanitised


@dataclass
class _PassState:
    """Everything the tracker knows about the current pass of the runner (one continuous
    presence); a gap of ``reset_after`` seconds replaces it with a fresh one."""

    frames: deque[_Frame]
    continuity: LimbContinuity
    near_far: NearFarHistory  # depth cues of the whole pass (as batch: all its frames)
    # Depth cues since the last missed strike, where continuity may have swapped the legs
    # unseen (see edge.gait.batch.near_far_per_segment); None before the first.
    segment: NearFarHistory | None = None
    segment_start: float = -np.inf
    events: deque[GaitEvent] = field(default_factory=lambda: deque(maxlen=16))
    first_t: float | None = None  # the pass's first frame with a usable runner
    last_t: float | None = None  # newest frame
    last_present: float | None = None  # newest frame with a usable runner
    next_analysis: float = -np.inf
    committed_until: float = -np.inf  # every event up to this time has been emitted
    warmed_up: bool = False  # the pass's warm-up is over: events are final as they age
    next_decision: float = -np.inf
    next_vote: float = -np.inf
    legs_a_near: bool = True  # the pass's near/far decision, renewed every ``decide_every``
    arms_a_near: bool = True
    track: SideViewTrack | None = None  # the whole buffer, of the latest window analysis
    # The event window of that analysis after its leg-swap repair: the track the events
    # were found on, so the strides' metrics read the leg that struck (the unrepaired
    # buffer may hold the other leg there), and its keypoints (N, 17, 3).
    window: SideViewTrack | None = None
    window_keypoints: np.ndarray | None = None
    height_scale: Scale | None = None
    # Cross-window leg identity: each window repairs its leg swaps on its own, so two
    # windows may name the same leg differently.  The history (``events``) keeps one
    # *identity* name per leg, the window's name exchanged while ``leg_parity`` is set, so
    # that its strikes keep alternating and steps and strides close (see _identity_leg);
    # what is published carries the current window's near/far names (depth evidence).
    leg_parity: bool = False
    last_strike: GaitEvent | None = None  # the newest final foot strike, identity-named
    vote_changed: bool = False  # the pass's near/far decision changed since that strike

    @classmethod
    def fresh(cls, params: StreamingParams) -> _PassState:
        return cls(
            frames=deque(maxlen=params.max_buffer_frames),
            continuity=LimbContinuity(params.events.min_score),
            near_far=NearFarHistory(params.events.min_score),
        )


class GaitTracker:
    """Incremental gait engine over a stream of :class:`~edge.types.Pose`.

    ``stride_metrics`` works as in :func:`edge.gait.batch.analyse_arrays`: ``True`` uses
    :mod:`edge.gait.metrics`.  Centimetre metrics need a scale: ``scale``
    (:class:`~edge.gait.scale.Scale`, e.g. from a calibration distance) when known, else
    ``athlete_height_cm``, turned into a scale with the leg length in the buffered frames
    and re-estimated every ``decide_every`` seconds (see :attr:`scale`).
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
        self.analyses = 0  # window analyses run (the engine's cost driver)
        self.leg_swaps_kept = 0  # leg-swap repairs made permanent (_exchange_legs_since)
        self._latest_track: SideViewTrack | None = None
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
        track = self._state.track
        return 1 if track is None else track.direction

    def set_athlete_height(self, height_cm: float | None) -> None:
        """Scale by another athlete's height (``None``: no cm) from the next decision on."""
        check_scale_options(None, height_cm)
        self.athlete_height_cm = height_cm
        self._state.height_scale = None
        self._state.next_decision = -np.inf

    def push(self, pose: Pose) -> GaitUpdate:
        """Add one pose (in time order) and return whatever it allowed to be decided."""
        s = self._state
        t = float(pose.timestamp)
        if not np.isfinite(t) or (s.last_t is not None and t <= s.last_t):
            return GaitUpdate()  # out of order, duplicate or unusable timestamp: ignore
        kp = np.asarray(pose.keypoints, float)
        if kp.shape != (NUM_KEYPOINTS, 3):
            return GaitUpdate()  # not a COCO-17 pose: nothing to learn from it
        kp = sanitize_keypoints(kp)
        leg_scores = kp[list(LEG_KEYPOINTS), 2]
        present = int((leg_scores >= self.params.events.min_score).sum())
        flushed = GaitUpdate()
        if s.last_present is not None and t - s.last_present > self.params.reset_after:
            flushed = self.flush()  # the pass ended: what it still held, then afresh
            s = self._state
        s.last_t = t
        if present >= self.params.min_visible_joints:
            s.last_present = t
            if s.first_t is None:
                s.first_t = t
        elif s.first_t is None:
            return flushed  # no runner yet: no pass to add this frame to
        a, b = s.continuity.assign(t, kp)
        s.near_far.add(a, b, t)
        if s.segment is not None:
            s.segment.add(a, b, t)
        s.frames.append(_Frame(t, a, b, kp))
        while s.frames and s.frames[0].t < t - self.params.buffer_seconds:
            s.frames.popleft()
        if t < s.next_analysis:
            return flushed
        # Half a frame early, so that a period of whole frames is not rounded up by one.
        interval = t - s.frames[-2].t if len(s.frames) > 1 else 0.0
        s.next_analysis = t + self.params.analyse_every - 0.5 * interval
        # Never closer to the newest frame than the smoothing's half-window (low frame rates).
        # Dense frames' wider window is not waited for: its newest 40 ms carry little of the
        # kernel's weight, and waiting would put the LED past 0.25 s (docs/gait.md).
        interval = frame_interval(np.array([f.t for f in list(s.frames)[-8:]]))
        half = self.params.events.smoothing_half_window(interval)
        look_behind = max(self.params.look_behind, half + 0.2 * interval)
        return flushed + self._analyse(t - look_behind, t)

    def flush(self) -> GaitUpdate:
        """Emit every event still pending (the pass, session or recording ended) and start
        afresh: the next pose begins a new pass."""
        s = self._state
        update = GaitUpdate()
        if s.frames:
            update = self._analyse(np.inf, s.frames[-1].t)
        if s.last_present is not None:
            self.resets += 1
        self._state = _PassState.fresh(self.params)
        self._state.height_scale = s.height_scale
        return update

    def track(self) -> SideViewTrack | None:
        """The latest window analysis's :class:`SideViewTrack` (``None`` before the first),
        also after a flush (the frames behind the strides it emitted)."""
        return self._latest_track

    # -- internals --------------------------------------------------------------------------

    def _analyse(self, final_until: float, now: float) -> GaitUpdate:
        """The batch engine over the window; emits its events in the newly final span."""
        s = self._state
        frames = list(s.frames)
        if len(frames) < 5:
            return GaitUpdate()
        self.analyses += 1
        ep = self.params.events
        t = np.array([f.t for f in frames])
        keypoints = np.stack([f.keypoints for f in frames])
        track = track_from_limbs(
            t,
            np.stack([f.a for f in frames]),
            np.stack([f.b for f in frames]),
            keypoints,
            min_score=ep.min_score,
            near_far=self._near_far(now),
        )
        s.track = track
        self._latest_track = track
        self._update_scale(now)
        lo = int(np.searchsorted(t, now - self.params.event_window, side="left"))
        window = track.window(t[lo], now)
        stride = track_stride(window, ep.min_score)
        recent, found, swaps = detect_repaired_events(window, ep, stride)
        if swaps and frame_interval(window.t) <= ROBUST_MAX_INTERVAL:
            # Keep a repair once both of its strikes are final: the next windows, the
            # pass's near/far cues and continuity itself then see the legs the right way
            # round.  (Only for dense frames: at 30 fps under MoveNet-like errors such
            # pairs are often missed or spurious strikes, and a kept one stays wrong.)
            for earlier, later in swaps:
                if later <= final_until:
                    self._exchange_legs_since((earlier + later) / 2)
        s.window, s.window_keypoints = recent, keypoints[lo:]
        found = sorted(found, key=lambda e: e.time)
        strike_times = [e.time for e in found if e.kind is EventKind.FOOT_STRIKE]
        if not s.warmed_up and np.isfinite(final_until):
            s.warmed_up = self._warm(now, len(strike_times))
            if not s.warmed_up:
                final_until = -np.inf  # still warming up: held, emitted together afterwards
        gaps = np.diff(strike_times)
        step = step_time(gaps, stride) if len(strike_times) >= 3 else np.nan
        # An event may move by a few ms between windows: one already emitted is recognised
        # by kind within ``min_step`` (no two strikes or toe-offs are closer in running).
        # The window's first smoothing half-window is one-sided: ``detect_events`` reports
        # nothing there, so those events come from the analyses before, which saw them
        # centred.
        start = s.committed_until - ep.min_step
        emitted = list(s.events)
        new_events: list[tuple[GaitEvent, bool]] = []
        for event in found:
            if not (start < event.time <= final_until):
                continue
            if any(
                e.kind is event.kind and abs(e.time - event.time) < ep.min_step for e in emitted
            ):
                continue
            emitted_event = GaitEvent(
                event.kind,
                self._identity_leg(event, step),
                event.time,
                side=side_of_leg(event.leg, track.near_side),  # the window's leg: anatomy
                confidence=event.confidence,
                emitted_at=now,
            )
            if event.kind is EventKind.FOOT_STRIKE:
                self._cut_at_missed_strike(event.time, step)
                s.last_strike = emitted_event
            new_events.append((emitted_event, s.leg_parity))
        s.committed_until = max(s.committed_until, min(final_until, now))
        if not new_events:
            return GaitUpdate()
        return self._assemble(new_events)

    def _exchange_legs_since(self, since: float) -> None:
        """Limb tracks A and B were on each other's legs from ``since`` on (a swap that
        continuity missed): exchange them there, in the pass's cues, and from now on."""
        s = self._state
        legs = list(LEG_JOINTS)
        for frame in s.frames:
            if frame.t >= since:
                frame.a[legs], frame.b[legs] = frame.b[legs].copy(), frame.a[legs].copy()
        s.continuity.exchange_legs()
        s.near_far.exchange_legs_since(since)
        if s.segment is not None:
            s.segment.exchange_legs_since(since)
        self.leg_swaps_kept += 1

    def _warm(self, now: float, strikes: int) -> bool:
        """Whether the pass's warm-up ends at ``now``, with ``strikes`` in the window."""
        first = self._state.first_t
        if first is None:  # no runner seen yet in this pass
            return False
        held, p = now - first, self.params
        return held >= p.pass_warmup and (strikes >= p.warmup_strikes or held >= p.max_warmup)

    def _identity_leg(self, event: GaitEvent, step: float) -> Leg:
        """The name ``event`` keeps in the history: the window's near/far name, exchanged
        while ``leg_parity`` is set.

        Legs alternate.  A strike named like the previous emitted one, less than 1.5 of the
        window's median strike interval (a step, not a missed strike's stride) after it,
        means this window names the legs the other way round from the window that named
        that strike: the parity flips.  Not right after the pass's near/far decision itself
        changed: that renaming is a correction, to be followed, not undone.
        """
        s = self._state
        leg = _other(event.leg) if s.leg_parity else event.leg
        if event.kind is not EventKind.FOOT_STRIKE:
            return leg
        last, renamed, s.vote_changed = s.last_strike, s.vote_changed, False
        if renamed or last is None or leg is not last.leg or not np.isfinite(step):
            return leg
        if event.time - last.time < MISSED_STRIKE_STEPS * step:
            s.leg_parity = not s.leg_parity
            leg = _other(leg)
        return leg

    def _cut_at_missed_strike(self, strike: float, step: float) -> None:
        """A final strike 1.5 steps or more after the last one: a strike was missed, and the
        legs may have swapped unseen there; near/far starts again from this stretch's cues."""
        s = self._state
        last = s.last_strike
        if last is None or not np.isfinite(step) or strike - last.time < MISSED_STRIKE_STEPS * step:
            return
        s.segment = NearFarHistory(self.params.events.min_score)
        s.segment_start = (last.time + strike) / 2
        for frame in s.frames:
            if frame.t >= s.segment_start:
                s.segment.add(frame.a, frame.b, frame.t)

    def _near_far(self, now: float) -> tuple[bool, bool]:
        """Near/far of legs and arms from the whole pass's cues, the legs' from the cues since
        the last missed strike once there are 2 s of them (costly: every so often)."""
        s = self._state
        if now >= s.next_vote:
            s.next_vote = now + self.params.decide_every
            legs_a_near, s.arms_a_near = s.near_far.decide()
            if s.segment is not None:  # since a missed strike: that stretch's own cues
                if now - s.segment_start >= SEGMENT_MIN_DURATION:
                    legs_a_near = s.segment.decide()[0]
                else:
                    legs_a_near = s.legs_a_near  # too little of it yet: as before the cut
            s.vote_changed |= legs_a_near != s.legs_a_near
            s.legs_a_near = legs_a_near
        return s.legs_a_near, s.arms_a_near

    def _update_scale(self, now: float) -> None:
        s = self._state
        if self._fixed_scale is not None or self.athlete_height_cm is None or s.track is None:
            return
        if now < s.next_decision:
            return
        s.next_decision = now + self.params.decide_every
        estimate = resolve_scale(
            s.track, None, self.athlete_height_cm, self.params.events.min_score
        )
        s.height_scale = estimate or s.height_scale

    def _assemble(self, new_events: list[tuple[GaitEvent, bool]]) -> GaitUpdate:
        """Steps and strides completed by ``new_events`` (each strike can complete both).

        Each event comes identity-named with the parity of its window; the steps, strides
        and events returned carry that window's near/far names (the whole history renamed
        alike, so its alternation holds) and the strides' metrics read that window."""
        s = self._state
        recent = s.events
        steps: list[Step] = []
        strides: list[Stride] = []
        for event, parity in sorted(new_events, key=lambda e: e[0].time):
            recent.append(event)
            if event.kind is not EventKind.FOOT_STRIKE:
                continue
            history = [_renamed(e) for e in recent] if parity else list(recent)
            event = history[-1]
            strikes = [e for e in history if e.kind is EventKind.FOOT_STRIKE]
            if len(strikes) >= 2:
                step = make_step(self._step_count, strikes[-2], event, history)
                if step is not None:
                    steps.append(step)
                    self._step_count += 1
            if len(strikes) >= 3:
                extra = None
                if self._stride_fn is not None and s.window is not None:
                    extra = stride_metrics_adapter(
                        s.window, self.scale, self._stride_fn, s.window_keypoints
                    )
                stride = make_stride(
                    self._stride_count, strikes[-3], strikes[-2], event, history, extra
                )
                if stride is not None:
                    strides.append(stride)
                    self._stride_count += 1
        events = tuple(sorted((_renamed(e) if p else e for e, p in new_events), key=_time))
        return GaitUpdate(events, tuple(steps), tuple(strides))


def _other(leg: Leg) -> Leg:
    return Leg.FAR if leg is Leg.NEAR else Leg.NEAR


def _renamed(event: GaitEvent) -> GaitEvent:
    """``event`` with its near/far name exchanged."""
    return dataclasses.replace(event, leg=_other(event.leg))


def _time(event: GaitEvent) -> float:
    return event.time
