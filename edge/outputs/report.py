"""Session reports: one self-contained HTML page of a session, for a coach.

``trackside report [SESSION]`` (and the dashboard's report link) read the results store
(:mod:`edge.outputs.store`) and write a page a coach can e-mail or open on a phone offline:
inline CSS, inline SVG plots, keyframes embedded as base64 — nothing fetched from anywhere.
Titled by the athlete and the local start time, it says the two things to work on, then
the share of strides per verdict per cue (cues that said nothing are left out), the key
metrics over the session's time with the judged cues' limits, left/right asymmetry, the
worst and best strides with their pictures, the athlete's progress over earlier sessions,
every keyframe and the alerts.  The CSV is :mod:`edge.outputs.strides_csv`; the numbers
come from :mod:`edge.outputs.session_stats`.

Building the page is pure (:func:`render_report`); only :func:`run_report` touches files.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from datetime import tzinfo
from pathlib import Path
from typing import Any

from edge.cues.catalogue import CUES_BY_ID
from edge.errors import ConfigError
from edge.outputs.plots import metric_limits, session_speed, stride_value, svg_plot
from edge.outputs.progress import ProgressRow, athlete_progress, progress_table_html
from edge.outputs.session_stats import (
    VERDICTS,
    asymmetry,
    cue_counts,
    informative,
    things_to_work_on,
    worst_and_best,
)
from edge.outputs.sessions_list import local_time, session_title
from edge.outputs.store import (
    ResultsConfig,
    ResultStore,
    SessionInfo,
    StoredKeyframe,
    StoredStride,
    default_results_path,
)
from edge.outputs.strides_csv import write_csv
from edge.outputs.units import human_value
from edge.types import GRADE_VERDICTS

_FLAGGED = ("warn", "fault")

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

_CSS = """
body{font:16px/1.45 system-ui,sans-serif;margin:0 auto;max-width:960px;padding:12px;color:#1d232b}
*{box-sizing:border-box}img,svg{max-width:100%}
.wrap{overflow-x:auto}
h1{margin:.2em 0}h2{margin-top:1.6em;border-bottom:1px solid #ccd;padding-bottom:.2em}
.meta{color:#556}table{border-collapse:collapse;width:100%;font-size:15px}
.work li{font-size:18px;margin:4px 0}.notable{color:#a66f00;font-weight:600}
th,td{padding:4px 6px;border-bottom:1px solid #e4e6ea;text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.bar{display:flex;height:14px;min-width:80px;border-radius:3px;overflow:hidden}
.bar span{display:block}.ok{background:#2fb868}.warn{background:#f5b400}
.fault{background:#e53935}.unknown{background:#b8bcc4}.info{background:#8fb3e8}
.unreliable{background:repeating-linear-gradient(45deg,#b8bcc4 0 4px,#e4e6ea 4px 8px)}
.v-ok{color:#1d7f45}.v-warn{color:#a66f00}.v-fault{color:#c62828;font-weight:600}
.v-unknown{color:#889}.v-info{color:#3b6db5}.v-unreliable{color:#889;font-style:italic}
.plot{width:100%;height:auto;background:#fafbfc;margin:6px 0}
.plot .title{font-size:15px;font-weight:600;fill:#333}.plot .tick{font-size:13px;fill:#667}
.plot .frame{fill:none;stroke:#dde}.plot .line{fill:none;stroke:#2563eb;stroke-width:1.5}
.plot .dot{fill:#2563eb}.plot .limit{stroke-dasharray:4 3;stroke-width:1}
.plot .limit.warn{stroke:#f5b400}.plot .limit.fault{stroke:#e53935}
.kf{display:grid;grid-template-columns:repeat(auto-fill,minmax(280px,1fr));gap:12px}
.kf figure{margin:0}.kf img{width:100%;border-radius:4px}
.kf figcaption,figcaption{font-size:15px;color:#445}
.pic img{width:100%;max-width:480px;border-radius:4px}
"""


def _e(text: Any) -> str:
    return html.escape("" if text is None else str(text))


def _fmt(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _title(cue_id: str | None) -> str:
    spec = CUES_BY_ID.get(cue_id or "")
    return spec.title if spec else str(cue_id or "")


def _clock(unix_time: float | None, tz: tzinfo | None) -> str:
    return "" if unix_time is None else f"{local_time(unix_time, tz):%H:%M:%S}"


def _stride_table(
    strides: Sequence[StoredStride],
    keyframes: dict[int, StoredKeyframe],
    t0: float,
    tz: tzinfo | None,
) -> str:
    if not strides:
        return "<p>None.</p>"
    rows = []
    for s in strides:
        st, p = s.payload["stride"], s.payload
        bad = [c for c in p["cues"] if c["verdict"] in _FLAGGED]
        issues = (
            "; ".join(
                f'<span class="v-{c["verdict"]}">{_e(_title(c["cue_id"]))}: '
                f"{_e(human_value(c.get('value'), str(c.get('unit') or '')))}</span>"
                for c in bad
            )
            or "no warning"
        )
        at = st["foot_strike_s"]
        rows.append(
            f'<tr class="stride-row" data-index="{st["index"]}"><td class="num">{st["index"]}</td>'
            f'<td class="num">{_e(_clock(s.created, tz))}</td>'
            f'<td class="num">{_fmt(None if at is None else at - t0, 1)}</td>'
            f'<td class="v-{p["grade"]}">{_e(p["grade"])}</td>'
            f'<td class="num">{_fmt(st["cadence_spm"], 0)}</td>'
            f'<td class="num">{_fmt(st["ground_contact_ms"], 0)}</td><td>{issues}</td></tr>'
        )
        kf = keyframes.get(st["index"])
        if kf is not None:
            rows.append(f'<tr><td colspan="7" class="pic">{_keyframe_figure(kf)}</td></tr>')
    return (
        '<div class="wrap"><table><tr><th>stride</th><th>time</th><th>into session (s)</th>'
        "<th>grade</th><th>cadence (spm)</th><th>contact (ms)</th><th>warnings and faults</th>"
        "</tr>" + "".join(rows) + "</table></div>"
    )


def _keyframe_figure(kf: StoredKeyframe) -> str:
    data = base64.b64encode(kf.jpeg).decode("ascii")
    caption = (
        f"Stride {_e(kf.stride_index)} — "
        f'<span class="v-{_e(kf.verdict)}">{_e(_title(kf.cue_id))}</span> {_e(kf.message)}'
    )
    return (
        f'<figure><img alt="keyframe of stride {_e(kf.stride_index)}" '
        f'src="data:image/jpeg;base64,{data}"><figcaption>{caption}</figcaption></figure>'
    )


def _cue_table(counts: dict[str, dict[str, int]]) -> list[str]:
    out = [
        '<div class="wrap"><table id="cues"><tr><th>cue</th>'
        + "".join(f"<th>{v}</th>" for v in VERDICTS)
        + "<th>share</th></tr>"
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
            f'<tr data-cue="{_e(cue_id)}"><td>{_e(title or cue_id)}</td>'
            + "".join(
                f'<td class="num" data-verdict="{v}">{100 * c[v] / total:.0f}%</td>'
                for v in VERDICTS
            )
            + f'<td><div class="bar">{bar}</div></td></tr>'
        )
    out.append("</table></div>")
    return out


def _asymmetry_html(strides: Sequence[StoredStride]) -> list[str]:
    (a, b), rows = asymmetry(strides)
    if not rows:
        return ["<p>Not enough strides on both sides to compare.</p>"]
    out = [
        f'<div class="wrap"><table id="asymmetry"><tr><th>metric</th><th>{a}</th><th>{b}</th>'
        "<th>difference</th></tr>"
    ]
    for r in rows:
        d = r.difference_percent
        cls = ' class="notable"' if r.notable else ""
        out.append(
            f'<tr data-metric="{_e(r.key)}"><td>{_e(r.label)} ({_e(r.unit)})</td>'
            f'<td class="num">{_fmt(r.first, r.digits)} <small>n={r.n_first}</small></td>'
            f'<td class="num">{_fmt(r.second, r.digits)} <small>n={r.n_second}</small></td>'
            f'<td class="num"><span{cls}>{_fmt(d, 0)} %</span></td></tr>'
        )
    out.append("</table></div>")
    return out


def render_report(
    info: SessionInfo,
    strides: Sequence[StoredStride],
    keyframes: Sequence[StoredKeyframe],
    alerts: Sequence[dict[str, Any]] = (),
    progress: Sequence[ProgressRow] = (),
    tz: tzinfo | None = None,
) -> str:
    """The whole self-contained HTML page for one session (times in ``tz``, default local)."""
    counts = cue_counts(strides)
    grades = dict.fromkeys(GRADE_VERDICTS, 0)
    for s in strides:
        grades[s.payload["grade"]] = grades.get(s.payload["grade"], 0) + 1
    n = len(strides)
    times = [
        s.payload["stride"]["foot_strike_s"]
        for s in strides
        if s.payload["stride"]["foot_strike_s"] is not None
    ]
    t0 = min(times) if times else 0.0
    title = session_title(info, tz)
    ended = f" – {_clock(info.ended, tz)[:5]}" if info.ended else " (still open)"
    out = [
        '<!doctype html><html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width,initial-scale=1">',
        f"<title>{_e(title)}</title><style>{_CSS}</style></head>",
        "<body>",
        f'<h1 id="title">{_e(title)}</h1>',
        f'<p class="meta">Athlete: <strong id="athlete">{_e(info.athlete or "not set")}</strong>'
        f' · <span id="when">{_e(_clock(info.started, tz)[:5])}{_e(ended)}</span>'
        f" (local time) · device {_e(info.device_id)} · session {_e(info.session_id)}</p>",
        f'<p>Strides: <strong id="stride-count">{n}</strong>'
        + (f" over {max(times) - t0:.0f} s of running" if len(times) > 1 else "")
        + " · grades: "
        + ", ".join(f'<span class="v-{v}">{grades[v]} {v}</span>' for v in GRADE_VERDICTS)
        + "</p>",
        "<h2>Two things to work on</h2>",
    ]
    work = things_to_work_on(counts)
    if work:
        out.append('<ol class="work" id="work">')
        for cue_id, share in work:
            spec = CUES_BY_ID[cue_id]
            out.append(
                f'<li data-cue="{_e(cue_id)}"><strong>{_e(spec.title)}</strong> — '
                f"{100 * share:.0f} % of judged strides. {_e(spec.message)}</li>"
            )
        out.append("</ol>")
    else:
        out.append('<p id="work">Nothing stood out: no validated cue warned on any stride.</p>')
    out += [
        "<h2>Cues</h2>",
        '<p class="meta">info: information only (no validated basis yet: shown, never '
        "judged); unreliable: a plausibility gate found the stride physically impossible. "
        "Cues unknown on every stride are left out.</p>",
        *_cue_table(informative(counts)),
        "<h2>Over the session</h2>",
    ]
    xs = [
        (s.payload["stride"]["foot_strike_s"] or t0) - t0 for s in strides
    ]  # seconds into the session
    speed = session_speed(strides)
    judged = {c for c, v in counts.items() if any(v.get(x, 0) for x in ("ok", *_FLAGGED))}
    for key, plot_title, unit in PLOTTED:
        ys = [stride_value(s.payload, key) for s in strides]
        limits = metric_limits(key, speed, judged)
        svg = svg_plot(xs, ys, title=plot_title, unit=unit, limits=limits, x_label="s")
        if svg:
            out.append(svg)
    out.append("<h2>Left and right</h2>")
    out += _asymmetry_html(strides)

    by_index = {kf.stride_index: kf for kf in keyframes if kf.stride_index is not None}
    worst, best = worst_and_best(strides)
    out.append('<h2 id="worst">Worst strides</h2>')
    out.append(_stride_table(worst, by_index, t0, tz))
    out.append('<h2 id="best">Best strides</h2>')
    out.append(
        _stride_table(best, by_index, t0, tz) if best else "<p>No stride was free of warnings.</p>"
    )
    if progress:
        out.append("<h2>Progress across sessions</h2>")
        out.append(progress_table_html(progress, tz, current=info.session_id))
    out.append("<h2>Keyframes</h2>")
    if keyframes:
        out.append('<div class="kf">' + "".join(_keyframe_figure(k) for k in keyframes) + "</div>")
    else:
        out.append("<p>No keyframe was kept for this session.</p>")
    out.append("<h2>Alerts</h2>")
    if alerts:
        out.append(
            '<div class="wrap"><table><tr><th>into session (s)</th><th>cue</th><th>state</th>'
            "<th>message</th></tr>"
        )
        for a in alerts:
            at = a.get("time_s")
            out.append(
                f'<tr><td class="num">{_fmt(None if at is None else at - t0, 1)}</td>'
                f'<td>{_e(_title(a["cue_id"]))}</td><td class="v-{_e(a["verdict"])}">'
                f"{_e(a['state'])}</td><td>{_e(a['message'])}</td></tr>"
            )
        out.append("</table></div>")
    else:
        out.append("<p>No alert was raised.</p>")
    out.append(
        '<p class="meta">Made by Trackside. Values are estimates from a 2-D pose '
        "model; see docs/cues.md for what each cue means.</p></body></html>"
    )
    return "\n".join(out)


def report_html(store: ResultStore, session_id: str, tz: tzinfo | None = None) -> str:
    """The report page of ``session_id`` from ``store`` (:class:`ConfigError` if unknown)."""
    info = store.session(session_id)
    if info is None:
        known = ", ".join(s.session_id for s in store.sessions()[:10]) or "none recorded"
        raise ConfigError(f"{store.path}: no session {session_id!r} (latest: {known})")
    progress = athlete_progress(store, info.athlete) if info.athlete else []
    return render_report(
        info,
        store.strides(session_id),
        store.keyframes(session_id),
        store.alerts(session_id),
        progress=progress,
        tz=tz,
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


def _write(path: Path, text: str) -> None:
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot write report ({exc.strerror})") from None
