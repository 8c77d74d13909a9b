"""An athlete's progress: every kept session's per-cue shares and key metrics, oldest first.

Is the coaching working?  For each session of one athlete in the results store: how many
strides, the share of judged strides each validated cue warned or faulted on, and the
median of the :data:`~edge.outputs.session_stats.KEY_METRICS`.  The dashboard's progress
page, the report and the CSV export read the same rows.  Pure except
:func:`athlete_progress`, which reads the store.
"""

from __future__ import annotations

import csv
import html
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import tzinfo

from edge.cues.catalogue import CATALOGUE
from edge.outputs.plots import svg_plot
from edge.outputs.session_stats import KEY_METRICS, bad_share, cue_counts, median_of
from edge.outputs.sessions_list import local_time, session_title
from edge.outputs.store import ResultStore, SessionInfo

#: The cues a progress table follows: the validated ones, in catalogue order.
PROGRESS_CUES = tuple(c.id for c in CATALOGUE if c.validated)


@dataclass(frozen=True, slots=True)
class ProgressRow:
    """One session of the athlete."""

    info: SessionInfo
    strides: int
    bad_shares: dict[str, float]  # cue id -> share of judged strides warn or fault
    medians: dict[str, float]  # key metric -> median over the session's reliable strides


def athlete_progress(store: ResultStore, athlete: str) -> list[ProgressRow]:
    """Every kept session of ``athlete`` with at least one stride, oldest first."""
    rows = []
    for info in reversed(store.sessions()):
        if info.athlete != athlete or not info.strides:
            continue
        strides = store.strides(info.session_id)
        counts = cue_counts(strides)
        shares = {c: s for c in PROGRESS_CUES if (s := bad_share(counts.get(c, {}))) is not None}
        medians = {k: m for k, *_ in KEY_METRICS if (m := median_of(strides, k)) is not None}
        rows.append(ProgressRow(info, len(strides), shares, medians))
    return rows


def _shown_cues(rows: Sequence[ProgressRow]) -> list[str]:
    return [c for c in PROGRESS_CUES if any(c in r.bad_shares for r in rows)]


def progress_table_html(
    rows: Sequence[ProgressRow], tz: tzinfo | None = None, *, current: str | None = None
) -> str:
    """The progress table: one row per session, the shares and medians as columns."""
    titles = {c.id: c.title for c in CATALOGUE}
    cues = _shown_cues(rows)
    metrics = [m for m in KEY_METRICS if any(m[0] in r.medians for r in rows)]
    head = (
        "<tr><th>session</th><th>strides</th>"
        + "".join(f"<th>{html.escape(label)} ({html.escape(u)})</th>" for _, label, u, _ in metrics)
        + "".join(f"<th>{html.escape(titles[c])}: warn or fault</th>" for c in cues)
        + "</tr>"
    )
    body = []
    for r in rows:
        mark = ' class="current"' if r.info.session_id == current else ""
        cells = "".join(
            f'<td class="num">{r.medians[k]:.{d}f}</td>' if k in r.medians else "<td>–</td>"
            for k, _, _, d in metrics
        )
        cells += "".join(
            f'<td class="num">{100 * r.bad_shares[c]:.0f} %</td>'
            if c in r.bad_shares
            else "<td>–</td>"
            for c in cues
        )
        body.append(
            f'<tr class="progress-row" data-session="{html.escape(r.info.session_id)}"{mark}>'
            f"<td>{html.escape(session_title(r.info, tz))}</td>"
            f'<td class="num">{r.strides}</td>{cells}</tr>'
        )
    return f'<div class="wrap"><table id="progress">{head}{"".join(body)}</table></div>'


def progress_csv(rows: Sequence[ProgressRow], tz: tzinfo | None = None) -> str:
    """The progress rows as CSV: every numeric column named with its unit."""
    cues = _shown_cues(rows)
    metric_cols = {
        "stride.cadence_spm": "median_cadence_spm",
        "stride.ground_contact_ms": "median_ground_contact_ms",
    }
    metrics = [(k, metric_cols.get(k, f"median_{k}")) for k, *_ in KEY_METRICS]
    header = [
        "session_id",
        "athlete",
        "started_local",
        "strides",
        *(name for _, name in metrics),
        *(f"bad_share_percent:{c}" for c in cues),
    ]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for r in rows:
        writer.writerow(
            [
                r.info.session_id,
                r.info.athlete or "",
                local_time(r.info.started, tz).isoformat(timespec="seconds"),
                r.strides,
                *(round(r.medians[k], 3) if k in r.medians else "" for k, _ in metrics),
                *(round(100 * r.bad_shares[c], 1) if c in r.bad_shares else "" for c in cues),
            ]
        )
    return buffer.getvalue()


def progress_page(athlete: str, rows: Sequence[ProgressRow], tz: tzinfo | None = None) -> str:
    """A self-contained HTML page of the athlete's progress (the dashboard's progress view)."""
    name = html.escape(athlete)
    parts = [
        '<!doctype html><html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width,initial-scale=1">',
        f"<title>{name}: progress</title><style>{PAGE_CSS}</style></head><body>",
        f'<h1 id="title">{name}: progress across sessions</h1>',
        f'<p class="meta">{len(rows)} session(s) kept on this device, oldest first. '
        f'<a href="{html.escape(athlete)}.csv">Download as CSV</a></p>',
    ]
    if not rows:
        parts.append("<p>No session of this athlete is kept on this device.</p>")
    else:
        parts.append(progress_table_html(rows, tz))
        xs = [float(i + 1) for i in range(len(rows))]
        for key, label, unit, _ in KEY_METRICS:
            ys = [r.medians.get(key) for r in rows]
            svg = svg_plot(xs, ys, title=f"{label}, session median", unit=unit, x_label="")
            if svg and len(rows) > 1:
                parts.append(svg)
    parts.append("</body></html>")
    return "\n".join(parts)


PAGE_CSS = """
body{font:16px/1.45 system-ui,sans-serif;margin:0 auto;max-width:960px;padding:12px;color:#1d232b}
*{box-sizing:border-box}svg{max-width:100%}.wrap{overflow-x:auto}a{color:#2563eb}
table{border-collapse:collapse;width:100%;font-size:15px}.meta{color:#556}
th,td{padding:6px;border-bottom:1px solid #e4e6ea;text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums}tr.current{background:#eef4ff}
.plot{width:100%;height:auto;background:#fafbfc;margin:6px 0}
.plot .title{font-size:15px;font-weight:600;fill:#333}.plot .tick{font-size:13px;fill:#667}
.plot .frame{fill:none;stroke:#dde}.plot .line{fill:none;stroke:#2563eb;stroke-width:1.5}
.plot .dot{fill:#2563eb}
@media (prefers-color-scheme: dark){body{background:#14171c;color:#e8ebf0}a{color:#8fb6ff}
th,td{border-color:#2e3540}tr.current{background:#1e2a40}.plot{background:#1e232b}}
"""
