"""The runner's own rhythm: the stride period, estimated from the ankle signals themselves.

The event detector's time limits (shortest contact, swing, stride, step; fusion gates; the
smoothing window) hold for the rhythms they were validated on, jogging to walking.  A
sprinter's cycle is shorter than some of them (contact ~0.1 s, stride ~0.45 s; in the
derived 2.4x Fukuchi film 0.09 s and 0.29 s), so :meth:`EventParams.for_stride` scales them
to the stride period found here.

Each ankle's forward position relative to the pelvis is periodic with the stride: it sweeps
back in stance and comes forward in swing.  With both legs, the squared distance between
the two ankles is used instead: a MoveNet label swap between the legs leaves it unchanged,
and it repeats every step (the legs exchange roles), so the stride is twice its period.
The period is the first clear peak of the autocorrelation (over the samples where both
ends of the lag are seen), with sub-frame precision from a parabola through the peak and
its neighbours.  When the signal is too short for two periods or too irregular for a
clear peak the answer is ``nan`` and the detector keeps its defaults.
"""

from __future__ import annotations

import numpy as np

# Stride periods searched (s).  0.25 s is 8 steps/s, well beyond the fastest human rhythm
# (elite sprinters reach ~4.5-5 steps/s, stride ~0.40-0.45 s: Weyand et al. 2000, J Appl
# Physiol 89; Mann & Herman 1985) yet inside the 2.4x derived sprint film (0.29 s); 2.0 s
# is slower than slow walking (BMClab/OpenCap walk trials: strides 1.0-1.12 s).
SHORTEST_STRIDE = 0.25
LONGEST_STRIDE = 2.0
# A peak weaker than this (normalised autocorrelation) is no rhythm.  Clean force-plate
# films and the real MoveNet clips give 0.8-0.99 (tests/test_gait_rhythm.py); noise
# without a rhythm stays below ~0.3.
MIN_PEAK_CORRELATION = 0.5
# The first peak at least this fraction of the highest one is the stride: two and three
# strides correlate about as well as one (a periodic signal), the first is the period.
FIRST_PEAK_FRACTION = 0.85
MIN_CYCLES = 2.0  # the signal must span this many strides of the candidate lag


def stride_period(
    t: np.ndarray,
    forward: np.ndarray,
    valid: np.ndarray,
    *,
    shortest: float = SHORTEST_STRIDE,
    longest: float = LONGEST_STRIDE,
) -> float:
    """The stride period (s) of ankle signals ``forward`` (N, legs) sampled at ``t`` (N,),
    ``valid`` (N, legs) marking the seen samples; ``nan`` if no clear rhythm."""
    t = np.asarray(t, float)
    forward = np.asarray(forward, float).reshape(len(t), -1)
    valid = np.asarray(valid, bool).reshape(len(t), -1) & np.isfinite(forward)
    if len(t) < 10:
        return float("nan")
    steps = np.diff(t)
    steps = steps[steps > 0]
    if len(steps) == 0:
        return float("nan")
    dt = float(np.median(steps))
    if forward.shape[1] == 2:
        # The legs' separation, squared: a label swap between the legs leaves it unchanged,
        # and it repeats every step (the legs swap roles), so a stride is two periods.
        values = (forward[:, :1] - forward[:, 1:]) ** 2
        seen = np.asarray(valid.all(1, keepdims=True))
        return 2 * _period(t, values, seen, dt, shortest / 2, longest / 2)
    return _period(t, forward, valid, dt, shortest, longest)


def _period(
    t: np.ndarray, values: np.ndarray, valid: np.ndarray, dt: float, shortest: float, longest: float
) -> float:
    grid, values, seen = _on_grid(t, values, valid, dt)
    span = grid[-1] - grid[0] if len(grid) else 0.0
    longest = min(longest, span / MIN_CYCLES)
    lo, hi = max(1, int(np.ceil(shortest / dt))), int(np.floor(longest / dt))
    if hi < lo:
        return float("nan")
    # One lag either side of the range, so that a peak on its edge has both neighbours.
    c = _pooled_autocorrelation(values, seen, hi + 2)
    peaks = [
        k for k in range(lo, hi + 1) if np.isfinite(c[k]) and c[k] >= c[k - 1] and c[k] > c[k + 1]
    ]
    if not peaks:
        return float("nan")
    best = max(c[k] for k in peaks)
    if best < MIN_PEAK_CORRELATION:
        return float("nan")
    k = next(k for k in peaks if c[k] >= FIRST_PEAK_FRACTION * best)
    y0, y1, y2 = c[k - 1], c[k], c[k + 1]
    curvature = y0 - 2 * y1 + y2
    shift = 0.5 * (y0 - y2) / curvature if curvature < 0 else 0.0
    return float((k + np.clip(shift, -0.5, 0.5)) * dt)


def _on_grid(
    t: np.ndarray, values: np.ndarray, valid: np.ndarray, dt: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The samples on a uniform grid of step ``dt``: each grid point takes the nearest
    sample if it is within half a step (dropped frames stay unseen, not interpolated)."""
    grid = np.arange(t[0], t[-1] + 0.5 * dt, dt)
    j = np.clip(np.searchsorted(t, grid), 1, len(t) - 1)
    nearest = np.where(np.abs(t[j - 1] - grid) <= np.abs(t[j] - grid), j - 1, j)
    close = np.abs(t[nearest] - grid) <= 0.5 * dt
    seen = valid[nearest] & close[:, None]
    return grid, np.where(seen, values[nearest], 0.0), seen


def _pooled_autocorrelation(values: np.ndarray, seen: np.ndarray, lags: int) -> np.ndarray:
    """Normalised autocorrelation at lags 0..lags-1 over the sample pairs seen at both
    ends, pooled over the columns (legs)."""
    num = np.zeros(lags)
    energy_a = np.zeros(lags)
    energy_b = np.zeros(lags)
    count = np.zeros(lags)
    for x, w in zip(values.T, seen.T, strict=True):
        if w.sum() < 10:
            continue
        x = np.where(w, x - x[w].mean(), 0.0)
        wf = w.astype(float)
        n = len(x)
        full = slice(n - 1, n - 1 + lags)
        num += np.correlate(x, x, "full")[full]
        pairs = np.correlate(wf, wf, "full")[full]
        # energy of the first and of the second sample of each pair seen at both ends
        energy_a += np.correlate(x * x, wf, "full")[full]
        energy_b += np.correlate(wf, x * x, "full")[full]
        count += pairs
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = num / np.sqrt(energy_a * energy_b)
    # A lag seen over fewer pairs than the lag itself (under one cycle) is too noisy.
    corr[count < np.arange(lags)] = np.nan
    return corr
