"""Pass/session summary maths, the stride table and the generated docs/cues.md."""

from __future__ import annotations

import dataclasses
import math
import statistics
from pathlib import Path

import pytest

from edge.cues.catalogue import CATALOGUE
from edge.cues.docs import render_markdown
from edge.cues.evaluate import evaluate_stride
from edge.cues.profiles import build_rules
from edge.cues.summary import SummaryAccumulator, summarize
from edge.cues.table import (
    format_stride_table,
    format_summary,
    judged_cues,
    table_row,
    unjudged_reasons,
)
from edge.types import EventKind, GaitEvent, GateFailure, Leg, MetricValue, Stride, Verdict

REPO = Path(__file__).resolve().parent.parent
LEANS = [7.0, 14.0, 22.0, float("nan"), 9.0, 30.0]


def strides() -> list[Stride]:
    out = []
    for i, lean in enumerate(LEANS):
        fs = GaitEvent(EventKind.FOOT_STRIKE, Leg.NEAR, 2.0 + 0.7 * i)
        nfs = GaitEvent(EventKind.FOOT_STRIKE, Leg.NEAR, 2.7 + 0.7 * i)
        metrics = {
            "trunk_lean_deg": MetricValue(lean, "deg", 0.8),
            "peak_shank_angle_before_strike_deg": MetricValue(8.0 + 4.0 * i, "deg", 0.9),
            "head_pitch_deg": MetricValue(5.0 * i, "deg", 0.7),
        }
        out.append(Stride(i, Leg.NEAR, fs, None, nfs, metrics=metrics))
    return out


def reports():
    rules = build_rules()
    return [evaluate_stride(s, rules, "side") for s in strides()]


def test_shares_per_cue_add_up_and_match_the_verdicts():
    summary = summarize(reports())
    assert summary.strides == 6
    assert summary.start == pytest.approx(2.0) and summary.end == pytest.approx(2.7 + 3.5)
    tall = summary.cue("posture.run_tall")
    # 7 ok, 14 ok (warn from 14.5), 22 fault, nan unknown, 9 ok, 30 fault
    none = {"info": 0, "unreliable": 0}
    assert tall.counts == {"ok": 3, "warn": 0, "fault": 2, "unknown": 1, **none}
    assert tall.share(Verdict.FAULT) == pytest.approx(2 / 6)
    for cue in summary.cues:
        assert sum(cue.share(v) for v in Verdict) == pytest.approx(1.0)
    assert summary.cue("arms.loose_hands").share(Verdict.UNKNOWN) == 1.0
    # shank reach 8..28 deg: ok below 18, warn 20/24, fault at 28
    assert summary.cue("legs.overstride").counts == {
        "ok": 3,
        "warn": 2,
        "fault": 1,
        "unknown": 0,
        **none,
    }
    assert summary.cue("head.look_ahead").share(Verdict.INFO) == 1.0  # information only
    assert sum(summary.grades.values()) == 6


def test_metrics_a_gate_flagged_stay_out_of_the_statistics():
    flagged = GateFailure("made-up", "why", frozenset({"trunk_lean_deg"}))
    gated = [
        dataclasses.replace(r, gates=(flagged,)) if i == 5 else r for i, r in enumerate(reports())
    ]
    lean = summarize(gated).metric("trunk_lean_deg")
    assert lean.count == 4 and lean.high == 22.0  # the 30 of the flagged stride is left out


def test_metric_mean_and_spread_skip_nan():
    summary = summarize(reports())
    lean = summary.metric("trunk_lean_deg")
    finite = [x for x in LEANS if not math.isnan(x)]
    assert lean.count == 5 and lean.unit == "deg"
    assert lean.mean == pytest.approx(statistics.mean(finite))
    assert lean.spread == pytest.approx(statistics.stdev(finite))
    assert (lean.low, lean.high) == (7.0, 30.0)


