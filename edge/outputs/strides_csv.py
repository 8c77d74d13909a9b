"""The strides of a session as CSV, for spreadsheets: one row per stride, a unit in every
numeric column's name, no column twice, no column that is empty on every row.

Columns: :data:`CSV_FIXED_COLUMNS` (those with a value in the session), then one column per
metric measured in the session (its key, ending in its unit: ``trunk_lean_deg``,
``overstride_leg_length``, ``flight_time_ms``), then ``cue:<cue_id>`` with each cue's
verdict.  The gait engine's timing metrics that repeat a fixed column (``contact_time`` is
``ground_contact_ms``, ``stride_time`` is ``duration_s``, ``stride_cadence`` is
``cadence_spm``) are left out; ``flight_time`` is given in ms and ``duty_factor`` in percent.
Times of day are this machine's local time with its UTC offset (ISO 8601).
``docs/dashboard.md`` documents every column.  Pure except :func:`write_csv`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any

from edge.cues.catalogue import CATALOGUE
from edge.gait.metrics import METRIC_UNITS
from edge.outputs.store import StoredStride

#: Columns every CSV row may start with (kept when the session has a value in them).
CSV_FIXED_COLUMNS: tuple[str, ...] = (
    "session_id",
    "device_id",
    "athlete",
    "recorded_at_local",
    "stride_index",
    "leg",
    "side",
    "foot_strike_s",
    "toe_off_s",
    "next_foot_strike_s",
    "duration_s",
    "cadence_spm",
    "ground_contact_ms",
    "emitted_at_s",
    "grade",
    "worst_cue",
    "reliable",
    "unreliable_metrics",
    "gate_reasons",
)
#: Text columns: labels, not quantities, so no unit (every other column ends in one).
TEXT_COLUMNS = frozenset(
    {
        "session_id",
        "device_id",
        "athlete",
        "recorded_at_local",
        "stride_index",
        "leg",
        "side",
        "grade",
        "worst_cue",
        "reliable",
        "unreliable_metrics",
        "gate_reasons",
    }
)
#: How a column name ends in its unit.
UNIT_SUFFIXES = (
    "_s",
    "_ms",
    "_spm",
    "_deg",
    "_cm",
    "_percent",
    "_ratio",
    "_leg_length",
    "_arm_length",
    "_shoulder_width",
)
_TIMING = ("foot_strike_s", "toe_off_s", "next_foot_strike_s", "duration_s", "cadence_spm")
_STRIDE_NUMBERS = (*_TIMING, "ground_contact_ms", "emitted_at_s")
#: Timing metrics the fixed columns already hold (same value, other unit).
DUPLICATE_METRICS = frozenset({"contact_time", "stride_time", "stride_cadence"})
#: Metrics whose unit a person reads better converted: key -> (column, factor).
CONVERTED_METRICS: dict[str, tuple[str, float]] = {
    "flight_time": ("flight_time_ms", 1000.0),
    "duty_factor": ("duty_factor_percent", 100.0),
}


def metric_column(key: str, unit: str) -> str:
    """The column of a metric: its key, with its unit appended when the key lacks it."""
    if key in CONVERTED_METRICS:
        return CONVERTED_METRICS[key][0]
    if key.endswith(UNIT_SUFFIXES):
        return key
    return f"{key}_{unit}" if unit else key


def local_iso(unix_time: float | None, tz: tzinfo | None = None) -> str:
    """``2026-12-02T14:35:07+01:00``: local time (``tz``, default this machine's) and offset."""
    if unix_time is None:
        return ""
    return datetime.fromtimestamp(unix_time).astimezone(tz).isoformat(timespec="seconds")


def _unreliable_metrics(payload: dict[str, Any]) -> str:
    if not payload.get("reliable", True):
        return "all"
    return " ".join(k for k, m in payload["metrics"].items() if not m.get("reliable", True))


def _metric_cells(payload: dict[str, Any]) -> dict[str, Any]:
    cells: dict[str, Any] = {}
    for key, metric in payload["metrics"].items():
        if key in DUPLICATE_METRICS:
            continue
        value = metric.get("value")
        if value is not None and key in CONVERTED_METRICS:
            value = round(value * CONVERTED_METRICS[key][1], 3)
        unit = metric.get("unit") or METRIC_UNITS.get(key, "")
        cells[metric_column(key, unit)] = "" if value is None else value
    return cells


def _row(session_id: str, s: StoredStride, local: Callable[[float | None], str]) -> dict[str, Any]:
    p, st = s.payload, s.payload["stride"]
    row: dict[str, Any] = {
        "session_id": session_id,
        "device_id": s.device_id,
        "athlete": s.athlete or "",
        "recorded_at_local": local(s.created),
        "stride_index": st["index"],
        "leg": st["leg"],
        "side": st.get("side") or "",
        "grade": p["grade"],
        "worst_cue": p.get("worst_cue") or "",
        "reliable": "true" if p.get("reliable", True) else "false",
        "unreliable_metrics": _unreliable_metrics(p),
        "gate_reasons": "; ".join(g["reason"] for g in p.get("gates", [])),
    }
    for key in _STRIDE_NUMBERS:
        row[key] = "" if st.get(key) is None else st[key]
    row.update(_metric_cells(p))
    for cue in p["cues"]:
        row[f"cue:{cue['cue_id']}"] = cue["verdict"]
    return row


def csv_rows(
    session_id: str, strides: Sequence[StoredStride], tz: tzinfo | None = None
) -> tuple[list[str], list[dict[str, Any]]]:
    """The header and one dict per stride (empty string for a value not measured)."""
    raw = [_row(session_id, s, lambda t: local_iso(t, tz)) for s in strides]
    filled = {k for row in raw for k, v in row.items() if v != ""}
    metric_order = [metric_column(k, u) for k, u in METRIC_UNITS.items()]
    fixed = [c for c in CSV_FIXED_COLUMNS if c in filled]
    cue_order = [f"cue:{c.id}" for c in CATALOGUE]
    known = set(fixed) | set(metric_order) | set(cue_order)
    metrics = [c for c in metric_order if c in filled]
    metrics += sorted(c for c in filled - known if not c.startswith("cue:"))
    cues = [c for c in cue_order if c in filled]
    cues += sorted(c for c in filled - known if c.startswith("cue:"))
    columns = [*fixed, *metrics, *cues]
    return columns, [{c: row.get(c, "") for c in columns} for row in raw]


def csv_text(session_id: str, strides: Sequence[StoredStride], tz: tzinfo | None = None) -> str:
    """The whole CSV (header and one line per stride) as text."""
    columns, rows = csv_rows(session_id, strides, tz)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def write_csv(path: str | Path, session_id: str, strides: Sequence[StoredStride]) -> None:
    Path(path).write_text(csv_text(session_id, strides), encoding="utf-8", newline="")
