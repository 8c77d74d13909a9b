"""Foot strikes and toe-offs of one leg, from its smoothed ankle signals: the event machine.

The detector watches each ankle *relative to the pelvis* (mid-hip), in leg lengths, with
"forward" meaning the runner's direction of travel (:mod:`edge.gait.signals`).  In that
frame a treadmill and an overground run look the same: during stance the foot sweeps
backwards at the ground speed ``v`` (belt speed, or running speed), in swing it comes
forwards much faster.

* **Foot strike** — after the ankle has reached its forward-most point in late swing, it
  is pulled back and, on landing, joins the ground.  The strike is the instant its backward
  speed relative to the pelvis passes ``fs_speed_fraction × v`` (half the ground speed).
  On force-plate data (Fukuchi RBDS001, 2.5 m/s) this instant sits +1 ms from the force
  onset with a 4 ms spread, and it does not drift with speed (3.5 m/s: +0.5 ms).
* **Toe-off** — the ankle rises as the heel lifts, before the toes leave.  Toe-off is the
  instant the ankle climbs ``to_rise`` leg lengths above its stance level (a low percentile
  of this stance's heights), shifted by ``to_offset`` (calibrated once on Fukuchi 2.5 m/s,
  see docs/gait.md).
* **Rhythm fusion** — a runner's contact and stride times vary by only a few ms from step
  to step, less than a single noisy measurement; each event is blended with the time the
  leg's recent rhythm predicts (see :class:`EventParams`).

Event times are interpolated between samples (sub-frame).  Both engines feed the same
:class:`LegEventMachine` with smoothed samples (:mod:`edge.gait.smoothing`): the batch
engine with the fit centred on each frame (zero phase), the streaming engine with the fit a
small ``lag`` behind the newest frame.  So they can only differ by their smoothing.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field, replace
from enum import Enum

import numpy as np

from edge.types import EventKind


@dataclass(frozen=True)
class EventParams:
    """Tuning of the detector; the defaults are the validated ones (docs/gait.md)."""

    min_score: float = 0.3  # keypoints below this confidence are ignored
    half_window: float = 0.09  # s, smoothing half-width ...
    min_half_window_frames: float = 2.5  # ... but never fewer frame intervals than this
    # Frames at most ``dense_frame_interval`` apart (40 fps and up) are smoothed over
    # ``dense_half_window`` instead, with the strike offset that goes with that width (a
    # wider fit makes the landing foot's speed cross its level later).  Chosen on Fukuchi
    # T25 at 60 fps (FS p95 white / MoveNet-like / doubled white noise 16.0 / 19.2 / 33.0
    # ms at 0.09 s, 13.8 / 14.7 / 27.4 at 0.12, 12.1 / 13.9 / 20.2 at 0.15), the offset
    # zeroing T25's mean strike error there as ``fs_offset`` does at 0.09 s.  Below 40 fps
    # the real clips lost strikes with it (docs/gait.md, "Smoothing width at 40 fps and up").
    dense_frame_interval: float = 0.025
    dense_half_window: float = 0.15
    dense_fs_offset: float = -0.006
    # The foot's forward speed and position (strikes) are smoothed over this fraction of
    # ``half_window``; the height (toe-offs) over all of it.  1 unless :meth:`for_stride`
    # narrows it for a fast rhythm.
    speed_window_fraction: float = 1.0
    fs_speed_fraction: float = 0.5
    fs_offset: float = 0.002  # s, added to the detected strike time
    to_rise: float = 0.10  # leg lengths above the stance minimum
    to_offset: float = 0.005  # s, added to the detected toe-off time
    stance_level_percentile: float = 25.0
    # Toe-off fusion: the measured toe-off is noisy (the ankle's rise is slow compared with
    # keypoint noise) while a runner's contact time varies little from step to step (SD 4-5
    # ms on the force plate).  Each toe-off is a weighted mean of the measurement and of
    # (this strike + the median of this leg's recent measured contact times).
    to_measurement_weight: float = 0.3
    to_history: int = 9  # contacts in the running median
    to_gate: float = 0.06  # s: measurements further than this from the prior are not used
    # Strike fusion, the same idea with the stride time (SD 5-7 ms on the force plate); a
    # measurement far from the prior is a real change of rhythm and is kept as it is.
    fs_measurement_weight: float = 0.6
    fs_gate: float = 0.03
    min_contact: float = 0.1  # s, shorter "stances" are noise
    max_contact: float = 1.2  # s, walking stance is up to ~0.8 s
    min_swing: float = 0.2  # s between a toe-off and the next strike of the same leg
    min_stride: float = 0.35  # s between strikes of one leg (sprinters: ~0.45 s)
    min_step: float = 0.1  # s between strikes of the two legs (sprinters: ~0.22 s)
    min_reach: float = 0.05  # leg lengths the ankle must get ahead of the pelvis in swing
    max_gap: float = 0.35  # s without a usable ankle: forget the phase of that leg
    min_ground_speed: float = 0.25  # leg lengths/s; slower than this is not running/walking

    # Scale the time limits to the runner's own stride period (:meth:`for_stride`, found by
    # :func:`edge.gait.rhythm.stride_period`); False keeps the fixed jogging limits.
    follow_rhythm: bool = True
    # The rhythm the time limits above were validated on, and the shortest: Fukuchi T35
    # (3.5 m/s) has a 0.701 s median stride on the force plate (T25: 0.764 s; BMClab and
    # OpenCap walking 1.0-1.12 s), all within target with these limits (docs/gait.md).
    reference_stride: float = 0.70  # s
    # A stride within the estimate's own scatter of the reference is the reference: on the
    # force-plate films the estimate is within 1 % clean and 2-3 % with keypoint errors
    # (tests/test_gait_rhythm.py); it also spares the T35 films a second smoothing pass.
    rhythm_tolerance: float = 0.03

    def smoothing_half_window(self, frame_interval: float) -> float:
        """The widest smoothing half-window (the height's): how far the smoothing sees."""
        return max(self.half_window, self.min_half_window_frames * frame_interval)

    def speed_half_window(self, frame_interval: float) -> float:
        """The smoothing half-window of the foot's forward speed and position."""
        narrowed = self.half_window * self.speed_window_fraction
        return max(narrowed, self.min_half_window_frames * frame_interval)

    def for_frame_interval(self, frame_interval: float) -> EventParams:
        """These parameters for frames ``frame_interval`` seconds apart: dense frames get
        the wider smoothing and its strike offset, sparser ones keep the defaults."""
        if not 0 < frame_interval <= self.dense_frame_interval:
            return self
        return replace(self, half_window=self.dense_half_window, fs_offset=self.dense_fs_offset)

    def for_stride(self, stride: float) -> EventParams:
        """These parameters for a runner whose stride period is ``stride`` seconds.

        A faster rhythm than :attr:`reference_stride` shortens every time limit in
        proportion, so each stays the same fraction of the runner's own cycle as it was of
        the validated one (min_contact 14 %, min_swing 29 %, min_stride 50 %, min_step 14 %,
        max_gap 50 %, max_contact 171 %; fusion gates 4 % and 9 %; the sub-frame offsets).
        The foot-speed smoothing narrows by the square root of the ratio: a fixed 90 ms
        half-window makes strikes late on a fast cycle (+6 ms on the 2.4x film), one scaled
        in full makes them noisy (p95 x3 under MoveNet-like errors at 120 fps); the height
        smoothing stays (toe-off p95 was better at every derived speed; docs/gait.md).
        Slower rhythms (or within :attr:`rhythm_tolerance` of the reference), and ``nan``
        (no clear rhythm), keep the defaults: they already hold from 3.5 m/s to walking.
        """
        if not np.isfinite(stride) or stride >= self.reference_stride * (1 - self.rhythm_tolerance):
            return self
        ratio = stride / self.reference_stride
        return replace(
            self,
            speed_window_fraction=self.speed_window_fraction * float(np.sqrt(ratio)),
            fs_offset=self.fs_offset * ratio,
            to_offset=self.to_offset * ratio,
            to_gate=self.to_gate * ratio,
            fs_gate=self.fs_gate * ratio,
            min_contact=self.min_contact * ratio,
            max_contact=self.max_contact * ratio,
            min_swing=self.min_swing * ratio,
            min_stride=self.min_stride * ratio,
            min_step=self.min_step * ratio,
            max_gap=self.max_gap * ratio,
        )


class Phase(Enum):
    """Where one leg is in its gait cycle, as far as the machine knows."""

    UNKNOWN = "unknown"  # no sample yet, or the leg was lost for longer than ``max_gap``
    SWING = "swing"  # foot in the air: waiting for a strike
    STANCE = "stance"  # foot on the ground: waiting for a toe-off


@dataclass
class LegState:
    """Everything one leg's machine remembers; a fresh one forgets the leg's phase."""

    phase: Phase = Phase.UNKNOWN
    reached_front: bool = False  # swing: the ankle has passed its forward-most point
    last_t: float = float("nan")
    last_speed: float = float("nan")
    last_height: float = float("nan")
    stance_heights: list[float] = field(default_factory=list)  # kept sorted
    last_strike: float = float("nan")
    last_toe_off: float = float("nan")
    contacts: list[float] = field(default_factory=list)  # recent measured contact times
    strides: list[float] = field(default_factory=list)  # recent measured stride times
    last_measured_strike: float = float("nan")
    unmeasured_strike: float = float("nan")  # toe-off reported as expected, still to measure


@dataclass(frozen=True)
class _Sample:
    """One smoothed sample of a leg: time, forward speed, height."""

    t: float
    speed: float
    height: float


@dataclass
class LegEventMachine:
    """Finds one leg's strikes and toe-offs in a time-ordered stream of smoothed samples.

    Feed it with :meth:`update` (time, forward speed, height, forward position, ground
    speed); it returns ``(kind, time)`` pairs as soon as they are decided.
    """

    params: EventParams = field(default_factory=EventParams)
    state: LegState = field(default_factory=LegState)

    @property
    def last_strike(self) -> float:
        """Time of this leg's latest strike (``nan`` before the first)."""
        return self.state.last_strike

    def update(
        self,
        t: float,
        speed: float,
        height: float,
        forward: float,
        v_ground: float,
        deadline: float = float("inf"),
        now: float = float("inf"),
        other_strike: float = float("nan"),
    ) -> list[tuple[EventKind, float]]:
        """Take one smoothed sample; return the events it decides.

        Streaming only: ``deadline`` — if the toe-off's measurement has not come this many
        seconds after its expected time (strike + median contact time), report the expected
        time instead of waiting longer; ``now`` — the newest frame's time: no event is
        placed after it.  ``other_strike`` is the other leg's latest strike: two legs cannot
        land within ``min_step`` of each other.
        """
        if not (np.isfinite(speed) and np.isfinite(height)):
            return []
        p = self.params
        if np.isfinite(self.state.last_t) and t - self.state.last_t > p.max_gap:
            self.state = LegState()
        s = self.state
        prev = _Sample(s.last_t, s.last_speed, s.last_height)
        cur = _Sample(t, speed, height)
        s.last_t, s.last_speed, s.last_height = t, speed, height
        if not np.isfinite(v_ground) or v_ground < p.min_ground_speed:
            return []
        if s.phase is Phase.UNKNOWN:
            self._start(cur, forward, v_ground)
            return []
        if s.phase is Phase.SWING:
            return self._in_swing(prev, cur, forward, v_ground, now, other_strike)
        return self._in_stance(prev, cur, v_ground, deadline, now)

    # -- the phases ---------------------------------------------------------------------------

    def _start(self, cur: _Sample, forward: float, v_ground: float) -> None:
        """First sample: guess the phase from the foot's speed."""
        p, s = self.params, self.state
        s.phase = Phase.STANCE if cur.speed < -p.fs_speed_fraction * v_ground else Phase.SWING
        # Starting in late swing, after the forward-most point, still allows a strike.
        s.reached_front = cur.speed <= 0 and forward > p.min_reach
        s.stance_heights = [cur.height]

    def _in_swing(
        self,
        prev: _Sample,
        cur: _Sample,
        forward: float,
        v_ground: float,
        now: float,
        other_strike: float,
    ) -> list[tuple[EventKind, float]]:
        """Swing: a strike when the ankle, past its forward-most point, joins the ground."""
        p, s = self.params, self.state
        if np.isfinite(s.unmeasured_strike):
            self._measure_late_toe_off(prev, cur)
        if prev.speed > 0 >= cur.speed and forward > p.min_reach:
            s.reached_front = True
        level = -p.fs_speed_fraction * v_ground
        if not (s.reached_front and prev.speed > level >= cur.speed):
            return []
        crossing = _interp_crossing(prev.t, prev.speed, cur.t, cur.speed, level)
        strike = min(self._fuse_strike(crossing + p.fs_offset), now)
        if self._too_soon(strike, other_strike):
            return []
        s.last_strike = strike
        s.unmeasured_strike = float("nan")
        s.phase = Phase.STANCE
        s.stance_heights = [cur.height]
        s.reached_front = False
        return [(EventKind.FOOT_STRIKE, strike)]

    def _too_soon(self, strike: float, other_strike: float) -> bool:
        """A strike this close to the leg's toe-off or strike, or the other leg's, is noise."""
        p, s = self.params, self.state
        return (
            strike - s.last_toe_off < p.min_swing
            or strike - s.last_strike < p.min_stride
            or strike - other_strike < p.min_step
        )

    def _in_stance(
        self, prev: _Sample, cur: _Sample, v_ground: float, deadline: float, now: float
    ) -> list[tuple[EventKind, float]]:
        """Stance: a toe-off when the ankle rises off its stance level (or is overdue)."""
        p, s = self.params, self.state
        if cur.speed > p.fs_speed_fraction * v_ground:
            # The foot swings forwards: it cannot be on the ground.  The toe-off was
            # missed (or the start was misread); wait for the next strike.
            self._enter_swing(reached_front=False)
            return []
        if np.isfinite(s.last_strike) and cur.t - s.last_strike > p.max_contact:
            # Lost the toe-off (occlusion): wait for the next swing instead.
            self._enter_swing(reached_front=cur.speed <= 0)
            return []
        # The stance level: a low percentile of this stance's heights, robust to noise
        # (the minimum of a noisy signal sits too low and makes toe-off late).
        if len(s.stance_heights) < 200:
            bisect.insort(s.stance_heights, cur.height)
        expected = self._expected_toe_off()
        if np.isfinite(deadline) and np.isfinite(expected) and cur.t - expected >= deadline:
            # Overdue: report the expected time; the swing still measures it for the history.
            s.unmeasured_strike = s.last_strike
            return self._toe_off(expected)
        level = self._stance_level()
        if not prev.height < level <= cur.height:
            return []
        crossing = _interp_crossing(prev.t, prev.height, cur.t, cur.height, level)
        # Streaming: the blend may not place the toe-off in the future.
        toe_off = min(self._fuse_toe_off(crossing + p.to_offset), now)
        long_enough = not (toe_off - s.last_strike < p.min_contact)
        # Emit only a toe-off whose strike we saw (or a first one mid-stance), of a foot that
        # is not swinging forwards.
        if long_enough and cur.speed < 0.5 * v_ground:
            return self._toe_off(toe_off)
        return []

    def _toe_off(self, when: float) -> list[tuple[EventKind, float]]:
        self.state.last_toe_off = when
        self._enter_swing(reached_front=False)
        return [(EventKind.TOE_OFF, when)]

    def _enter_swing(self, *, reached_front: bool) -> None:
        self.state.phase = Phase.SWING
        self.state.reached_front = reached_front

    # -- measurements and rhythm --------------------------------------------------------------

    def _measure_late_toe_off(self, prev: _Sample, cur: _Sample) -> None:
        """After reporting an expected toe-off, still learn the contact time it really had."""
        p, s = self.params, self.state
        if len(s.stance_heights) == 0 or cur.t - s.unmeasured_strike > p.max_contact:
            s.unmeasured_strike = float("nan")
            return
        level = self._stance_level()
        if prev.height < level <= cur.height:
            measured = _interp_crossing(prev.t, prev.height, cur.t, cur.height, level) + p.to_offset
            contact = measured - s.unmeasured_strike
            if p.min_contact <= contact <= p.max_contact:
                _remember(s.contacts, contact, p.to_history)
            s.unmeasured_strike = float("nan")
        # (The level stays frozen: heights seen now may already be rising.)

    def _fuse_strike(self, measured: float) -> float:
        """Blend a measured strike with the previous one + the recent median stride time."""
        p, s = self.params, self.state
        prior = float("nan")
        if len(s.strides) >= 3 and np.isfinite(s.last_strike):
            prior = s.last_strike + float(np.median(s.strides))
        if np.isfinite(s.last_measured_strike):
            stride = measured - s.last_measured_strike
            if 0 < stride <= 2.0:
                _remember(s.strides, stride, p.to_history)
        s.last_measured_strike = measured
        if not np.isfinite(prior) or abs(measured - prior) > p.fs_gate:
            return measured
        w = p.fs_measurement_weight
        return w * measured + (1 - w) * prior

    def _stance_level(self) -> float:
        """Toe-off threshold: a low percentile of this stance's (sorted) heights + the rise."""
        heights = self.state.stance_heights
        i = round(self.params.stance_level_percentile / 100 * (len(heights) - 1))
        return heights[i] + self.params.to_rise

    def _expected_toe_off(self) -> float:
        s = self.state
        if len(s.contacts) < 3 or not np.isfinite(s.last_strike):
            return float("nan")
        return s.last_strike + float(np.median(s.contacts))

    def _fuse_toe_off(self, measured: float) -> float:
        """Blend a measured toe-off with this strike + the recent median contact time."""
        p, s = self.params, self.state
        if not np.isfinite(s.last_strike):
            return measured
        contact = measured - s.last_strike
        prior = self._expected_toe_off()
        if p.min_contact <= contact <= p.max_contact:
            _remember(s.contacts, contact, p.to_history)
        if not np.isfinite(prior):
            return measured
        if abs(measured - prior) > p.to_gate:
            return prior
        w = p.to_measurement_weight
        return w * measured + (1 - w) * prior


def _remember(history: list[float], value: float, size: int) -> None:
    """Append ``value`` and keep only the latest ``size`` entries."""
    history.append(value)
    del history[: max(0, len(history) - size)]


def _interp_crossing(t0: float, y0: float, t1: float, y1: float, level: float) -> float:
    if y1 == y0:
        return t1
    return t0 + (t1 - t0) * (level - y0) / (y1 - y0)