def test_accumulator_matches_batch_and_handles_tiny_passes():
    acc = SummaryAccumulator()
    for r in reports():
        acc.add(r)
    assert acc.summary() == summarize(reports())
    one = summarize(reports()[:1])
    assert math.isnan(one.metric("trunk_lean_deg").spread)
    empty = summarize([])
    assert empty.strides == 0 and empty.cues == () and empty.start is None
    data = summarize(reports()).to_dict()
    assert data["cues"]["posture.run_tall"]["fault"] == pytest.approx(0.3333)
    assert data["metrics"]["trunk_lean_deg"]["count"] == 5


def test_stride_table_shows_values_and_verdicts_side_by_side():
    text = format_stride_table(reports())
    lines = text.splitlines()
    header, rows = lines[:3], lines[3:9]
    # Two-word names over two lines, units on the third.
    assert header[0].split("|")[1].split()[:2] == ["trunk", "over-"]
    assert header[1].split("|")[1].split()[:2] == ["lean", "stride"]
    assert header[2].split("|")[1].split()[:2] == ["deg", "deg"]  # overstride: shank angle
    assert header[1].split("|")[0].split() == [
        "stride",
        "time",
        "leg",
        "grade",
        "cadence",
        "contact",
    ]
    assert header[2].split("|")[0].split() == ["s", "spm", "ms"]
    assert "22.0 F" in rows[2] and "14.0 ok" in rows[1] and "7.00 ok" in rows[0]
    assert "20.0 W" in rows[3] and "25.0 i" in rows[5]  # head pitch: information only
    # Lean unknown on stride 3: a "?" and no number.
    assert rows[3].split("|")[1].split()[0] == "?"
    assert all(len(r) == len(header[1]) for r in rows)
    # Each stride lasts 0.7 s: 171 steps/min; no toe-off, so no contact time.
    assert rows[0].split("|")[0].split()[-2:] == ["171", "-"]
    assert "posture.run_tall" in text and "trunk_lean_deg" in text  # legend
    assert table_row(reports()[0]).split()[0] == "0"
    assert len(judged_cues()) == 11


def test_stride_table_gives_cues_judged_on_no_stride_no_column_but_a_reason():
    text = format_stride_table(reports())
    header = text.splitlines()[1]
    # Only lean, overstride and head pitch (information only: shown, not judged) have metrics
    # here: every other cue is unknown everywhere.
    shown = {"posture.run_tall", "legs.overstride", "head.look_ahead"}
    assert header.split("|")[1].split() == ["lean", "stride", "pitch"]
    tail = text.split("not judged on any stride:\n", 1)[1].splitlines()
    reasons = dict(line.split(None, 1) for line in tail)
    assert set(reasons) == {c.id for c in judged_cues()} - shown
    assert reasons["legs.knee_drive"] == "metric peak_thigh_angle_swing_deg not computed"


def test_summary_text_lists_each_cue():
    rs = reports()
    text = format_summary(summarize(rs), reasons=unjudged_reasons(rs, CATALOGUE))
    assert "6 strides over 4.2 s" in text
    line = next(ln for ln in text.splitlines() if ln.startswith("posture.run_tall"))
    assert "33%" in line and "n=5" in line
    # A cue judged on no stride: no shares, no mean, only why.
    line = next(ln for ln in text.splitlines() if ln.startswith("legs.knee_drive"))
    assert line.split(None, 1)[1] == "not judged: metric peak_thigh_angle_swing_deg not computed"
    line = next(ln for ln in text.splitlines() if ln.startswith("head.relaxed_face"))
    assert "%" not in line and "not measurable" in line
    one = format_summary(summarize(rs[:1]))
    assert one.startswith("1 stride;") or one.startswith("1 stride over")


def test_docs_table_is_up_to_date():
    committed = (REPO / "docs" / "cues.md").read_text(encoding="utf-8")
    assert committed == render_markdown(), (
        "docs/cues.md is stale: run `python -m edge.cues.docs > docs/cues.md`"
    )
    for cue in CATALOGUE:
        assert f"`{cue.id}`" in committed
