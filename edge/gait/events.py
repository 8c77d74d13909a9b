"""Foot strikes and toe-offs from side-view keypoints, without heel or toe markers.

The detector watches each ankle *relative to the pelvis* (mid-hip), in leg lengths, with
"forward" meaning the runner's direction of travel.  In that frame a treadmill and an
overground run look the same: during stance the foot sweeps backwards at the ground speed
``v`` (belt speed, or running speed), in swing it comes forwards much faster.

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

Signals are smoothed by local quadratic regression over a time window (:func:`local_fit`),
which handles irregular timestamps, dropped frames and low-confidence keypoints without
resampling; event times are interpolated between samples (sub-frame).  The batch engine
evaluates the fit centred on each frame (zero phase); the streaming engine evaluates it a
small ``lag`` behind the newest frame.  Both feed the same :class:`LegEventMachine`.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

import numpy as np

from edge.gait.track import LimbJoint, SideViewTrack
from edge.types import EventKind, GaitEvent, Leg, Side


@dataclass(frozen=True)
class EventParams:
    """Tuning of the detector; the defaults are the validated ones (docs/gait.md)."""

    min_score: float = 0.3  # keypoints below this confidence are ignored
    half_window: float = 0.09  # s, smoothing half-width at high frame rates ...
    min_half_window_frames: float = 2.5  # ... but never fewer frame intervals than this
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

    def smoothing_half_window(self, frame_interval: float) -> float:
        return max(self.half_window, self.min_half_window_frames * frame_interval)


# --- smoothing -------------------------------------------------------------------------------

OUTLIER_SIGMAS = 4.0  # residuals beyond this many robust SDs are treated as missing


def local_fit(
    t: np.ndarray,
    values: np.ndarray,
    valid: np.ndarray,
    t_query: np.ndarray,
    half_window: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Local quadratic regression of ``values`` at ``t_query``: (value, slope per second).

    ``values`` is (N, K) sampled at sorted times ``t`` (N,); ``valid`` (N, K) marks usable
    samples.  Each query uses the samples within ``half_window`` seconds, weighted by a
    tricube kernel, so irregular timestamps and gaps need no resampling.  Where fewer than
    three samples (or samples on one side only, for the slope) are usable the result is
    ``nan``.
    """
    t = np.asarray(t, float)
    t_query = np.atleast_1d(np.asarray(t_query, float))
    values = np.asarray(values, float).reshape(len(t), -1)
    valid = np.asarray(valid, bool).reshape(len(t), -1)
    n, k = values.shape
    q = len(t_query)
    if q == 1 and n > 0:
        return _fit_one(t, values, valid, float(t_query[0]), half_window)
    out_v = np.full((q, k), np.nan)
    out_s = np.full((q, k), np.nan)
    if n == 0 or q == 0:
        return out_v, out_s
    lo = np.searchsorted(t, t_query - half_window, side="left")
    hi = np.searchsorted(t, t_query + half_window, side="right")
    width = int((hi - lo).max(initial=0))
    if width < 3:
        return out_v, out_s
    idx = lo[:, None] + np.arange(width)[None, :]  # (Q, W)
    inside = idx < hi[:, None]
    idx = np.minimum(idx, n - 1)
    dt = t[idx] - t_query[:, None]  # (Q, W)
    u = np.clip(np.abs(dt) / half_window, 0, 1)
    kernel = np.where(inside, (1 - u**3) ** 3, 0.0)
    x = (dt / half_window)[:, :, None]  # (Q, W, 1), scaled for conditioning
    w = kernel[:, :, None] * valid[idx]  # (Q, W, K)
    y = np.where(w > 0, values[idx], 0.0)
    x2 = x * x
    s0, s1, s2 = w.sum(1), (w * x).sum(1), (w * x2).sum(1)
    s3, s4 = (w * x2 * x).sum(1), (w * x2 * x2).sum(1)
    wy = w * y
    b0, b1, b2 = wy.sum(1), (wy * x).sum(1), (wy * x2).sum(1)
    # Normal equations of the quadratic, solved by Cramer's rule for all queries at once.
    det = s0 * (s2 * s4 - s3 * s3) - s1 * (s1 * s4 - s2 * s3) + s2 * (s1 * s3 - s2 * s2)
    c0 = b0 * (s2 * s4 - s3 * s3) - s1 * (b1 * s4 - s3 * b2) + s2 * (b1 * s3 - s2 * b2)
    c1 = s0 * (b1 * s4 - s3 * b2) - b0 * (s1 * s4 - s2 * s3) + s2 * (s1 * b2 - b1 * s2)
    used = w > 0
    count = used.sum(1)
    before = (used & (dt < 0)[:, :, None]).sum(1)
    after = (used & (dt > 0)[:, :, None]).sum(1)
    quadratic = (count >= 3) & (np.abs(det) > 1e-9 * np.maximum(s0, 1e-12) ** 3)
    # Too few points for a parabola: a straight line still gives value and slope.
    d_lin = s0 * s2 - s1 * s1
    linear = ~quadratic & (count >= 2) & (np.abs(d_lin) > 1e-12)
    with np.errstate(divide="ignore", invalid="ignore"):
        value = np.where(quadratic, c0 / det, (s2 * b0 - s1 * b1) / d_lin)
        slope = np.where(quadratic, c1 / det, (s0 * b1 - s1 * b0) / d_lin) / half_window
    ok = quadratic | linear
    out_v[:] = np.where(ok, value, np.nan)
    # A slope needs support on both sides unless there are enough points on one side.
    out_s[:] = np.where(ok & (((before >= 1) & (after >= 1)) | (count >= 4)), slope, np.nan)
    return out_v, out_s


