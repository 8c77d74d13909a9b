"""Session report and CSV, from a session recorded with real results of a real clip."""

from __future__ import annotations

import base64
import csv
import re
import statistics
from datetime import datetime
from html.parser import HTMLParser

import pytest
from dashboard_helpers import real_run

from edge.cues.summary import summarize
from edge.errors import TracksideError
from edge.outputs.keyframe import keyframe_of, render_keyframe
from edge.outputs.plots import svg_plot
from edge.outputs.progress import athlete_progress, progress_csv, progress_page
from edge.outputs.report import report_html, run_report
from edge.outputs.session_stats import cue_counts, things_to_work_on, worst_and_best
from edge.outputs.store import ResultsConfig, ResultStore
from edge.outputs.store_sink import StoreSink
from edge.outputs.strides_csv import CSV_FIXED_COLUMNS, TEXT_COLUMNS, UNIT_SUFFIXES

pytestmark = [pytest.mark.media, pytest.mark.model]


class _Page(HTMLParser):
    """Collects what a reader of the page would look at."""

    def __init__(self) -> None:
        super().__init__()
        self.images: list[str] = []
        self.svgs = 0
        self.cue_rows: dict[str, dict[str, str]] = {}
        self._cue: str | None = None
        self._verdict: str | None = None
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "img":
            self.images.append(a["src"])
        elif tag == "svg":
            self.svgs += 1
        elif tag == "tr" and "data-cue" in a:
            self._cue = a["data-cue"]
            self.cue_rows[self._cue] = {}
        elif tag == "td" and self._cue and "data-verdict" in a:
            self._verdict = a["data-verdict"]

    def handle_endtag(self, tag):
        if tag == "tr":
            self._cue = None
        if tag == "td":
            self._verdict = None

    def handle_data(self, data):
        self.text.append(data)
        if self._cue and self._verdict:
            self.cue_rows[self._cue][self._verdict] = data


@pytest.fixture
def recorded(tmp_path, media_dir, lightning_model):
    run = real_run(media_dir, lightning_model)
    path = tmp_path / "results.sqlite3"
    store = ResultStore(path)
    sink = StoreSink(store, "pi-track3")
    sink.set_session("track-am", athlete="ana")
    kept = []
    for report in run.reports:
        sink.publish_stride(report)
        # As the daemon does: a picture of every judged stride, flagged or clean; the
        # store keeps the session's worst and best.
        if report.grade.value not in ("ok", "warn", "fault"):
            continue
        jpeg = render_keyframe(*run.frame_at(report.stride.foot_strike.time), report)
        sink.publish_keyframe(keyframe_of(report, jpeg))
        kept.append(jpeg)
    sink.publish_session_summary(summarize(run.reports), passes=1)
    store.close()
    settings = ResultsConfig(path=str(path), keyframes_per_session=len(run.reports))
    return run, settings, kept


def _section(text: str, start: str, end: str) -> str:
    return text[text.index(start) : text.index(end, text.index(start))]


