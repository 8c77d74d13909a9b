"""Plain-text tables for a terminal: per-stride verdicts (``trackside replay CLIP --strides``)
and a pass summary.

Each judged cue gets a column showing the value it read and its verdict side by side
(``0.21 F``): ``ok``, ``W`` warn, ``F`` fault, ``?`` unknown, ``i`` information only, ``!``
unreliable (value ``-`` when there was none).  A legend under the table says which cue,
metric and unit each column is.

    print(format_stride_table(reports))
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from edge.cues.catalogue import CATALOGUE, Cue
from edge.cues.summary import Summary
from edge.types import CueResult, StrideReport, Verdict

MARK = {
    Verdict.OK: "ok",
    Verdict.WARN: "W",
    Verdict.FAULT: "F",
    Verdict.UNKNOWN: "?",
    Verdict.INFO: "i",
    Verdict.UNRELIABLE: "!",
}
_CELL = 9
_LEAD = f"{'stride':>6} {'t (s)':>7} {'leg':<4} {'grade':<10}"


def judged_cues(catalogue: Sequence[Cue] = CATALOGUE) -> tuple[Cue, ...]:
    """The cues that read a metric (the table's columns), in priority order."""
    return tuple(c for c in catalogue if c.judged)


def _number(value: float) -> str:
    if not math.isfinite(value):
        return "-"
    if abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def format_cell(result: CueResult | None) -> str:
    """``"0.21 F"``, right-aligned to the column width."""
    if result is None:
        return f"{'':>{_CELL}}"
    return f"{_number(result.value) + ' ' + MARK[result.verdict]:>{_CELL}}"


def table_header(cues: Sequence[Cue] | None = None) -> str:
    """The column header line."""
    cues = judged_cues() if cues is None else cues
    return _LEAD + " |" + "".join(f" {c.short:>{_CELL}}" for c in cues)


def table_row(report: StrideReport, cues: Sequence[Cue] | None = None) -> str:
    """One stride as a row (print rows as strides arrive)."""
    cues = judged_cues() if cues is None else cues
    by_id = {r.cue_id: r for r in report.cues}
    s = report.stride
    lead = f"{s.index:>6} {s.foot_strike.time:>7.2f} {s.leg.value:<4} {report.grade.value:<10}"
    return lead + " |" + "".join(f" {format_cell(by_id.get(c.id))}" for c in cues)


def table_legend(cues: Sequence[Cue] | None = None) -> str:
    """Which cue, metric and unit each column shows."""
    cues = judged_cues() if cues is None else cues
    lines = [
        "columns: value and verdict (ok, W warn, F fault, ? unknown, i information only, "
        "! unreliable)"
    ]
    lines += [f"  {c.short:<7} {c.id:<27} {c.metric} [{c.unit}]" for c in cues]
    return "\n".join(lines)


def format_stride_table(reports: Iterable[StrideReport], cues: Sequence[Cue] | None = None) -> str:
    """Header, one row per stride, then the legend."""
    cues = judged_cues() if cues is None else cues
    rows = [table_header(cues)]
    rows += [table_row(r, cues) for r in reports]
    rows.append(table_legend(cues))
    return "\n".join(rows)


def format_summary(summary: Summary, catalogue: Sequence[Cue] = CATALOGUE) -> str:
    """Per cue: share of strides ok/warn/fault/unknown and the metric's mean ± spread."""
    span = ""
    if summary.start is not None and summary.end is not None:
        span = f" over {summary.end - summary.start:.1f} s"
    lines = [
        f"{summary.strides} strides{span}; grades: "
        + ", ".join(f"{k} {v}" for k, v in sorted(summary.grades.items())),
        f"{'cue':<27} {'ok':>5} {'warn':>5} {'fault':>5} {'unk':>5} {'info':>5} {'unrel':>5}"
        "  metric mean ± spread",
    ]
    known = {c.cue_id: c for c in summary.cues}
    metrics = {m.key: m for m in summary.metrics}
    for cue in catalogue:
        c = known.get(cue.id)
        if c is None:
            continue
        shares = " ".join(f"{100 * c.share(v):>4.0f}%" for v in Verdict)
        m = metrics.get(cue.metric or "")
        stat = ""
        if m is not None and m.count:
            stat = f"  {_number(m.mean)} ± {_number(m.spread)} {m.unit} (n={m.count})"
        lines.append(f"{cue.id:<27} {shares}{stat}")
    return "\n".join(lines)
