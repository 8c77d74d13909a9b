"""Smoothing of keypoint signals on irregular timestamps: local quadratic regression.

:func:`local_fit` fits a parabola to the samples within ``half_window`` seconds of each
query time, weighted by a tricube kernel, and returns its value and slope there.  Irregular
timestamps, dropped frames and low-confidence keypoints (zero weight) need no resampling.
:func:`reject_outliers` drops samples far off the local curve of their neighbours (a
keypoint that jumps to the other foot for one confident frame).  The batch engine fits
centred on every frame; the streaming engine fits a small lag behind the newest frame and
checks each new sample against the curve through the frames before it.
"""

from __future__ import annotations

import numpy as np

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
    moments = (w.sum(1), (w * x).sum(1), (w * x2).sum(1), (w * x2 * x).sum(1), (w * x2 * x2).sum(1))
    wy = w * y
    targets = (wy.sum(1), (wy * x).sum(1), (wy * x2).sum(1))
    used = w > 0
    support = (
        used.sum(1),
        (used & (dt < 0)[:, :, None]).sum(1),
        (used & (dt > 0)[:, :, None]).sum(1),
    )
    return _solve_quadratic(moments, targets, support, half_window)


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
    moments = tuple(powers.T @ w)  # s0..s4, each (K,)
    y = np.where(w > 0, values[lo:hi], 0.0)
    targets = tuple(powers[:, :3].T @ (w * y))  # b0..b2
    used = w > 0
    support = (used.sum(0), used[dt < 0].sum(0), used[dt > 0].sum(0))
    value, slope = _solve_quadratic(moments, targets, support, half_window)
    return value[None, :], slope[None, :]


def _solve_quadratic(
    moments: tuple[np.ndarray, ...],
    targets: tuple[np.ndarray, ...],
    support: tuple[np.ndarray, np.ndarray, np.ndarray],
    half_window: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Value and slope (per second) at the query from the weighted normal equations.

    ``moments`` are the kernel-weighted sums of x^0..x^4 and ``targets`` of y, y x, y x^2
    (x = time offset / ``half_window``); ``support`` counts the samples used in all, before
    and after the query.  Element-wise, so it serves one query or many at once.
    """
    s0, s1, s2, s3, s4 = moments
    b0, b1, b2 = targets
    count, before, after = support
    # Normal equations of the quadratic, solved by Cramer's rule.
    det = s0 * (s2 * s4 - s3 * s3) - s1 * (s1 * s4 - s2 * s3) + s2 * (s1 * s3 - s2 * s2)
    c0 = b0 * (s2 * s4 - s3 * s3) - s1 * (b1 * s4 - s3 * b2) + s2 * (b1 * s3 - s2 * b2)
    c1 = s0 * (b1 * s4 - s3 * b2) - b0 * (s1 * s4 - s2 * s3) + s2 * (s1 * b2 - b1 * s2)
    quadratic = (count >= 3) & (np.abs(det) > 1e-9 * np.maximum(s0, 1e-12) ** 3)
    # Too few points for a parabola: a straight line still gives value and slope.
    d_lin = s0 * s2 - s1 * s1
    linear = ~quadratic & (count >= 2) & (np.abs(d_lin) > 1e-12)
    with np.errstate(divide="ignore", invalid="ignore"):
        value = np.where(quadratic, c0 / det, (s2 * b0 - s1 * b1) / d_lin)
        slope = np.where(quadratic, c1 / det, (s0 * b1 - s1 * b0) / d_lin) / half_window
    ok = quadratic | linear
    value = np.where(ok, value, np.nan)
    # A slope needs support on both sides unless there are enough points on one side.
    slope = np.where(ok & (((before >= 1) & (after >= 1)) | (count >= 4)), slope, np.nan)
    return value, slope


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