def _fit_one(
    t: np.ndarray, values: np.ndarray, valid: np.ndarray, tq: float, half_window: float
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`local_fit` for a single query (the streaming case), with far fewer array ops."""
    k = values.shape[1]
    lo = int(np.searchsorted(t, tq - half_window, side="left"))
    hi = int(np.searchsorted(t, tq + half_window, side="right"))
    nan = np.full((1, k), np.nan)
    if hi - lo < 2:
        return nan, nan.copy()
    dt = t[lo:hi] - tq
    x = dt / half_window
    w = ((1 - np.minimum(np.abs(x), 1) ** 3) ** 3)[:, None] * valid[lo:hi]  # (W, K)
    powers = np.vander(x, 5, increasing=True)  # 1, x, x^2, x^3, x^4
    s0, s1, s2, s3, s4 = powers.T @ w  # each (K,)
    y = np.where(w > 0, values[lo:hi], 0.0)
    b0, b1, b2 = powers[:, :3].T @ (w * y)
    det = s0 * (s2 * s4 - s3 * s3) - s1 * (s1 * s4 - s2 * s3) + s2 * (s1 * s3 - s2 * s2)
    c0 = b0 * (s2 * s4 - s3 * s3) - s1 * (b1 * s4 - s3 * b2) + s2 * (b1 * s3 - s2 * b2)
    c1 = s0 * (b1 * s4 - s3 * b2) - b0 * (s1 * s4 - s2 * s3) + s2 * (s1 * b2 - b1 * s2)
    used = w > 0
    count = used.sum(0)
    before = used[dt < 0].sum(0)
    after = used[dt > 0].sum(0)
    quadratic = (count >= 3) & (np.abs(det) > 1e-9 * np.maximum(s0, 1e-12) ** 3)
    d_lin = s0 * s2 - s1 * s1
    linear = ~quadratic & (count >= 2) & (np.abs(d_lin) > 1e-12)
    with np.errstate(divide="ignore", invalid="ignore"):
        value = np.where(quadratic, c0 / det, (s2 * b0 - s1 * b1) / d_lin)
        slope = np.where(quadratic, c1 / det, (s0 * b1 - s1 * b0) / d_lin) / half_window
    ok = quadratic | linear
    value = np.where(ok, value, np.nan)
    slope = np.where(ok & (((before >= 1) & (after >= 1)) | (count >= 4)), slope, np.nan)
    return value[None, :], slope[None, :]


# --- signals ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class LegSignals:
    """Per-frame raw signals of both legs, in leg lengths, forward = direction of travel.

    ``forward[:, i]`` is ankle minus pelvis along the direction of travel, ``height[:, i]``
    the ankle height (up positive, arbitrary origin); column 0 is the near leg, 1 the far.
    """

    t: np.ndarray
    forward: np.ndarray  # (N, 2)
    height: np.ndarray  # (N, 2)
    valid: np.ndarray  # (N, 2)
    leg_length: float  # px


def pelvis_x(track: SideViewTrack, min_score: float) -> tuple[np.ndarray, np.ndarray]:
    """Mid-hip image x (score-weighted; one hip alone if the other is missing) and validity."""
    hips = np.stack([track.near[:, LimbJoint.HIP], track.far[:, LimbJoint.HIP]], 1)
    w = (hips[:, :, 2] >= min_score).astype(float)
    total = w.sum(1)
    x = np.where(total > 0, (hips[:, :, 0] * w).sum(1) / np.maximum(total, 1), np.nan)
    return x, total > 0


def estimate_leg_length(near: np.ndarray, far: np.ndarray, min_score: float) -> float:
    """Median hip-knee plus knee-ankle length (px) over confident frames of both legs."""
    lengths = []
    for limb in (near, far):
        hip, knee, ankle = limb[:, LimbJoint.HIP], limb[:, LimbJoint.KNEE], limb[:, LimbJoint.ANKLE]
        ok = (hip[:, 2] >= min_score) & (knee[:, 2] >= min_score) & (ankle[:, 2] >= min_score)
        if ok.any():
            thigh = np.hypot(*(hip[ok, :2] - knee[ok, :2]).T)
            shank = np.hypot(*(knee[ok, :2] - ankle[ok, :2]).T)
            lengths.append(thigh + shank)
    if not lengths:
        return float("nan")
    length = float(np.median(np.concatenate(lengths)))
    return length if length >= 1.0 else float("nan")  # a collapsed pose has no scale


def leg_signals(
    track: SideViewTrack, min_score: float = 0.3, leg_length: float | None = None
) -> LegSignals:
    """The ankle signals the detector watches, for both legs of ``track``."""
    px, pvalid = pelvis_x(track, min_score)
    length = leg_length or estimate_leg_length(track.near, track.far, min_score)
    forward = np.empty((len(track), 2))
    height = np.empty((len(track), 2))
    valid = np.empty((len(track), 2), bool)
    for i, limb in enumerate((track.near, track.far)):
        ankle = limb[:, LimbJoint.ANKLE]
        forward[:, i] = track.direction * (ankle[:, 0] - px) / length
        height[:, i] = -ankle[:, 1] / length
        valid[:, i] = pvalid & (ankle[:, 2] >= min_score)
    forward[~valid] = 0.0
    height[~valid] = 0.0
    return LegSignals(np.asarray(track.t, float), forward, height, valid, length)


def ground_speed(backward_speeds: np.ndarray) -> float:
    """Ground speed (leg lengths/s) from the ankle's forward speed relative to the pelvis.

    Stance takes 35–60 % of the cycle at a nearly constant ``-v``; swing is mostly forward.
    The 20th percentile of all samples of both legs therefore sits on the stance plateau.
    """
    finite = backward_speeds[np.isfinite(backward_speeds)]
    if len(finite) < 10:
        return float("nan")
    return float(-np.percentile(finite, 20))


# --- the state machine -----------------------------------------------------------------------


@dataclass
class LegEventMachine:
    """Finds one leg's strikes and toe-offs in a time-ordered stream of smoothed samples.

    Feed it with :meth:`update` (time, forward position, forward speed, height, ground
    speed); it returns ``(kind, time)`` pairs as soon as they are decided.  The batch and
    streaming engines share it, so they can only differ by their smoothing.
    """

    params: EventParams = field(default_factory=EventParams)
    phase: str = "unknown"  # "unknown", "swing" (waiting for a strike), "stance" (for toe-off)
    reached_front: bool = False  # swing: ankle has passed its forward-most point
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

    def reset(self) -> None:
        self.phase = "unknown"
        self.reached_front = False
        self.last_t = self.last_speed = self.last_height = float("nan")
        self.stance_heights = []
        self.last_strike = self.last_toe_off = float("nan")
        self.contacts = []
        self.strides = []
        self.last_measured_strike = float("nan")
        self.unmeasured_strike = float("nan")

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
        p = self.params
        found: list[tuple[EventKind, float]] = []
        if not (np.isfinite(speed) and np.isfinite(height)):
            return found
        if np.isfinite(self.last_t) and t - self.last_t > p.max_gap:
            self.reset()
        if not np.isfinite(v_ground) or v_ground < p.min_ground_speed:
            self.last_t, self.last_speed, self.last_height = t, speed, height
            return found
        prev_t, prev_speed, prev_height = self.last_t, self.last_speed, self.last_height
        self.last_t, self.last_speed, self.last_height = t, speed, height
        if self.phase == "unknown":
            self.phase = "stance" if speed < -p.fs_speed_fraction * v_ground else "swing"
            # Starting in late swing, after the forward-most point, still allows a strike.
            self.reached_front = speed <= 0 and forward > p.min_reach
            self.stance_heights = [height]
            return found

        if self.phase == "swing":
            if np.isfinite(self.unmeasured_strike):
                self._measure_late_toe_off(prev_t, prev_height, t, height)
            if prev_speed > 0 >= speed and forward > p.min_reach:
                self.reached_front = True
            level = -p.fs_speed_fraction * v_ground
            if self.reached_front and prev_speed > level >= speed:
                crossing = _interp_crossing(prev_t, prev_speed, t, speed, level)
                strike = min(self._fuse_strike(crossing + p.fs_offset), now)
                too_soon = (
                    strike - self.last_toe_off < p.min_swing
                    or strike - self.last_strike < p.min_stride
                    or strike - other_strike < p.min_step
                )
                if not too_soon:
                    found.append((EventKind.FOOT_STRIKE, strike))
                    self.last_strike = strike
                    self.unmeasured_strike = float("nan")
                    self.phase = "stance"
                    self.stance_heights = [height]
                    self.reached_front = False
        elif self.phase == "stance":
            if speed > p.fs_speed_fraction * v_ground:
                # The foot swings forwards: it cannot be on the ground.  The toe-off was
                # missed (or the start was misread); wait for the next strike.
                self.phase = "swing"
                self.reached_front = False
                return found
            if np.isfinite(self.last_strike) and t - self.last_strike > p.max_contact:
                # Lost the toe-off (occlusion): wait for the next swing instead.
                self.phase = "swing"
                self.reached_front = speed <= 0
                return found
            # The stance level: a low percentile of this stance's heights, robust to noise
            # (the minimum of a noisy signal sits too low and makes toe-off late).
            if len(self.stance_heights) < 200:
                bisect.insort(self.stance_heights, height)
            level = self._stance_level()
            expected = self._expected_toe_off()
            if np.isfinite(deadline) and np.isfinite(expected) and t - expected >= deadline:
                found.append((EventKind.TOE_OFF, expected))
                self.last_toe_off = expected
                self.unmeasured_strike = self.last_strike
                self.phase = "swing"
                self.reached_front = False
            elif prev_height < level <= height:
                crossing = _interp_crossing(prev_t, prev_height, t, height, level)
                # Streaming: the blend may not place the toe-off in the future.
                toe_off = min(self._fuse_toe_off(crossing + p.to_offset), now)
                long_enough = not (toe_off - self.last_strike < p.min_contact)
                if long_enough and speed < 0.5 * v_ground:
                    # Emit only a toe-off whose strike we saw (or a first one mid-stance).
                    found.append((EventKind.TOE_OFF, toe_off))
                    self.last_toe_off = toe_off
                    self.phase = "swing"
                    self.reached_front = False
        return found

    def _measure_late_toe_off(self, t0: float, h0: float, t1: float, h1: float) -> None:
        """After reporting an expected toe-off, still learn the contact time it really had."""
        p = self.params
        if len(self.stance_heights) == 0 or t1 - self.unmeasured_strike > p.max_contact:
            self.unmeasured_strike = float("nan")
            return
        level = self._stance_level()
        if h0 < level <= h1:
            measured = _interp_crossing(t0, h0, t1, h1, level) + p.to_offset
            contact = measured - self.unmeasured_strike
            if p.min_contact <= contact <= p.max_contact:
                self.contacts.append(contact)
                del self.contacts[: max(0, len(self.contacts) - p.to_history)]
            self.unmeasured_strike = float("nan")
        # (The level stays frozen: heights seen now may already be rising.)

    def _fuse_strike(self, measured: float) -> float:
        """Blend a measured strike with the previous one + the recent median stride time."""
        p = self.params
        history = self.strides
        prior = float("nan")
        if len(history) >= 3 and np.isfinite(self.last_strike):
            prior = self.last_strike + float(np.median(history))
        if np.isfinite(self.last_measured_strike):
            stride = measured - self.last_measured_strike
            if 0 < stride <= 2.0:
                history.append(stride)
                del history[: max(0, len(history) - p.to_history)]
        self.last_measured_strike = measured
        if not np.isfinite(prior) or abs(measured - prior) > p.fs_gate:
            return measured
        w = p.fs_measurement_weight
        return w * measured + (1 - w) * prior

    def _stance_level(self) -> float:
        """Toe-off threshold: a low percentile of this stance's (sorted) heights + the rise."""
        heights = self.stance_heights
        i = round(self.params.stance_level_percentile / 100 * (len(heights) - 1))
        return heights[i] + self.params.to_rise

    def _expected_toe_off(self) -> float:
        if len(self.contacts) < 3 or not np.isfinite(self.last_strike):
            return float("nan")
        return self.last_strike + float(np.median(self.contacts))

    def _fuse_toe_off(self, measured: float) -> float:
        """Blend a measured toe-off with this strike + the recent median contact time."""
        p = self.params
        if not np.isfinite(self.last_strike):
            return measured
        contact = measured - self.last_strike
        history = self.contacts
        prior = self._expected_toe_off()
        if p.min_contact <= contact <= p.max_contact:
            history.append(contact)
            del history[: max(0, len(history) - p.to_history)]
        if not np.isfinite(prior):
            return measured
        if abs(measured - prior) > p.to_gate:
            return prior
        w = p.to_measurement_weight
        return w * measured + (1 - w) * prior


def _interp_crossing(t0: float, y0: float, t1: float, y1: float, level: float) -> float:
    if y1 == y0:
        return t1
    return t0 + (t1 - t0) * (level - y0) / (y1 - y0)


# --- batch detection -------------------------------------------------------------------------


def frame_interval(t: np.ndarray) -> float:
    """Median frame interval of a timestamp array (s); 1/30 if unknown."""
    if len(t) < 2:
        return 1 / 30
    d = np.diff(t)
    d = d[d > 0]
    return float(np.median(d)) if len(d) else 1 / 30


def reject_outliers(
    t: np.ndarray,
    values: np.ndarray,
    valid: np.ndarray,
    half_window: float,
    threshold: float = OUTLIER_SIGMAS,
) -> np.ndarray:
    """``valid`` without the samples that sit far off a local fit of their neighbours.

    A keypoint that jumps to the other leg or the shadow for one frame, with a confident
    score, would otherwise bend the smoothed curve and make a false event.  The spread is
    estimated robustly (median absolute residual) per column.
    """
    fit, _ = local_fit(t, values, valid, t, half_window)
    resid = np.abs(values - fit)
    usable = valid & np.isfinite(resid)
    sigma = np.full(values.shape[1], np.inf)
    for j in range(values.shape[1]):
        if usable[:, j].sum() >= 3:
            sigma[j] = 1.4826 * float(np.median(resid[usable[:, j], j])) or np.inf
    with np.errstate(invalid="ignore"):
        return valid & ~(resid > threshold * sigma)


def smooth_signals(signals: LegSignals, t_query: np.ndarray, half_window: float) -> np.ndarray:
    """(Q, 2, 3) smoothed ``forward speed, height, forward`` for both legs at ``t_query``."""
    values = np.concatenate([signals.forward, signals.height], 1)
    valid = np.concatenate([signals.valid, signals.valid], 1)
    valid = reject_outliers(signals.t, values, valid, half_window)
    v, s = local_fit(signals.t, values, valid, t_query, half_window)
    out = np.empty((len(t_query), 2, 3))
    out[:, :, 0] = s[:, :2]
    out[:, :, 1] = v[:, 2:]
    out[:, :, 2] = v[:, :2]
    return out


def detect_events(track: SideViewTrack, params: EventParams | None = None) -> list[GaitEvent]:
    """All foot strikes and toe-offs in ``track`` (zero-phase smoothing), in time order."""
    params = params or EventParams()
    if len(track) < 5:
        return []
    signals = leg_signals(track, params.min_score)
    if not np.isfinite(signals.leg_length):
        return []
    half = params.smoothing_half_window(frame_interval(signals.t))
    smooth = smooth_signals(signals, signals.t, half)
    v_ground = ground_speed(smooth[:, :, 0].ravel())
    events: list[GaitEvent] = []
    legs = (Leg.NEAR, Leg.FAR)
    machines = (LegEventMachine(params), LegEventMachine(params))
    sides = [_side_of(track, leg) for leg in legs]
    for i, t in enumerate(signals.t):
        for column, machine in enumerate(machines):
            speed, height, forward = smooth[i, column]
            other = machines[1 - column].last_strike
            found = machine.update(float(t), speed, height, forward, v_ground, other_strike=other)
            for kind, when in found:
                events.append(GaitEvent(kind, legs[column], when, side=sides[column]))
    events.sort(key=lambda e: e.time)
    return events


def _side_of(track: SideViewTrack, leg: Leg) -> Side | None:
    if track.near_side is None:
        return None
    if leg is Leg.NEAR:
        return track.near_side
    return Side.LEFT if track.near_side is Side.RIGHT else Side.RIGHT
