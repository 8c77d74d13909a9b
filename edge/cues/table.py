"""Plain-text tables for a terminal: per-stride verdicts (``trackside replay CLIP --strides``)
and a pass summary.

Each stride is a row: its time, leg, grade, cadence and ground contact, then one column per
cue with the value it read and its verdict side by side (``0.21 F``): ``ok``, ``W`` warn,
``F`` fault, ``i`` information only (shown, never judged), ``!`` unreliable (a plausibility
gate failed: the value is shown only with that flag).  A cue not judged on a stride shows
``?`` and no number, since a number beside no verdict would read as one.  The header
names each column over two lines and gives its unit on a third; a cue judged on no stride at
all gets no column, only a line under the
table saying why (e.g. "needs a front view").

    print(format_stride_table(reports))
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence

from edge.cues.catalogue import CATALOGUE, Cue
from edge.cues.summary import Summary
from edge.text import plural
from edge.types import CueResult, StrideReport, Verdict

MARK = {
    Verdict.OK: "ok",
    Verdict.WARN: "W",
    Verdict.FAULT: "F",
    Verdict.UNKNOWN: "?",
    Verdict.INFO: "i",
    Verdict.UNRELIABLE: "!",
}
#: How a cue unit is written in a column header, and what it means (for the legend).
UNIT_LABELS = {
    "deg": ("deg", "degrees"),
    "leg_length": ("× leg", "leg lengths (hip to ankle)"),
    "arm_length": ("× arm", "arm lengths (shoulder to wrist)"),
    "shoulder_width": ("× shldr", "shoulder widths"),
}
_CELL = 8  # "-15.5 F", "0.24 ok", "1234 ok" with room to spare
_LEAD_NAMES = ("stride", "time", "leg", "grade", "cadence", "contact")
_LEAD_UNITS = ("", "s", "", "", "spm", "ms")
_LEAD_FORMAT = "{:>6} {:>6} {:<4} {:<10} {:>7} {:>7}"  # grade: "unreliable"


def judged_cues(catalogue: Sequence[Cue] = CATALOGUE) -> tuple[Cue, ...]:
    """The cues that read a metric (the table's possible columns), in priority order."""
    return tuple(c for c in catalogue if c.judged)


def judged_on_some_stride(reports: Sequence[StrideReport], cues: Sequence[Cue]) -> list[Cue]:
    """The ``cues`` given a verdict other than unknown on at least one of ``reports``."""
    judged = {r.cue_id for report in reports for r in report.cues if r.verdict != Verdict.UNKNOWN}
    return [c for c in cues if c.id in judged]


def unjudged_reasons(reports: Sequence[StrideReport], cues: Sequence[Cue]) -> dict[str, str]:
    """For each of ``cues`` judged on no stride: its most common reason (cue id → reason)."""
    reasons: dict[str, Counter[str]] = {}
    judged = set()
    for report in reports:
        for r in report.cues:
            if r.verdict == Verdict.UNKNOWN:
                reasons.setdefault(r.cue_id, Counter())[r.reason or "no reason given"] += 1
            else:
                judged.add(r.cue_id)
    return {
        c.id: reasons[c.id].most_common(1)[0][0]
        for c in cues
        if c.id in reasons and c.id not in judged
    }


def _number(value: float) -> str:
    if not math.isfinite(value):
        return "-"
    if abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def _whole(value: float | None) -> str:
    return "-" if value is None or not math.isfinite(value) else f"{value:.0f}"


def format_cell(result: CueResult | None) -> str:
    """``"0.21 F"``, or ``"?"`` for a cue not judged, right-aligned to the column width."""
    if result is None:
        return f"{'':>{_CELL}}"
    if result.verdict == Verdict.UNKNOWN:
        return f"{MARK[Verdict.UNKNOWN]:>{_CELL}}"
    return f"{_number(result.value) + ' ' + MARK[result.verdict]:>{_CELL}}"


def _header_words(cue: Cue) -> tuple[str, str]:
    first, _, rest = cue.short.partition(" ")
    return (first, rest) if rest else ("", first)


def table_header(cues: Sequence[Cue] | None = None) -> str:
    """The three header lines: column names over two lines, then units."""
    cues = judged_cues() if cues is None else cues
    words = [_header_words(c) for c in cues]
    units = [UNIT_LABELS.get(c.unit, (c.unit, c.unit))[0] for c in cues]
    lines = [
        _LEAD_FORMAT.format(*[""] * len(_LEAD_NAMES)),
        _LEAD_FORMAT.format(*_LEAD_NAMES),
        _LEAD_FORMAT.format(*_LEAD_UNITS),
    ]
    columns = ([w[0] for w in words], [w[1] for w in words], units)
    return "\n".join(
        lead + " |" + "".join(f" {text:>{_CELL}}" for text in column)
        for lead, column in zip(lines, columns, strict=True)
    )


def table_row(report: StrideReport, cues: Sequence[Cue] | None = None) -> str:
    """One stride as a row (print rows as strides arrive)."""
    cues = judged_cues() if cues is None else cues
    by_id = {r.cue_id: r for r in report.cues}
    s = report.stride
    lead = _LEAD_FORMAT.format(
        s.index,
        f"{s.foot_strike.time:.2f}",
        s.leg.value,
        report.grade.value,
        _whole(s.cadence_spm),
        _whole(s.ground_contact_ms),
    )
    return lead + " |" + "".join(f" {format_cell(by_id.get(c.id))}" for c in cues)


def table_legend(cues: Sequence[Cue] | None = None) -> str:
    """What the marks, units and each column mean."""
    cues = judged_cues() if cues is None else cues
    units = dict.fromkeys(c.unit for c in cues if c.unit in UNIT_LABELS and c.unit != "deg")
    lines = [
        "ok, W warn, F fault; i information only (shown, never judged); ! unreliable (a",
        "plausibility gate failed; never judged); ? not judged on that stride.",
        "cadence: steps per minute over the stride; contact: foot strike to toe-off.",
    ]
    if units:
        lines.append(
            "units: " + ", ".join(f"{UNIT_LABELS[u][0]} = {UNIT_LABELS[u][1]}" for u in units)
        )
    lines += [f"  {c.short:<14} {c.id:<27} {c.title} ({c.metric})" for c in cues]
    return "\n".join(lines)


def format_stride_table(reports: Iterable[StrideReport], cues: Sequence[Cue] | None = None) -> str:
    """Header, one row per stride, the legend, then the cues judged on no stride and why.

    ``cues`` defaults to every cue judged on at least one of the strides.
    """
    reports = list(reports)
    candidates = judged_cues() if cues is None else cues
    shown = judged_on_some_stride(reports, candidates) if cues is None else list(cues)
    rows = [table_header(shown)]
    rows += [table_row(r, shown) for r in reports]
    rows.append(table_legend(shown))
    unjudged = unjudged_reasons(reports, [c for c in candidates if c not in shown])
    if unjudged:
        rows.append("not judged on any stride:")
        rows += [f"  {cue_id:<27} {reason}" for cue_id, reason in unjudged.items()]
    return "\n".join(rows)


def format_summary(
    summary: Summary,
    catalogue: Sequence[Cue] = CATALOGUE,
    reasons: dict[str, str] | None = None,
) -> str:
    """Per cue: share of strides ok/warn/fault/not judged and the metric's mean ± spread.

    A cue not judged on any stride gets no numbers, only why (from ``reasons``, cue id →
    reason, e.g. :func:`unjudged_reasons`).
    """
    reasons = reasons or {}
    span = ""
    if summary.start is not None and summary.end is not None:
        span = f" over {summary.end - summary.start:.1f} s"
    lines = [
        f"{plural(summary.strides, 'stride')}{span}; grades: "
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
        if c.share(Verdict.UNKNOWN) == 1.0:
            why = reasons.get(cue.id, "")
            if why.startswith("not measurable:"):  # the why-not is long: `trackside cues`
                why = "not measurable from the keypoints (trackside cues says why)"
            lines.append(f"{cue.id:<27} not judged" + (f": {why}" if why else ""))
            continue
        shares = " ".join(f"{100 * c.share(v):>4.0f}%" for v in Verdict)
        m = metrics.get(cue.metric or "")
        stat = ""
        if m is not None and m.count:
            unit = UNIT_LABELS.get(m.unit, (m.unit, m.unit))[0]
            stat = f"  {_number(m.mean)} ± {_number(m.spread)} {unit} (n={m.count})"
        lines.append(f"{cue.id:<27} {shares}{stat}")
    return "\n".join(lines)
