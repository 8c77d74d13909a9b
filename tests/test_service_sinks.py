"""The fan-out to the result sinks: every sink is called, and a failing one stops nothing."""

from __future__ import annotations

import logging

import pytest

from edge.cues.summary import summarize
from edge.outputs.mqtt.payloads import DeviceStatus, Keyframe
from edge.outputs.store import ResultStore
from edge.outputs.store_sink import StoreSink
from edge.service.sinks import FanOut
from edge.testing.mqtt import alert, stride_report


@pytest.fixture
def stores(tmp_path):
    """A working results store, and one whose file was closed under it (every write fails)."""
    good = ResultStore(tmp_path / "good.sqlite3")
    broken = ResultStore(tmp_path / "broken.sqlite3")
    broken.close()
    yield good, broken
    good.close()


def test_a_sink_that_raises_is_logged_and_counted_and_the_next_sink_still_gets_everything(
    stores, caplog
):
    good, broken = stores
    fan_out = FanOut(
        {"broken-store": StoreSink(broken, "pi-track3"), "store": StoreSink(good, "pi-track3")}
    )
    reports = [stride_report(i) for i in range(3)]
    with caplog.at_level(logging.WARNING, logger="edge.service.sinks"):
        fan_out.set_session("am", athlete="ana")
        for report in reports:
            fan_out.publish_stride(report)
        fan_out.publish_alert(alert())
        fan_out.publish_keyframe(Keyframe(b"\xff\xd8x", 1, "arms.elbows_back", 1.7, "fault"))
        fan_out.publish_pass_summary(summarize(reports), pass_index=1)
        fan_out.publish_status(DeviceStatus("running"))  # the store ignores status: no failure
        fan_out.publish_session_summary(summarize(reports), passes=1)

    assert [s.index for s in good.strides("am")] == [0, 1, 2]
    assert [a["cue_id"] for a in good.alerts("am")] == ["legs.knee_drive"]
    assert good.keyframes("am")[0].stride_index == 1
    assert good.passes("am")[0]["strides"] == 3
    assert good.session("am").summary["passes"] == 1
    # set_session, 3 strides, alert, keyframe, pass and session summary: 8 failed calls.
    assert fan_out.failures() == {"broken-store": 8}
    failed = [r for r in caplog.records if r.name == "edge.service.sinks"]
    assert len(failed) == 8
    assert "result sink broken-store: publish_stride failed" in failed[1].getMessage()
    assert "StoreError" in failed[1].getMessage() and "broken.sqlite3" in failed[1].getMessage()
    assert failed[0].exc_info and not failed[1].exc_info  # one traceback, then one line each


def test_an_empty_fan_out_is_false_and_publishing_to_it_does_nothing():
    fan_out = FanOut()
    assert not fan_out
    fan_out.publish_stride(stride_report(0))
    assert fan_out.failures() == {}
