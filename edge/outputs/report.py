"""Session reports: one self-contained HTML page and a CSV of every stride.

``trackside report [SESSION]`` (and the dashboard's report link) read the results store
(:mod:`edge.outputs.store`) and write a page a coach can e-mail or open offline: inline CSS,
inline SVG plots, keyframes embedded as base64 — nothing fetched from anywhere.  It shows the
athlete and date, the share of strides per verdict per cue (information-only cues and
strides a plausibility gate made unreliable say so), the key metrics over the session with
the cue limits drawn in (unreliable values left out), the worst and best strides (with
their keyframes when one was kept), every keyframe, and the alerts.

The CSV has one row per stride; its columns are :data:`CSV_FIXED_COLUMNS`, then one column
per metric (the metric key, its unit in the name), then ``cue:<cue_id>`` with each cue's
verdict.  ``reliable``, ``unreliable_metrics`` and ``gate_reasons`` flag the values a
plausibility gate found impossible.  ``docs/dashboard.md`` documents them.

``trackside sessions`` lists what the store holds (:func:`format_sessions`).

Building the page, the rows and the list is pure (:func:`render_report`, :func:`csv_rows`,
:func:`format_sessions`); only :func:`run_report` touches files.
"""

from __future__ import annotations

import base64
import csv
import html
import io
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any

from edge.cues.catalogue import CATALOGUE, CUES_BY_ID
from edge.cues.profiles import build_rules
from edge.errors import ConfigError
from edge.gait.metrics import METRIC_UNITS
from edge.outputs.store import (
    ResultsConfig,
    ResultStore,
    SessionInfo,
    StoredKeyframe,
    StoredStride,
    default_results_path,
)
from edge.types import GRADE_VERDICTS, Verdict

VERDICTS = tuple(Verdict)
SEVERITY = {Verdict.WARN: 1, Verdict.FAULT: 3}  # every other verdict weighs 0
_JUDGED = (Verdict.OK, Verdict.WARN, Verdict.FAULT)
_FLAGGED = (Verdict.WARN, Verdict.FAULT)

