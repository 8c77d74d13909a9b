"""Pass and session summaries: how often each cue got each verdict, and metric spread.

:func:`summarize` turns a list of :class:`~edge.types.StrideReport` into a
:class:`Summary`.  For long sessions :class:`SummaryAccumulator` folds reports in one at a
time in constant memory (Welford's running mean and variance), so a whole day's running
never has to be kept.  Shares are of *all* strides (unknown, information-only and
unreliable included), so the shares of a cue add up to 1.  The metric statistics leave out
values a plausibility gate made unreliable (an impossible reading must not move a mean);
``spread`` is the sample standard deviation (n - 1), ``nan`` below two values.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from edge.types import StrideReport, Verdict

_VERDICTS = tuple(Verdict)


@dataclass(frozen=True, slots=True)
class CueSummary:
    """One cue over a pass: stride counts per verdict, and their shares."""

    cue_id: str
    counts: dict[str, int]

    @property
    def strides(self) -> int:
        return sum(self.counts.values())

    def share(self, verdict: Verdict | str) -> float:
        """Fraction of strides with ``verdict`` (0 when there were none)."""
        return self.counts.get(str(verdict), 0) / self.strides if self.strides else 0.0


@dataclass(frozen=True, slots=True)
class MetricSummary:
    """One metric over a pass: how many strides measured it, mean, spread and range."""

    key: str
    unit: str
    count: int
    mean: float
    spread: float
    low: float
    high: float


@dataclass(frozen=True, slots=True)
class Summary:
    """A pass or session: stride count, time span, grades, cues and metrics."""

    strides: int
    start: float | None
    end: float | None
    grades: dict[str, int]
    cues: tuple[CueSummary, ...]
    metrics: tuple[MetricSummary, ...]

    def cue(self, cue_id: str) -> CueSummary:
        return next(c for c in self.cues if c.cue_id == cue_id)

    def metric(self, key: str) -> MetricSummary:
        return next(m for m in self.metrics if m.key == key)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (``nan`` becomes ``None``)."""

        def num(x: float) -> float | None:
            return x if math.isfinite(x) else None

        return {
            "strides": self.strides,
            "start": self.start,
            "end": self.end,
            "grades": dict(self.grades),
            "cues": {
                c.cue_id: {v: round(c.share(v), 4) for v in map(str, _VERDICTS)} for c in self.cues
            },
            "metrics": {
                m.key: {
                    "unit": m.unit,
                    "count": m.count,
                    "mean": num(m.mean),
                    "spread": num(m.spread),
                    "min": num(m.low),
                    "max": num(m.high),
                }
                for m in self.metrics
            },
        }


@dataclass
class _Running:
    """Welford accumulator for one metric."""

    unit: str
    count: int = 0
    mean: float = 0.0
    m2: float = 0.0
    low: float = math.inf
    high: float = -math.inf

    def add(self, x: float) -> None:
        self.count += 1
        delta = x - self.mean
        self.mean += delta / self.count
        self.m2 += delta * (x - self.mean)
        self.low = min(self.low, x)
        self.high = max(self.high, x)


@dataclass
class SummaryAccumulator:
    """Folds stride reports into running counts and metric statistics, in constant memory."""

    strides: int = 0
    start: float | None = None
    end: float | None = None
    grades: dict[str, int] = field(default_factory=dict)
    cue_counts: dict[str, dict[str, int]] = field(default_factory=dict)
    metric_stats: dict[str, _Running] = field(default_factory=dict)

    def add(self, report: StrideReport) -> None:
        stride = report.stride
        self.strides += 1
        t0, t1 = stride.foot_strike.time, stride.next_foot_strike.time
        self.start = t0 if self.start is None else min(self.start, t0)
        self.end = t1 if self.end is None else max(self.end, t1)
        self.grades[str(report.grade)] = self.grades.get(str(report.grade), 0) + 1
        for result in report.cues:
            counts = self.cue_counts.setdefault(result.cue_id, {str(v): 0 for v in _VERDICTS})
            counts[str(result.verdict)] += 1
        for key, metric in stride.metrics.items():
            stats = self.metric_stats.setdefault(key, _Running(metric.unit))
            if math.isfinite(metric.value) and not report.unreliable_reason(key):
                stats.add(metric.value)

    def summary(self) -> Summary:
        metrics = []
        for key, s in self.metric_stats.items():
            mean = s.mean if s.count else math.nan
            spread = math.sqrt(s.m2 / (s.count - 1)) if s.count >= 2 else math.nan
            metrics.append(
                MetricSummary(
                    key,
                    s.unit,
                    s.count,
                    mean,
                    spread,
                    s.low if s.count else math.nan,
                    s.high if s.count else math.nan,
                )
            )
        return Summary(
            strides=self.strides,
            start=self.start,
            end=self.end,
            grades=dict(self.grades),
            cues=tuple(CueSummary(cue_id, dict(c)) for cue_id, c in self.cue_counts.items()),
            metrics=tuple(metrics),
        )


def summarize(reports: Iterable[StrideReport]) -> Summary:
    """Summary of a pass or session from its stride reports."""
    acc = SummaryAccumulator()
    for report in reports:
        acc.add(report)
    return acc.summary()
