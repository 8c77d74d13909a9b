"""The streaming engine's frame buffer and its signals: what is kept of each frame, and how.

Each pushed frame keeps its two limb tracks, its raw keypoints and the detector's raw
signals in pixels (:func:`ankle_pixels`: ankle x relative to the pelvis, ankle y), checked
against the curve through the frames just before it (:class:`OnlineOutlierFilter`, the
causal counterpart of :func:`edge.gait.smoothing.reject_outliers`).  Pixels, because the
leg length and the facing direction that turn them into leg lengths
(:func:`signals_in_leg_lengths`) are re-decided as the stream goes on.
:class:`FrameClock` keeps a stable frame interval, which sets the smoothing window.
"""

from __future__ import annotations

from collections.abc import Reversible, Sequence
from dataclasses import dataclass, field

import numpy as np

from edge.gait.events import EventParams
from edge.gait.signals import in_leg_lengths, pelvis_x
from edge.gait.smoothing import OUTLIER_SIGMAS, local_fit
from edge.gait.track import LimbJoint

# The online check compares each sample with a prediction from one side only, which misses
# by more than a centred fit does; its threshold is this much wider than the batch one.
_ONLINE_SIGMA_FACTOR = 1.25
# Residuals seen before a signal's spread is trusted (until then nothing is rejected).
_SPREAD_WARMUP = 20


@dataclass
class BufferedFrame:
    """What the stream keeps of one frame with a usable runner."""

    t: float
    a: np.ndarray  # (6, 3) limb track A
    b: np.ndarray  # (6, 3) limb track B
    px: np.ndarray  # (4,) ankle x - pelvis x for A, B; ankle y for A, B (pixels)
    ok: np.ndarray  # (4,) usable (confident, and not an outlier)
    keypoints: np.ndarray  # (17, 3) as received (face, facing cues)


def frames_since(frames: Reversible[BufferedFrame], start: float) -> list[BufferedFrame]:
    """The newest frames with ``t >= start``, in time order (``frames`` oldest first)."""
    recent = []
    for frame in reversed(frames):
        if frame.t < start:
            break
        recent.append(frame)
    recent.reverse()
    return recent


def ankle_pixels(a: np.ndarray, b: np.ndarray, min_score: float) -> tuple[np.ndarray, np.ndarray]:
    """Ankle x relative to the pelvis and ankle y (pixels) of limb tracks A and B, and which
    of the four are usable."""
    x, seen = pelvis_x(np.array([a[LimbJoint.HIP], b[LimbJoint.HIP]]), min_score)
    if not seen:
        return np.zeros(4), np.zeros(4, bool)
    pelvis = float(x)
    ka, kb = a[LimbJoint.ANKLE], b[LimbJoint.ANKLE]
    px = np.array([ka[0] - pelvis, kb[0] - pelvis, ka[1], kb[1]])
    ok = np.array([ka[2] >= min_score, kb[2] >= min_score, ka[2] >= min_score, kb[2] >= min_score])
    return px, ok


def signals_in_leg_lengths(
    frames: Sequence[BufferedFrame], direction: int, leg_px: float
) -> tuple[np.ndarray, np.ndarray]:
    """(N, 4) forward A, forward B, height A, height B in leg lengths, and validity."""
    px = np.array([f.px for f in frames])
    valid = np.array([f.ok for f in frames])
    values = np.empty_like(px)
    values[:, :2], values[:, 2:] = in_leg_lengths(px[:, :2], px[:, 2:], direction, leg_px)
    return values, valid


@dataclass
class OnlineOutlierFilter:
    """Drops a sample that sits far off the curve through the frames just before it.

    A keypoint that jumps to the other foot for one confident frame would otherwise bend
    the smoothed curve and make a false event.  The spread of these one-frame prediction
    errors is tracked per signal (a running mean absolute residual).
    """

    spread: np.ndarray = field(default_factory=lambda: np.zeros(4))
    count: np.ndarray = field(default_factory=lambda: np.zeros(4, int))

    def check(
        self,
        t: float,
        px: np.ndarray,
        ok: np.ndarray,
        frames: Reversible[BufferedFrame],
        half_window: float,
    ) -> np.ndarray:
        """``ok`` without the signals of the new frame (``t``, ``px``) that are outliers
        against the buffered ``frames`` before it."""
        recent = frames_since(frames, t - half_window)
        if len(recent) < 4:
            return ok
        times = np.array([f.t for f in recent])
        values = np.array([f.px for f in recent])
        valid = np.array([f.ok for f in recent])
        predicted, _ = local_fit(times, values, valid, np.array([t]), half_window)
        resid = np.abs(px - predicted[0])
        checked = ok & np.isfinite(resid)
        spread, count = self.spread, self.count
        trusted = count >= _SPREAD_WARMUP
        outlier = checked & trusted & (resid > OUTLIER_SIGMAS * _ONLINE_SIGMA_FACTOR * spread)
        update = checked & ~outlier
        clipped = np.minimum(resid, 3 * np.where(trusted, spread, np.inf))
        rate = np.where(count < _SPREAD_WARMUP, 1 / (count + 1), 0.02)
        self.spread = np.where(update, spread + rate * (clipped - spread), spread)
        self.count = count + update
        return ok & ~outlier


@dataclass
class FrameClock:
    """The stream's frame interval: a median over the last ~1 s, refreshed now and then so
    that the smoothing window and the lag do not jump around."""

    events: EventParams
    dt: float = 1 / 30
    known: bool = False  # measured over enough frames
    age: int = 0  # updates since the last measurement
    half_window: float = field(init=False)

    def __post_init__(self) -> None:
        self.half_window = self.events.smoothing_half_window(self.dt)

    def update(self, frames: Sequence[BufferedFrame]) -> None:
        """Re-measure the interval every 15 updates (every update until it is known)."""
        self.age += 1
        if self.age >= 15 or not self.known:
            n = len(frames)
            times = [frames[i].t for i in range(max(0, n - 31), n)]
            if len(times) > 2:
                self.dt = float(np.median(np.diff(times)))
                self.known = len(times) > 10
            self.age = 0
        self.half_window = self.events.smoothing_half_window(self.dt)