def test_report_shows_title_local_times_work_shares_plots_and_strides(tmp_path, recorded):
    run, settings, keyframes = recorded
    out = tmp_path / "report.html"
    run_report(settings, "track-am", out, None)
    text = out.read_text()
    page = _Page()
    page.feed(text)
    store = ResultStore(settings.path, readonly=True)
    info = store.session("track-am")
    strides = store.strides("track-am")
    # Titled by who and when, in this machine's local time — not by the session id.
    started = datetime.fromtimestamp(info.started).astimezone()
    title = re.search(r'<h1 id="title">([^<]*)</h1>', text).group(1)
    assert title.startswith("ana — ") and f"{started:%H:%M}" in title
    assert f"{started.day} {started:%b %Y}" in title and "track-am" not in title
    assert not re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", text), "no UTC stamps"
    assert re.search(r'id="athlete">ana<', text)
    assert re.search(rf'id="stride-count">{len(run.reports)}<', text)
    # Two things to work on: the validated cues bad on the largest share of strides.
    expected = things_to_work_on(cue_counts(strides))
    work = _section(text, "Two things to work on", "<h2>Cues")
    assert [c for c, _ in expected] == re.findall(r'<li data-cue="([^"]+)"', work)
    assert expected, "the clip's faults give something to work on"
    # Per-cue shares are those of the real verdicts; a cue unknown on every stride has no row.
    for cue_id in {c.cue_id for c in run.reports[0].cues}:
        verdicts = [
            next(c.verdict.value for c in r.cues if c.cue_id == cue_id) for r in run.reports
        ]
        if all(v in ("unknown", "unreliable") for v in verdicts):
            assert cue_id not in page.cue_rows, cue_id
            continue
        for v in ("ok", "warn", "fault", "unknown"):
            expected_share = f"{100 * verdicts.count(v) / len(verdicts):.0f}%"
            assert page.cue_rows[cue_id][v] == expected_share, (cue_id, v)
    # Plots of the measured metrics over the session's time (seconds), as inline SVG.
    assert page.svgs >= 3 and "Cadence" in text and "Ground contact" in text
    assert re.search(r'class="tick" text-anchor="end">\d+ s</text>', text)
    # Keyframes are embedded, not linked: each decodes to a stored JPEG.
    embedded = [
        base64.b64decode(src.split(",", 1)[1])
        for src in page.images
        if src.startswith("data:image/jpeg;base64,")
    ]
    assert len(page.images) == len(embedded) and embedded
    assert set(embedded) <= set(keyframes)
    assert "http://" not in text and "https://" not in text, "self-contained: no external link"
    # The worst strides are listed, each with its picture; the best have no warning.
    worst, best = worst_and_best(strides)
    worst_part = _section(text, 'id="worst"', 'id="best"')
    assert worst
    for s in worst:
        assert f'<tr class="stride-row" data-index="{s.index}">' in worst_part
    assert worst_part.count("<img") == len(worst)
    best_part = _section(text, 'id="best"', "<h2>")
    for s in best:
        assert all(c["verdict"] not in ("warn", "fault") for c in s.payload["cues"])
        assert f'data-index="{s.index}"' in best_part
    assert best_part.count("<img") == len(best)
    # Left and right (or near and far) compared, and the phone viewport is set.
    assert 'id="asymmetry"' in text
    assert 'name="viewport" content="width=device-width,initial-scale=1"' in text
    store.close()


def test_csv_has_a_unit_in_every_column_no_duplicates_and_no_empty_columns(tmp_path, recorded):
    run, settings, _ = recorded
    out = tmp_path / "strides.csv"
    written = run_report(settings, "track-am", tmp_path / "report.html", out)
    assert written == [tmp_path / "report.html", out]  # the report, and the CSV as well
    with out.open(newline="") as f:
        rows = list(csv.DictReader(f))
    header = list(rows[0])
    assert len(header) == len(set(header))
    for column in header:
        if column.startswith("cue:") or column in TEXT_COLUMNS:
            continue
        assert column.endswith(UNIT_SUFFIXES), f"{column}: no unit in its name"
    for duplicate in ("contact_time", "stride_time", "stride_cadence", "duty_factor"):
        assert duplicate not in header
    for column in header:
        assert any(row[column] != "" for row in rows), f"{column} is empty on every row"
    assert [c for c in CSV_FIXED_COLUMNS if c in header] == header[
        : len([c for c in CSV_FIXED_COLUMNS if c in header])
    ]
    assert "trunk_lean_deg" in header and "cue:posture.run_tall" in header
    assert len(rows) == len(run.reports)
    for row, report in zip(rows, run.reports, strict=True):
        assert int(row["stride_index"]) == report.stride.index
        assert row["athlete"] == "ana" and row["grade"] == report.grade.value
        assert float(row["cadence_spm"]) == pytest.approx(120 / report.stride.duration, abs=0.01)
        # local time with its UTC offset
        recorded_at = datetime.fromisoformat(row["recorded_at_local"])
        assert recorded_at.utcoffset() == datetime.now().astimezone().utcoffset()
        lean = report.stride.metrics["trunk_lean_deg"].value
        assert (
            row["trunk_lean_deg"] == ""
            if lean != lean
            else float(row["trunk_lean_deg"]) == pytest.approx(lean, abs=1e-3)
        )
        flight = report.stride.metrics.get("flight_time")
        if "flight_time_ms" in header and flight is not None and flight.value == flight.value:
            assert float(row["flight_time_ms"]) == pytest.approx(1000 * flight.value, abs=0.1)
        assert row["cue:legs.overstride"] == next(
            c.verdict.value for c in report.cues if c.cue_id == "legs.overstride"
        )
    # Every column is documented in docs/dashboard.md (fixed ones by name, the rest by kind).
    from pathlib import Path

    doc = (Path(__file__).resolve().parent.parent / "docs" / "dashboard.md").read_text()
    for column in CSV_FIXED_COLUMNS:
        assert f"`{column}`" in doc, column


