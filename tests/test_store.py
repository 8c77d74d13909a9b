"""The results store: what goes in comes out, per session, bounded, from several threads."""

from __future__ import annotations

import sqlite3
import threading

import pytest

from edge.cues.summary import summarize
from edge.errors import TracksideError
from edge.outputs.store import (
    ResultsConfig,
    ResultStore,
    StoreSink,
    default_results_path,
)
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
    store.record_session(summarize(reports), session_id="am", **CTX)

    strides = store.strides("am")
    assert [s.index for s in strides] == [0, 1, 2, 3, 4]
    first = strides[0].payload
    assert first["stride"]["cadence_spm"] == pytest.approx(171.43)
    assert first["metrics"]["overstride_cm"]["value"] is None  # NaN stored as null
    assert first["grade"] == "fault" and first["worst_cue"] == "arms.elbows_back"
    assert {c["cue_id"] for c in first["cues"]} == {c.cue_id for c in reports[0].cues}
    assert [a["cue_id"] for a in store.alerts("am")] == ["arms.elbows_back"]
    assert store.passes("am")[0]["pass_index"] == 1
    info = store.session("am")
    assert info is not None and info.athlete == "ana" and info.strides == 5
    assert info.ended is not None and info.summary["strides"] == 5
    assert {s.session_id for s in store.sessions()} == {"am", "pm"}
    store.close()


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
    assert sink.publish_stride(stride_report(1)) == ""
    sink.publish_alert(alert())
    sink.publish_keyframe(b"\xff\xd8x", stride_index=1, cue_id="arms.elbows_back", time_s=1.7)
    sink.publish_pass_summary(start_s=1.0, end_s=2.0, strides=1, cues={}, metrics={}, pass_index=1)
    sink.publish_session_summary(start_s=1.0, end_s=2.0, strides=1, cues={}, metrics={}, passes=1)
    sink.publish_status(state="running")
    sink.set_session(None, athlete="ana")
    assert [s.index for s in store.strides("am")] == [1]
    info = store.session("am")
    assert info.athlete == "ana" and info.ended is not None and info.summary["passes"] == 1
    assert store.keyframes("am")[0].stride_index == 1
    assert store.passes("am")[0]["pass_index"] == 1


def test_unusable_files_raise_a_trackside_error_naming_the_file(tmp_path):
    bad = tmp_path / "not.sqlite3"
    bad.write_bytes(b"this is not a database" * 100)
    with pytest.raises(TracksideError, match=r"not\.sqlite3"):
        ResultStore(bad)
    with pytest.raises(TracksideError, match="no results file"):
        ResultStore(tmp_path / "missing.sqlite3", readonly=True)


def test_default_path_follows_the_state_directory():
    assert (
        str(default_results_path("", {"STATE_DIRECTORY": "/var/lib/trackside"}))
        == "/var/lib/trackside/results.sqlite3"
    )
    assert str(default_results_path("", {})) == "state/results.sqlite3"
    assert str(default_results_path("/x/r.db", {})) == "/x/r.db"
    assert ResultsConfig().keyframes_per_session == 8
