"""Vector, angle and sampling helpers for keypoint time series.

Everything works on plain arrays in image coordinates (x to the right, y **downwards**) and
treats ``nan`` as "not seen".  Angles are in degrees.  The travel ``direction`` (+1 when the
runner moves towards increasing image x, -1 otherwise) turns image x into "forward", so every
signed angle below reads the same whichever way the runner crosses the picture.

Sampling is time based, never frame based: frames arrive at irregular times and some are
missing, so values at an event time are interpolated with :func:`np.interp` over the valid
samples only, and refused when the nearest valid samples are too far apart.
"""

from __future__ import annotations

import numpy as np

#: Longest gap between two valid samples that an event time may be interpolated across.
#: Three frames at 30 fps: a single dropped frame is bridged, a lost limb is not.
MAX_INTERP_GAP_S = 0.1


def masked_xy(points: np.ndarray, min_score: float) -> np.ndarray:
    """``x, y`` of an (..., 3) ``x, y, score`` array with low-score points set to ``nan``."""
    xy = np.array(points[..., :2], dtype=float)
    xy[~(points[..., 2] >= min_score)] = np.nan
    return xy


def segment_angle_down(top: np.ndarray, bottom: np.ndarray, direction: int) -> np.ndarray:
    """Angle of the segment ``top → bottom`` from the downward vertical, forward positive.

    For the thigh (hip → knee) and the shank (knee → ankle): 0° hangs straight down,
    positive means the lower end is ahead of the upper end in the direction of travel.
    """
    d = bottom - top
    return np.degrees(np.arctan2(direction * d[..., 0], d[..., 1]))


def segment_angle_up(bottom: np.ndarray, top: np.ndarray, direction: int) -> np.ndarray:
    """Angle of the segment ``bottom → top`` from the upward vertical, forward positive.

    For the trunk (mid-hip → mid-shoulder): 0° is upright, positive is a forward lean.
    """
    d = top - bottom
    return np.degrees(np.arctan2(direction * d[..., 0], -d[..., 1]))


def pitch_below_horizontal(back: np.ndarray, front: np.ndarray, direction: int) -> np.ndarray:
    """Angle of ``back → front`` below the forward horizontal (positive = front end lower)."""
    d = front - back
    return np.degrees(np.arctan2(d[..., 1], direction * d[..., 0]))


def wrap_degrees(angle: np.ndarray) -> np.ndarray:
    """Wrap angles to [-180, 180)."""
    return (np.asarray(angle) + 180.0) % 360.0 - 180.0


def interior_angle(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Angle ``a-b-c`` at ``b`` in degrees, 0..180 (180 = straight)."""
    u = a - b
    v = c - b
    dot = np.sum(u * v, axis=-1)
    cross = u[..., 0] * v[..., 1] - u[..., 1] * v[..., 0]
    return np.degrees(np.abs(np.arctan2(cross, dot)))


def segment_lengths(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per-frame distance between two (..., 2) point series (``nan`` if unseen)."""
    return np.linalg.norm(b - a, axis=-1)


def robust_length(lengths: np.ndarray) -> float:
    """Median of the finite lengths, ``nan`` when there are none."""
    finite = lengths[np.isfinite(lengths)]
    return float(np.median(finite)) if finite.size else float("nan")


def interp_at(
    t: np.ndarray,
    values: np.ndarray,
    at: float,
    max_gap: float = MAX_INTERP_GAP_S,
    snap: float = 0.0,
) -> float:
    """``values`` linearly interpolated at time ``at`` over its finite samples only.

    ``nan`` when ``at`` lies outside the valid samples (no extrapolation) or when the two
    valid samples around it are more than ``max_gap`` seconds apart, unless a valid sample
    lies within ``snap`` seconds of ``at``: then that sample.
    """
    ok = np.isfinite(values)
    tv = t[ok]
    if tv.size == 0:
        return float("nan")
    i = int(np.searchsorted(tv, at, side="left"))
    if i < tv.size and tv[i] == at:
        return float(values[ok][i])
    if i == 0 or i == tv.size or tv[i] - tv[i - 1] > max_gap:
        near = [j for j in (i - 1, i) if 0 <= j < tv.size and abs(float(tv[j]) - at) <= snap]
        return float(values[ok][near[0]]) if near else float("nan")
    # Scalar arithmetic: this runs dozens of times per stride on tiny arrays.
    t0, t1 = float(tv[i - 1]), float(tv[i])
    v = values[ok]
    v0, v1 = float(v[i - 1]), float(v[i])
    return v0 + (v1 - v0) * (at - t0) / (t1 - t0)


def in_window(t: np.ndarray, start: float, end: float) -> np.ndarray:
    """Boolean mask of samples with ``start <= t <= end``."""
    return (t >= start) & (t <= end)


def window_with_ends(
    t: np.ndarray, values: np.ndarray, start: float, end: float, max_gap: float = MAX_INTERP_GAP_S
) -> np.ndarray:
    """Finite samples of ``values`` inside [start, end] plus the values interpolated at the ends.

    The interpolated end values keep a window's extreme from depending on where the frames
    happened to fall relative to the events.
    """
    inside = values[in_window(t, start, end)]
    ends = np.array([interp_at(t, values, start, max_gap), interp_at(t, values, end, max_gap)])
    both = np.concatenate([inside, ends])
    return both[np.isfinite(both)]


def largest_gap(t: np.ndarray, valid: np.ndarray, start: float, end: float) -> float:
    """Longest stretch of [start, end] not covered by a valid sample (seconds)."""
    tv = t[valid & in_window(t, start, end)]
    edges = np.concatenate([[start], tv, [end]])
    return float(np.max(np.diff(edges)))