def test_unknown_session_names_the_file_and_known_sessions(tmp_path, recorded):
    _, settings, _ = recorded
    with pytest.raises(TracksideError, match=r"no session 'nope'.*track-am"):
        run_report(settings, "nope", tmp_path / "x.html", None)


def test_svg_plot_leaves_gaps_and_draws_limits():
    svg = svg_plot(
        [0, 1, 2, 3],
        [1.0, None, 3.0, 4.0],
        title="Lean",
        unit="deg",
        limits=[(3.5, "warn"), (100.0, "fault")],
    )
    assert svg.count("<polyline") == 1  # the gap splits the line; a lone point is a dot
    assert svg.count('class="dot"') == 3
    assert 'class="limit warn"' in svg and "fault" not in svg  # far-away limit left out
    assert svg_plot([0], [None], title="x", unit="y") == ""


def test_progress_lists_every_session_of_the_athlete_with_shares_and_medians(tmp_path, recorded):
    run, settings, _ = recorded
    store = ResultStore(settings.path)
    sink = StoreSink(store, "pi-track3")
    sink.set_session("track-pm", athlete="ana")  # a second session of the same runner
    for report in run.reports[: len(run.reports) // 2]:
        sink.publish_stride(report)
    sink.set_session("other", athlete="ben")
    sink.publish_stride(run.reports[0])
    rows = athlete_progress(store, "ana")
    assert [r.info.session_id for r in rows] == ["track-am", "track-pm"]  # oldest first
    assert [r.strides for r in rows] == [len(run.reports), len(run.reports) // 2]
    first = rows[0]
    overstride = [
        next(c.verdict.value for c in r.cues if c.cue_id == "legs.overstride") for r in run.reports
    ]
    judged = [v for v in overstride if v in ("ok", "warn", "fault")]
    if judged:
        share = sum(v in ("warn", "fault") for v in judged) / len(judged)
        assert first.bad_shares["legs.overstride"] == pytest.approx(share)
    cadences = sorted(120 / r.stride.duration for r in run.reports if r.reliable)
    assert first.medians["stride.cadence_spm"] == pytest.approx(
        statistics.median(cadences), abs=0.01
    )
    page = progress_page("ana", rows)
    assert page.count('class="progress-row"') == 2 and "ben" not in page
    header = progress_csv(rows).splitlines()[0].split(",")
    for column in header[4:]:
        assert column.endswith(("_spm", "_ms", "_deg")) or column.startswith(
            "bad_share_percent:"
        ), column
    # The session report shows the same progress.
    text = report_html(store, "track-pm")
    assert text.count('class="progress-row"') == 2
    store.close()
