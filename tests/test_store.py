"""The results store: what goes in comes out, per session, bounded, from several threads."""

from __future__ import annotations

import json
import math
import sqlite3
import threading
import time

import pytest

from edge.cues.summary import summarize
from edge.errors import TracksideError
from edge.outputs.mqtt.payloads import DeviceStatus, Keyframe
from edge.outputs.store import (
    SUMMARY_FORM_VERSION,
    ResultsConfig,
    ResultStore,
    default_results_path,
)
from edge.outputs.store_sink import StoreSink
from edge.testing.mqtt import alert, stride_report

CTX = {"athlete": "ana", "device_id": "pi-track3"}


class Clock:
    def __init__(self, t: float = 1_700_000_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def test_strides_alerts_and_summaries_round_trip_per_session(tmp_path):
    store = ResultStore(tmp_path / "r.sqlite3")
    store.start_session("am", **CTX)
    reports = [stride_report(i) for i in range(5)]
    for r in reports:
        store.record_stride(r, session_id="am", **CTX)
    store.record_stride(stride_report(99), session_id="pm", **CTX)
    store.record_alert(alert(), session_id="am", **CTX)
    store.record_pass(summarize(reports), pass_index=1, session_id="am", device_id="pi-track3")
    store.record_session(summarize(reports), passes=1, session_id="am", **CTX)

    strides = store.strides("am")
    assert [s.index for s in strides] == [0, 1, 2, 3, 4]
    first = strides[0].payload
    assert first["stride"]["cadence_spm"] == pytest.approx(171.43)
    assert first["metrics"]["overstride_cm"]["value"] is None  # NaN stored as null
    assert first["grade"] == "fault" and first["worst_cue"] == "legs.knee_drive"
    assert {c["cue_id"] for c in first["cues"]} == {c.cue_id for c in reports[0].cues}
    assert [a["cue_id"] for a in store.alerts("am")] == ["legs.knee_drive"]
    assert store.passes("am")[0]["pass_index"] == 1
    info = store.session("am")
    assert info is not None and info.athlete == "ana" and info.strides == 5
    assert info.ended is not None and info.summary["strides"] == 5
    # Summaries are kept as the MQTT payloads are: counts per verdict, sd and n per metric.
    assert info.summary["passes"] == 1 and info.summary["duration_s"] == pytest.approx(3.5)
    assert info.summary["cues"]["legs.knee_drive"] == {
        "ok": 0,
        "warn": 0,
        "fault": 5,
        "unknown": 0,
        "info": 0,
        "unreliable": 0,
    }
    assert info.summary["cues"]["arms.elbows_back"]["info"] == 5  # information only
    assert info.summary["metrics"]["trunk_lean_deg"] == {
        "unit": "deg",
        "mean": pytest.approx(6.2),
        "sd": pytest.approx(0.1581, abs=1e-4),
        "n": 5,
    }
    assert {s.session_id for s in store.sessions()} == {"am", "pm"}
    store.close()


def test_a_session_keeps_the_keyframes_of_its_worst_and_best_strides(tmp_path):
    store = ResultStore(tmp_path / "r.sqlite3", keyframes_per_session=4)
    # severity per stride: a fault weighs 3, a warning 1, a clean stride 0
    severities = [3, 0, 1, 6, 0, 1, 1, 4, 0, 1]
    for i, severity in enumerate(severities):
        store.record_keyframe(
            b"\xff\xd8%d" % i,
            session_id="am",
            device_id="pi",
            stride_index=i,
            cue_id=None,
            time_s=float(i),
            severity=severity,
        )
    kept = {k.stride_index for k in store.keyframes("am")}
    # the two worst (6 at 3, 4 at 7) and the two newest clean ones (8, 4) — not the newest
    assert kept == {3, 7, 4, 8}


def test_only_the_newest_keyframes_of_a_session_are_kept(tmp_path):
    store = ResultStore(tmp_path / "r.sqlite3", keyframes_per_session=3)
    for i in range(6):
        store.record_keyframe(
            b"\xff\xd8jpeg%d" % i,
            session_id="am",
            device_id="pi",
            stride_index=i,
            cue_id="legs.overstride",
            time_s=float(i),
            verdict="warn",
            message="Land under your body",
        )
    store.record_keyframe(
        b"\xff\xd8other", session_id="pm", device_id="pi", stride_index=0, cue_id=None, time_s=None
    )
    kept = store.keyframes("am")
    assert [k.stride_index for k in kept] == [3, 4, 5]
    assert kept[-1].jpeg == b"\xff\xd8jpeg5" and kept[-1].verdict == "warn"
    assert len(store.keyframes("pm")) == 1


def test_old_results_and_excess_strides_are_pruned(tmp_path, caplog):
    clock = Clock()
    path = tmp_path / "r.sqlite3"
    store = ResultStore(path, clock=clock, max_age_days=1.0, max_strides=100)
    for i in range(50):
        store.record_stride(stride_report(i), session_id="old", **CTX)
    clock.t += 2 * 86400
    for i in range(150):
        store.record_stride(stride_report(i), session_id="new", **CTX)
    store.close()
    reopened = ResultStore(path, clock=clock, max_age_days=1.0, max_strides=100)
    assert reopened.strides("old") == [] and reopened.session("old") is None
    kept = reopened.strides("new")
    assert 90 <= len(kept) <= 100 and kept[-1].index == 149, "the newest strides stay"
    assert "deleted the" in caplog.text


def test_concurrent_writers_lose_nothing(tmp_path):
    store = ResultStore(tmp_path / "r.sqlite3")

    def write(session: str) -> None:
        for i in range(100):
            store.record_stride(stride_report(i), session_id=session, **CTX)

    threads = [threading.Thread(target=write, args=(f"s{n}",)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(len(store.strides(f"s{n}")) == 100 for n in range(4))
    assert (
        sqlite3.connect(tmp_path / "r.sqlite3").execute("PRAGMA journal_mode").fetchone()[0]
        == "wal"
    )


def test_sink_records_what_the_daemon_publishes(tmp_path):
    store = ResultStore(tmp_path / "r.sqlite3")
    sink = StoreSink(store, "pi-track3")
    sink.publish_stride(stride_report(0))  # outside a session: kept, but in no session
    sink.set_session("am", athlete="ana")
    sink.publish_stride(stride_report(1))
    sink.publish_alert(alert())
    sink.publish_keyframe(Keyframe(b"\xff\xd8x", 1, "arms.elbows_back", time_s=1.7))
    sink.publish_pass_summary(summarize([stride_report(1)]), pass_index=1)
    sink.publish_session_summary(summarize([stride_report(1)]), passes=1)
    sink.publish_status(DeviceStatus("running"))
    sink.set_session(None, athlete="ana")
    assert [s.index for s in store.strides("am")] == [1]
    info = store.session("am")
    assert info.athlete == "ana" and info.ended is not None and info.summary["passes"] == 1
    assert store.keyframes("am")[0].stride_index == 1
    assert store.passes("am")[0]["pass_index"] == 1


def test_unusable_files_raise_a_trackside_error_naming_the_file(tmp_path):
    bad = tmp_path / "not.sqlite3"
    bad.write_bytes(b"this is not a database" * 100)
    # A reader (report, dashboard) says what is wrong; the daemon's writer replaces the file
    # (tests/test_hardening_storage.py).
    with pytest.raises(TracksideError, match=r"not\.sqlite3"):
        ResultStore(bad, readonly=True).sessions()
    with pytest.raises(TracksideError, match="no results file"):
        ResultStore(tmp_path / "missing.sqlite3", readonly=True)
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(TracksideError, match="cannot open results store"):
        ResultStore(blocker / "r.sqlite3")


def test_default_path_follows_the_state_directory():
    assert (
        str(default_results_path("", {"STATE_DIRECTORY": "/var/lib/trackside"}))
        == "/var/lib/trackside/results.sqlite3"
    )
    assert str(default_results_path("", {})) == "state/results.sqlite3"
    assert str(default_results_path("/x/r.db", {})) == "/x/r.db"
    assert ResultsConfig().keyframes_per_session == 8


# The two forms summaries were stored in before the store kept one (PRAGMA user_version 0):
# the daemon's keywords, and Summary.to_dict() (what record_session(Summary) wrote).
OLD_TABLES = """
CREATE TABLE sessions (session_id TEXT PRIMARY KEY, device_id TEXT NOT NULL, athlete TEXT,
    started REAL NOT NULL, ended REAL, summary TEXT);
CREATE TABLE passes (id INTEGER PRIMARY KEY AUTOINCREMENT, session_id TEXT,
    device_id TEXT NOT NULL, created REAL NOT NULL, pass_index INTEGER, summary TEXT NOT NULL);
CREATE TABLE strides (id INTEGER PRIMARY KEY AUTOINCREMENT, session_id TEXT,
    device_id TEXT NOT NULL, athlete TEXT, created REAL NOT NULL, stride_index INTEGER NOT NULL,
    foot_strike_s REAL, grade TEXT NOT NULL, payload TEXT NOT NULL);
"""


def daemon_form(summary, **count):
    """A summary as the daemon's StoreSink wrote it: the MQTT keywords, NaN as null."""
    return {
        "start_s": summary.start,
        "end_s": summary.end,
        "strides": summary.strides,
        "cues": {c.cue_id: dict(c.counts) for c in summary.cues},
        "metrics": {
            m.key: {
                "unit": m.unit,
                "mean": None if math.isnan(m.mean) else m.mean,
                "sd": None if math.isnan(m.spread) else m.spread,
                "n": m.count,
            }
            for m in summary.metrics
        },
        **count,
    }


def old_store(path, summary) -> None:
    now = time.time()  # recent: older results would be pruned on opening
    db = sqlite3.connect(path)
    db.executescript(OLD_TABLES)
    rows = [
        ("daemon", json.dumps(daemon_form(summary, passes=2))),
        ("direct", json.dumps(summary.to_dict())),
    ]
    for session_id, text in rows:
        db.execute(
            "INSERT INTO sessions VALUES (?, 'pi-track3', 'ana', ?, ?, ?)",
            (session_id, now - 60, now, text),
        )
    db.execute(
        "INSERT INTO passes (session_id, device_id, created, pass_index, summary) "
        "VALUES ('daemon', 'pi-track3', ?, 1, ?)",
        (now, json.dumps(daemon_form(summary, pass_index=1))),
    )
    db.execute(
        "INSERT INTO passes (session_id, device_id, created, pass_index, summary) "
        "VALUES ('direct', 'pi-track3', ?, 1, ?)",
        (now, json.dumps(summary.to_dict())),
    )
    db.commit()
    db.close()


def current_form(tmp_path, summary, passes):
    """What the store writes now for ``summary``: the form every old one must turn into."""
    store = ResultStore(tmp_path / "fresh.sqlite3")
    store.record_session(summary, passes=passes, session_id="x", **CTX)
    store.record_pass(summary, pass_index=1, session_id="x", device_id="pi-track3")
    try:
        return store.session("x").summary, store.passes("x")[0]
    finally:
        store.close()


@pytest.mark.parametrize("readonly", [False, True], ids=["migrated", "read-only"])
def test_summaries_of_an_old_store_file_come_back_in_the_one_current_form(tmp_path, readonly):
    summary = summarize([stride_report(i) for i in range(7)])
    path = tmp_path / "old.sqlite3"
    old_store(path, summary)
    session_2_passes, pass_1 = current_form(tmp_path, summary, passes=2)
    session_unknown_passes, _ = current_form(tmp_path, summary, passes=None)

    store = ResultStore(path, readonly=readonly)
    try:
        assert store.session("daemon").summary == session_2_passes
        # to_dict() kept shares, not counts, and no pass count: counts come back exactly,
        # the pass count as "not known".
        assert store.session("direct").summary == session_unknown_passes
        assert store.passes("daemon") == [pass_1] and store.passes("direct") == [pass_1]
        assert "spread" not in json.dumps(store.session("direct").summary)
    finally:
        store.close()
    (version,) = sqlite3.connect(path).execute("PRAGMA user_version").fetchone()
    assert version == (0 if readonly else SUMMARY_FORM_VERSION)
    if not readonly:  # rewritten in the file: raw SQL sees the current form too
        (text,) = (
            sqlite3.connect(path)
            .execute("SELECT summary FROM sessions WHERE session_id = 'direct'")
            .fetchone()
        )
        assert json.loads(text) == session_unknown_passes


def test_an_old_summary_in_no_known_form_is_an_error_naming_the_file_and_row(tmp_path):
    path = tmp_path / "odd.sqlite3"
    db = sqlite3.connect(path)
    db.executescript(OLD_TABLES)
    db.execute(
        "INSERT INTO sessions VALUES ('am', 'pi', NULL, ?, NULL, '{\"total\": 3}')", (time.time(),)
    )
    db.commit()
    db.close()
    with pytest.raises(TracksideError, match=r"odd\.sqlite3: session am: cannot read"):
        ResultStore(path)
