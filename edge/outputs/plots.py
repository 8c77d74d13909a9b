"""Plots of a session's metrics and the cue limits drawn on them (report and dashboard).

:func:`svg_plot` draws one metric as an inline SVG (no chart library: the report opens
offline); :func:`metric_limits` gives the warn and fault limits of the validated cue that
reads a metric, at the session's speed.  Pure.
"""

from __future__ import annotations

import html
import math
import statistics
from collections.abc import Collection, Sequence
from typing import Any

from edge.cues.profiles import build_rules
from edge.outputs.store import StoredStride


def stride_value(payload: dict[str, Any], key: str) -> float | None:
    """A stride's value of ``key``; ``None`` when not measured or flagged unreliable.
    ``stride.`` keys are read from the stride's timing block, the others from its metrics."""
    if key.startswith("stride."):
        v = payload["stride"].get(key[7:]) if payload.get("reliable", True) else None
    else:
        metric = payload["metrics"].get(key, {})
        v = metric.get("value") if metric.get("reliable", True) else None
    return float(v) if isinstance(v, int | float) and math.isfinite(v) else None


def svg_plot(
    xs: Sequence[float],
    ys: Sequence[float | None],
    *,
    title: str,
    unit: str,
    limits: Sequence[tuple[float, str]] = (),
    x_label: str = "s",
    width: int = 640,
    height: int = 180,
) -> str:
    """An inline SVG line plot of ``ys`` over ``xs`` with horizontal limit lines.

    ``limits`` are ``(value, css class)`` pairs (``warn`` / ``fault``) drawn when they fall
    near the data.  ``None`` values leave a gap.  ``x_label`` is the x axis' unit (seconds
    into the session).  Returns ``""`` with no measured value.
    """
    points = [(x, y) for x, y in zip(xs, ys, strict=True) if y is not None]
    if not points:
        return ""
    lo = min(y for _, y in points)
    hi = max(y for _, y in points)
    span = hi - lo or max(1.0, abs(hi) * 0.1)
    shown = [(v, c) for v, c in limits if lo - span <= v <= hi + span]
    lo = min([lo, *(v for v, _ in shown)])
    hi = max([hi, *(v for v, _ in shown)])
    pad = (hi - lo or 1.0) * 0.08
    lo, hi = lo - pad, hi + pad
    x0, x1 = min(xs), max(xs)
    left, right, top, bottom = 48, 8, 22, 20
    pw, ph = width - left - right, height - top - bottom

    def px(x: float) -> float:
        return left + (0.5 if x1 == x0 else (x - x0) / (x1 - x0)) * pw

    def py(y: float) -> float:
        return top + (hi - y) / (hi - lo) * ph

    parts = [
        f'<svg class="plot" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{html.escape(title)}">',
        f'<text x="{left}" y="14" class="title">{html.escape(title)} ({html.escape(unit)})</text>',
        f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" class="frame"/>',
    ]
    for value, css in shown:
        parts.append(
            f'<line x1="{left}" x2="{left + pw}" y1="{py(value):.1f}" '
            f'y2="{py(value):.1f}" class="limit {css}"/>'
        )
    for tick in (lo + pad, (lo + hi) / 2, hi - pad):
        parts.append(
            f'<text x="{left - 4}" y="{py(tick) + 4:.1f}" class="tick" '
            f'text-anchor="end">{tick:.3g}</text>'
        )
    segments: list[list[str]] = [[]]
    for x, y in zip(xs, ys, strict=True):
        if y is None:
            segments.append([])
        else:
            segments[-1].append(f"{px(x):.1f},{py(y):.1f}")
    for seg in segments:
        if len(seg) > 1:
            parts.append(f'<polyline points="{" ".join(seg)}" class="line"/>')
    for x, y in points:
        parts.append(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="2" class="dot"/>')
    parts.append(f'<text x="{left}" y="{height - 4}" class="tick">{x0:.0f} {x_label}</text>')
    parts.append(
        f'<text x="{left + pw}" y="{height - 4}" class="tick" text-anchor="end">'
        f"{x1:.0f} {x_label}</text></svg>"
    )
    return "".join(parts)


def metric_limits(
    key: str, speed_mps: float | None = None, judged: Collection[str] | None = None
) -> list[tuple[float, str]]:
    """The warn/fault limits of the validated cue that reads ``key``, as plot lines, drawn
    at ``speed_mps`` (``None``: unknown, the most lenient) when they move with speed.
    ``judged``: the cues that judged the session; a cue not among them (switched off)
    draws no limit."""
    for rule in build_rules():
        thresholds = rule.thresholds_at(speed_mps)
        if judged is not None and rule.cue.id not in judged:
            continue
        if rule.cue.metric == key and rule.cue.validated and thresholds is not None:
            out = []
            for band in (thresholds.high, thresholds.low):
                if band is not None:
                    out += [(band.warn, "warn"), (band.fault, "fault")]
            return out
    return []


def session_speed(strides: Sequence[StoredStride]) -> float | None:
    """The median running speed the session's strides were judged at (``None``: unknown)."""
    speeds = [
        s.payload["speed"]["mps"]
        for s in strides
        if isinstance(s.payload.get("speed", {}).get("mps"), int | float)
    ]
    return float(statistics.median(speeds)) if speeds else None