#: Columns every CSV row starts with (the metric and ``cue:`` columns follow).
CSV_FIXED_COLUMNS: tuple[str, ...] = (
    "session_id",
    "device_id",
    "athlete",
    "recorded_at",
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

# Metrics plotted in the report, in this order, when the session measured them.
PLOTTED: tuple[tuple[str, str, str], ...] = (
    # (key, title, unit); "stride." keys come from the stride timing block
    ("stride.cadence_spm", "Cadence", "steps/min"),
    ("stride.ground_contact_ms", "Ground contact", "ms"),
    ("trunk_lean_deg", "Trunk lean", "deg"),
    ("peak_shank_angle_before_strike_deg", "Shank reach before strike (overstride)", "deg"),
    ("overstride_leg_length", "Foot ahead of hip at strike", "leg lengths"),
    ("knee_flexion_at_foot_strike_deg", "Knee flexion at foot strike", "deg"),
    ("peak_knee_flexion_swing_deg", "Peak knee flexion, swing", "deg"),
    ("peak_thigh_angle_swing_deg", "Knee drive (thigh angle)", "deg"),
    ("hip_extension_at_toe_off_deg", "Hip extension at toe-off", "deg"),
    ("elbow_behind_hip_leg_length", "Elbow behind hip", "leg lengths"),
)


def _iso(unix_time: float | None) -> str:
    if unix_time is None:
        return ""
    return (
        datetime.fromtimestamp(unix_time, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    )


def _value(payload: dict[str, Any], key: str) -> float | None:
    """A stride's value of ``key``; ``None`` when not measured or flagged unreliable."""
    if key.startswith("stride."):
        v = payload["stride"].get(key[7:]) if payload.get("reliable", True) else None
    else:
        metric = payload["metrics"].get(key, {})
        v = metric.get("value") if metric.get("reliable", True) else None
    return float(v) if isinstance(v, int | float) and math.isfinite(v) else None


def _unreliable_metrics(payload: dict[str, Any]) -> str:
    if not payload.get("reliable", True):
        return "all"
    return " ".join(k for k, m in payload["metrics"].items() if not m.get("reliable", True))


# --- CSV ----------------------------------------------------------------------------------


def csv_columns(strides: Sequence[StoredStride]) -> list[str]:
    """Fixed columns, then every metric seen (known ones in their usual order), then cues."""
    seen_metrics: set[str] = set()
    seen_cues: set[str] = set()
    for s in strides:
        seen_metrics.update(s.payload["metrics"])
        seen_cues.update(c["cue_id"] for c in s.payload["cues"])
    metrics = [k for k in METRIC_UNITS if k in seen_metrics]
    metrics += sorted(seen_metrics - set(metrics))
    cue_order = [c.id for c in CATALOGUE if c.id in seen_cues]
    cue_order += sorted(seen_cues - set(cue_order))
    return [*CSV_FIXED_COLUMNS, *metrics, *(f"cue:{c}" for c in cue_order)]


def csv_rows(session_id: str, strides: Sequence[StoredStride]) -> tuple[list[str], list[dict]]:
    """The header and one dict per stride (empty string for a value not measured)."""
    columns = csv_columns(strides)
    rows = []
    for s in strides:
        p, st = s.payload, s.payload["stride"]
        row: dict[str, Any] = {
            "session_id": session_id,
            "device_id": s.device_id,
            "athlete": s.athlete or "",
            "recorded_at": _iso(s.created),
            "stride_index": st["index"],
            "leg": st["leg"],
            "side": st["side"] or "",
            "grade": p["grade"],
            "worst_cue": p["worst_cue"] or "",
            "reliable": "true" if p.get("reliable", True) else "false",
            "unreliable_metrics": _unreliable_metrics(p),
            "gate_reasons": "; ".join(g["reason"] for g in p.get("gates", [])),
        }
        for key in (
            "foot_strike_s",
            "toe_off_s",
            "next_foot_strike_s",
            "duration_s",
            "cadence_spm",
            "ground_contact_ms",
            "emitted_at_s",
        ):
            row[key] = "" if st.get(key) is None else st[key]
        for key, metric in p["metrics"].items():
            row[key] = "" if metric["value"] is None else metric["value"]
        for cue in p["cues"]:
            row[f"cue:{cue['cue_id']}"] = cue["verdict"]
        rows.append({c: row.get(c, "") for c in columns})
    return columns, rows


def csv_text(session_id: str, strides: Sequence[StoredStride]) -> str:
    """The whole CSV (header and one line per stride) as text."""
    columns, rows = csv_rows(session_id, strides)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def write_csv(path: str | Path, session_id: str, strides: Sequence[StoredStride]) -> None:
    Path(path).write_text(csv_text(session_id, strides), encoding="utf-8", newline="")


# --- SVG plots ----------------------------------------------------------------------------


def svg_plot(
    xs: Sequence[float],
    ys: Sequence[float | None],
    *,
    title: str,
    unit: str,
    limits: Sequence[tuple[float, str]] = (),
    width: int = 640,
    height: int = 180,
) -> str:
    """An inline SVG line plot of ``ys`` over ``xs`` with horizontal limit lines.

    ``limits`` are ``(value, css class)`` pairs (``warn`` / ``fault``) drawn when they fall
    near the data.  ``None`` values leave a gap.  Returns ``""`` with no measured value.
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
    parts.append(f'<text x="{left}" y="{height - 4}" class="tick">stride {x0:g}</text>')
    parts.append(
        f'<text x="{left + pw}" y="{height - 4}" class="tick" text-anchor="end">{x1:g}</text></svg>'
    )
    return "".join(parts)


def metric_limits(key: str, speed_mps: float | None = None) -> list[tuple[float, str]]:
    """The warn/fault limits of the validated cue that reads ``key``, as plot lines, drawn
    at ``speed_mps`` (``None``: unknown, the most lenient) when they move with speed."""
    for rule in build_rules():
        thresholds = rule.thresholds_at(speed_mps)
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


# --- the page -----------------------------------------------------------------------------

_CSS = """
body{font-family:system-ui,sans-serif;margin:0 auto;max-width:960px;padding:16px;color:#1d232b}
h1{margin:.2em 0}h2{margin-top:1.6em;border-bottom:1px solid #ccd;padding-bottom:.2em}
.meta{color:#556}table{border-collapse:collapse;width:100%;font-size:14px}
th,td{padding:4px 6px;border-bottom:1px solid #e4e6ea;text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.bar{display:flex;height:14px;min-width:160px;border-radius:3px;overflow:hidden}
.bar span{display:block}.ok{background:#2fb868}.warn{background:#f5b400}
.fault{background:#e53935}.unknown{background:#b8bcc4}.info{background:#8fb3e8}
.unreliable{background:repeating-linear-gradient(45deg,#b8bcc4 0 4px,#e4e6ea 4px 8px)}
.v-ok{color:#1d7f45}.v-warn{color:#a66f00}.v-fault{color:#c62828;font-weight:600}
.v-unknown{color:#889}.v-info{color:#3b6db5}.v-unreliable{color:#889;font-style:italic}
.plot{width:100%;height:auto;background:#fafbfc;margin:6px 0}
.plot .title{font-size:13px;font-weight:600;fill:#333}.plot .tick{font-size:10px;fill:#667}
.plot .frame{fill:none;stroke:#dde}.plot .line{fill:none;stroke:#2563eb;stroke-width:1.5}
.plot .dot{fill:#2563eb}.plot .limit{stroke-dasharray:4 3;stroke-width:1}
.plot .limit.warn{stroke:#f5b400}.plot .limit.fault{stroke:#e53935}
.kf{display:grid;grid-template-columns:repeat(auto-fill,minmax(280px,1fr));gap:12px}
.kf figure{margin:0}.kf img{width:100%;border-radius:4px}
.kf figcaption{font-size:13px;color:#445}
"""


def _e(text: Any) -> str:
    return html.escape("" if text is None else str(text))


def _fmt(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _cue_counts(strides: Sequence[StoredStride]) -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = {}
    for s in strides:
        for cue in s.payload["cues"]:
            c = counts.setdefault(cue["cue_id"], dict.fromkeys(VERDICTS, 0))
            c[cue["verdict"]] = c.get(cue["verdict"], 0) + 1
    order = {c.id: i for i, c in enumerate(CATALOGUE)}
    return dict(sorted(counts.items(), key=lambda kv: order.get(kv[0], len(order))))


def stride_severity(stride: StoredStride) -> tuple[int, int]:
    """(badness, judged cues): faults weigh 3, warnings 1; more judged cues is more trusted."""
    verdicts = [c["verdict"] for c in stride.payload["cues"]]
    judged = sum(v in _JUDGED for v in verdicts)
    return sum(SEVERITY.get(v, 0) for v in verdicts), judged


def worst_and_best(
    strides: Sequence[StoredStride], n: int = 3
) -> tuple[list[StoredStride], list[StoredStride]]:
    """The ``n`` worst strides (most faults) and ``n`` best (fewest, most cues judged);
    a stride a plausibility gate made unreliable is neither."""
    strides = [s for s in strides if s.payload.get("reliable", True)]
    ranked = sorted(strides, key=lambda s: (-stride_severity(s)[0], s.index))
    worst = [s for s in ranked[:n] if stride_severity(s)[0] > 0]
    best = sorted(strides, key=lambda s: (stride_severity(s)[0], -stride_severity(s)[1], s.index))[
        :n
    ]
    return worst, best


def _stride_table(strides: Sequence[StoredStride], keyframes: dict[int, StoredKeyframe]) -> str:
    if not strides:
        return "<p>None.</p>"
    rows = []
    for s in strides:
        st, p = s.payload["stride"], s.payload
        bad = [c for c in p["cues"] if c["verdict"] in _FLAGGED]
        issues = (
            "; ".join(
                f'<span class="v-{c["verdict"]}">{_e(c["cue_id"])} '
                f"{_fmt(c['value'], 2)} {_e(c['unit'])}</span>"
                for c in bad
            )
            or "–"
        )
        rows.append(
            f'<tr><td class="num">{st["index"]}</td><td class="num">{_fmt(st["foot_strike_s"], 2)}'
            f'</td><td class="v-{p["grade"]}">{_e(p["grade"])}</td>'
            f'<td class="num">{_fmt(st["cadence_spm"])}</td>'
            f'<td class="num">{_fmt(st["ground_contact_ms"], 0)}</td><td>{issues}</td></tr>'
        )
        kf = keyframes.get(st["index"])
        if kf is not None:
            rows.append(f'<tr><td colspan="6">{_keyframe_figure(kf)}</td></tr>')
    return (
        "<table><tr><th>stride</th><th>t (s)</th><th>grade</th><th>cadence (spm)</th>"
        "<th>contact (ms)</th><th>warnings and faults</th></tr>" + "".join(rows) + "</table>"
    )


def _keyframe_figure(kf: StoredKeyframe) -> str:
    data = base64.b64encode(kf.jpeg).decode("ascii")
    caption = (
        f"Stride {_e(kf.stride_index)} at {_fmt(kf.time_s, 2)} s — "
        f'<span class="v-{_e(kf.verdict)}">{_e(kf.cue_id)}</span> {_e(kf.message)}'
    )
    return (
        f'<figure><img alt="keyframe of stride {_e(kf.stride_index)}" '
        f'src="data:image/jpeg;base64,{data}"><figcaption>{caption}</figcaption></figure>'
    )


def render_report(
    info: SessionInfo,
    strides: Sequence[StoredStride],
    keyframes: Sequence[StoredKeyframe],
    alerts: Sequence[dict[str, Any]] = (),
) -> str:
    """The whole self-contained HTML page for one session."""
    counts = _cue_counts(strides)
    grades = dict.fromkeys(GRADE_VERDICTS, 0)
    for s in strides:
        grades[s.payload["grade"]] = grades.get(s.payload["grade"], 0) + 1
    n = len(strides)
    times = [
        s.payload["stride"]["foot_strike_s"]
        for s in strides
        if s.payload["stride"]["foot_strike_s"] is not None
    ]
    out = [
        '<!doctype html><html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width,initial-scale=1">',
        f"<title>Trackside report {_e(info.session_id)}</title><style>{_CSS}</style></head>",
        "<body>",
        f"<h1>Session {_e(info.session_id)}</h1>",
        f'<p class="meta">Athlete: <strong id="athlete">{_e(info.athlete or "not set")}</strong>'
        f" · device {_e(info.device_id)} · started {_e(_iso(info.started))}"
        f"{' · ended ' + _e(_iso(info.ended)) if info.ended else ''}</p>",
        f'<p>Strides: <strong id="stride-count">{n}</strong>'
        + (f" over {max(times) - min(times):.0f} s of running" if len(times) > 1 else "")
        + " · grades: "
        + ", ".join(f'<span class="v-{v}">{grades[v]} {v}</span>' for v in GRADE_VERDICTS)
        + "</p>",
        "<h2>Cues</h2>",
        '<p class="meta">info: information only (no validated basis yet: shown, never '
        "judged); unreliable: a plausibility gate found the stride physically impossible.</p>",
        '<table id="cues"><tr><th>cue</th><th>what it asks</th>'
        + "".join(f"<th>{v}</th>" for v in VERDICTS)
        + "<th>share</th></tr>",
    ]
    for cue_id, c in counts.items():
        total = sum(c.values()) or 1
        cue = CUES_BY_ID.get(cue_id)
        title = (cue.title + (" (information only)" if cue.information_only else "")) if cue else ""
        bar = "".join(
            f'<span class="{v}" style="width:{100 * c[v] / total:.1f}%"></span>'
            for v in VERDICTS
            if c[v]
        )
        out.append(
            f'<tr data-cue="{_e(cue_id)}"><td>{_e(cue_id)}</td><td>{_e(title)}</td>'
            + "".join(
                f'<td class="num" data-verdict="{v}">{100 * c[v] / total:.0f}%</td>'
                for v in VERDICTS
            )
            + f'<td><div class="bar">{bar}</div></td></tr>'
        )
    out.append("</table>")

    out.append("<h2>Over the session</h2>")
    xs = [float(s.index) for s in strides]
    speed = session_speed(strides)
    for key, title, unit in PLOTTED:
        ys = [_value(s.payload, key) for s in strides]
        svg = svg_plot(xs, ys, title=title, unit=unit, limits=metric_limits(key, speed))
        if svg:
            out.append(svg)

    by_index = {kf.stride_index: kf for kf in keyframes if kf.stride_index is not None}
    worst, best = worst_and_best(strides)
    out.append("<h2>Worst strides</h2>")
    out.append(_stride_table(worst, by_index))
    out.append("<h2>Best strides</h2>")
    out.append(_stride_table(best, by_index))
    out.append("<h2>Keyframes</h2>")
    if keyframes:
        out.append('<div class="kf">' + "".join(_keyframe_figure(k) for k in keyframes) + "</div>")
    else:
        out.append("<p>No keyframe was kept for this session.</p>")
    out.append("<h2>Alerts</h2>")
    if alerts:
        out.append("<table><tr><th>t (s)</th><th>cue</th><th>state</th><th>message</th></tr>")
        for a in alerts:
            out.append(
                f'<tr><td class="num">{_fmt(a.get("time_s"), 2)}</td>'
                f'<td>{_e(a["cue_id"])}</td><td class="v-{_e(a["verdict"])}">'
                f"{_e(a['state'])}</td><td>{_e(a['message'])}</td></tr>"
            )
        out.append("</table>")
    else:
        out.append("<p>No alert was raised.</p>")
    out.append(
        '<p class="meta">Made by Trackside. Values are estimates from a 2-D pose '
        "model; see docs/cues.md for what each cue means.</p></body></html>"
    )
    return "\n".join(out)


def report_html(store: ResultStore, session_id: str) -> str:
    """The report page of ``session_id`` from ``store`` (:class:`ConfigError` if unknown)."""
    info = store.session(session_id)
    if info is None:
        known = ", ".join(s.session_id for s in store.sessions()[:10]) or "none recorded"
        raise ConfigError(f"{store.path}: no session {session_id!r} (latest: {known})")
    return render_report(
        info, store.strides(session_id), store.keyframes(session_id), store.alerts(session_id)
    )


def latest_session(store: ResultStore) -> str:
    """The id of the newest session in ``store`` (:class:`ConfigError` if there is none)."""
    sessions = store.sessions()
    if not sessions:
        raise ConfigError(f"{store.path}: no session recorded yet")
    return sessions[0].session_id


def run_report(
    settings: ResultsConfig,
    session_id: str | None,
    out_html: str | Path | None,
    out_csv: str | Path | None,
) -> list[Path]:
    """``trackside report [SESSION]``: write the HTML report, and the strides CSV if asked.

    ``session_id`` ``None`` is the latest session; ``out_html`` defaults to
    ``report-<session>.html``.  Returns the files written, the report first.  Raises a
    :class:`~edge.errors.TracksideError` naming the file or session at fault.
    """
    store = ResultStore(default_results_path(settings.path), readonly=True)
    try:
        if session_id is None:
            session_id = latest_session(store)
        html_path = Path(out_html if out_html is not None else f"report-{session_id}.html")
        _write(html_path, report_html(store, session_id))
        written = [html_path]
        if out_csv is not None:
            try:
                write_csv(out_csv, session_id, store.strides(session_id))
            except OSError as exc:
                raise ConfigError(f"{out_csv}: cannot write CSV ({exc.strerror})") from None
            written.append(Path(out_csv))
        return written
    finally:
        store.close()


# --- the session list ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SessionLine:
    """One session as ``trackside sessions`` lists it."""

    info: SessionInfo
    passes: int


def session_lines(store: ResultStore) -> list[SessionLine]:
    """Every stored session, newest first, with its number of passes."""
    return [SessionLine(s, len(store.passes(s.session_id))) for s in store.sessions()]


def format_sessions(lines: Sequence[SessionLine], tz: tzinfo | None = None) -> str:
    """The session list as a text table; times in ``tz`` (default: this machine's zone)."""

    def local(unix_time: float) -> datetime:
        return datetime.fromtimestamp(unix_time, tz or UTC).astimezone(tz)

    id_width = max([len("session"), *(len(line.info.session_id) for line in lines)])
    who_width = max([len("athlete"), *(len(line.info.athlete or "-") for line in lines)])
    rows = [
        f"{'session':<{id_width}}  {'athlete':<{who_width}}  {'started':<16}  {'ended':<5}"
        f"  {'strides':>7}  {'passes':>6}  device"
    ]
    for line in lines:
        s = line.info
        started = local(s.started)
        if s.ended is None:
            ended = "open"
        else:
            end = local(s.ended)
            ended = end.strftime("%H:%M" if end.date() == started.date() else "%m-%d")
        rows.append(
            f"{s.session_id:<{id_width}}  {s.athlete or '-':<{who_width}}  "
            f"{started:%Y-%m-%d %H:%M}  {ended:<5}  {s.strides:>7}  {line.passes:>6}  {s.device_id}"
        )
    return "\n".join(rows)


def _write(path: Path, text: str) -> None:
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot write report ({exc.strerror})") from None
