"""Session report and CSV, from a session recorded with real results of a real clip."""

from __future__ import annotations

import base64
import csv
import re
from html.parser import HTMLParser

import pytest
from dashboard_helpers import real_run

from edge.cues.summary import summarize
from edge.errors import TracksideError
from edge.outputs.keyframe import focus_cue, render_keyframe
from edge.outputs.mqtt.payloads import Keyframe
from edge.outputs.report import CSV_FIXED_COLUMNS, run_report, svg_plot, worst_and_best
from edge.outputs.store import ResultsConfig, ResultStore, StoreSink

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
        if report.grade.value in ("warn", "fault"):
            cue = focus_cue(report)
            jpeg = render_keyframe(*run.frame_at(report.stride.foot_strike.time), report)
            sink.publish_keyframe(
                Keyframe(
                    jpeg,
                    stride_index=report.stride.index,
                    cue_id=cue.cue_id,
                    time_s=report.stride.foot_strike.time,
                    verdict=cue.verdict.value,
                    message=cue.message,
                )
            )
            kept.append(jpeg)
    sink.publish_session_summary(summarize(run.reports), passes=1)
    store.close()
    settings = ResultsConfig(path=str(path), keyframes_per_session=8)
    return run, settings, kept[-8:]


def test_report_shows_athlete_counts_shares_plots_and_keyframes(tmp_path, recorded):
    run, settings, keyframes = recorded
    out = tmp_path / "report.html"
    run_report(settings, "track-am", out, None)
    text = out.read_text()
    page = _Page()
    page.feed(text)
    assert re.search(r'id="athlete">ana<', text)
    assert re.search(rf'id="stride-count">{len(run.reports)}<', text)
    # Per-cue shares are those of the real verdicts.
    for cue_id in {c.cue_id for c in run.reports[0].cues}:
        verdicts = [
            next(c.verdict.value for c in r.cues if c.cue_id == cue_id) for r in run.reports
        ]
        for v in ("ok", "warn", "fault", "unknown"):
            expected = f"{100 * verdicts.count(v) / len(verdicts):.0f}%"
            assert page.cue_rows[cue_id][v] == expected, (cue_id, v)
    # Plots of the measured metrics (cadence and contact at least), each an inline SVG.
    assert page.svgs >= 3 and "Cadence" in text and "Ground contact" in text
    # Keyframes are embedded, not linked: each decodes to a stored JPEG.
    embedded = [
        base64.b64decode(src.split(",", 1)[1])
        for src in page.images
        if src.startswith("data:image/jpeg;base64,")
    ]
    assert len(page.images) == len(embedded) and embedded
    assert set(embedded) == set(keyframes)
    assert "http://" not in text and "https://" not in text, "self-contained: no external link"
    # The worst stride is listed among the worst.
    store = ResultStore(settings.path, readonly=True)
    worst, best = worst_and_best(store.strides("track-am"))
    worst_part = text[text.index("Worst strides") : text.index("Best strides")]
    assert f'<td class="num">{worst[0].index}</td>' in worst_part
    assert best and "Best strides" in text


def test_csv_has_documented_columns_and_one_row_per_stride(tmp_path, recorded):
    run, settings, _ = recorded
    out = tmp_path / "strides.csv"
    written = run_report(settings, "track-am", tmp_path / "report.html", out)
    assert written == [tmp_path / "report.html", out]  # the report, and the CSV as well
    with out.open(newline="") as f:
        rows = list(csv.DictReader(f))
    header = list(rows[0])
    assert tuple(header[: len(CSV_FIXED_COLUMNS)]) == CSV_FIXED_COLUMNS
    assert "trunk_lean_deg" in header and "cue:posture.run_tall" in header
    assert len(rows) == len(run.reports)
    for row, report in zip(rows, run.reports, strict=True):
        assert int(row["stride_index"]) == report.stride.index
        assert row["athlete"] == "ana" and row["grade"] == report.grade.value
        assert float(row["cadence_spm"]) == pytest.approx(120 / report.stride.duration, abs=0.01)
        lean = report.stride.metrics["trunk_lean_deg"].value
        assert (
            row["trunk_lean_deg"] == ""
            if lean != lean
            else float(row["trunk_lean_deg"]) == pytest.approx(lean, abs=1e-3)
        )
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
