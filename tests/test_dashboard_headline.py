"""The card's headline and the consistency of what the page says about a device."""

from __future__ import annotations

import pytest

from edge.dashboard.headline import headline, persistence, rank_alerts
from edge.dashboard.state import DashboardState
from edge.outputs.mqtt.payloads import (
    Envelope,
    active_alerts_payload,
    encode,
    status_payload,
    stride_payload,
)
from edge.outputs.units import human_value
from edge.testing.mqtt import alert, stride_report


def _env(index: int, session: str | None = "s1", athlete: str | None = "ana") -> Envelope:
    return Envelope("pi-a", f"{index:026d}", 0.0, session, athlete)


def _stride(index: int, session: str | None = "s1") -> bytes:
    return encode(stride_payload(_env(index, session), stride_report(index)))


def _active(*cue_ids: str, session: str | None = "s1") -> bytes:
    return encode(active_alerts_payload(_env(99, session), [alert(True, c) for c in cue_ids]))


def test_alerts_rank_by_focus_then_persistence_then_severity():
    alerts = [
        {"cue_id": "legs.overstride", "verdict": "warn", "message": "a"},
        {"cue_id": "legs.knee_drive", "verdict": "fault", "message": "b"},
        {"cue_id": "posture.run_tall", "verdict": "fault", "message": "c"},
    ]
    recent = {
        "legs.overstride": ["warn"] * 4 + ["ok"] * 6,
        "legs.knee_drive": ["fault"] * 8 + ["ok"] * 2,
        "posture.run_tall": ["fault"] * 5 + ["ok"] * 5,
    }
    ranked = rank_alerts(alerts, focus=[], recent=recent)
    assert [a["cue_id"] for a in ranked] == [
        "legs.knee_drive",
        "posture.run_tall",
        "legs.overstride",
    ]
    assert (ranked[0]["bad"], ranked[0]["of"]) == (8, 10)
    focused = rank_alerts(alerts, focus=["legs.overstride"], recent=recent)
    assert focused[0]["cue_id"] == "legs.overstride"  # the runner's focus comes first
    assert persistence(["ok"] * 15 + ["warn"] * 3) == (3, 10)  # only the last 10 count


def test_headline_says_one_cue_with_its_persistence_in_a_persons_units():
    top = rank_alerts(
        [{"cue_id": "arms.hands_height", "verdict": "fault", "message": "Hands up."}],
        focus=[],
        recent={"arms.hands_height": ["fault"] * 8 + ["ok"] * 2},
    )
    tiles = {"arms.hands_height": {"value": -0.5, "unit": "arm_length"}}
    common = dict(recent={}, focus=[], tiles=tiles, strides=10)
    h = headline(
        athlete="ana", online=True, session_id="s1", ranked_alerts=top, height_cm=170, **common
    )
    assert h["athlete"] == "ana" and h["live"] is True and h["tone"] == "fault"
    assert h["text"].endswith("— 8 of the last 10 strides")
    assert h["value"] == f"{-0.5 * 0.332 * 170:.0f} cm"
    no_height = headline(
        athlete="ana", online=True, session_id="s1", ranked_alerts=top, height_cm=None, **common
    )
    assert no_height["value"] == "-50 % of arm length" and "arm_length" not in no_height["value"]
    offline = headline(
        athlete="ana", online=False, session_id="s1", ranked_alerts=top, height_cm=None, **common
    )
    assert offline["text"] == "Device offline" and offline["cue_id"] is None
    idle = headline(
        athlete=None, online=True, session_id=None, ranked_alerts=[], height_cm=None, **common
    )
    assert idle["state"] == "no session" and idle["athlete"] == "No athlete selected"


def test_units_read_as_a_person_reads_them():
    assert human_value(7.4, "deg") == "7°"
    assert human_value(171.4, "spm") == "171 spm"
    assert human_value(0.16, "leg_length") == "16 % of leg length"
    assert human_value(0.16, "leg_length", 180) == f"{0.16 * 0.530 * 180:.0f} cm"
    assert human_value(None, "deg") == "not measured"


def test_offline_clears_alerts_and_status_and_the_headline_agrees():
    state = DashboardState("trackside/+")
    state.apply("trackside/pi-a/availability", b"online")
    state.apply(
        "trackside/pi-a/status",
        encode(status_payload(_env(0), state="stopping", fps=9.5, inference_ms=80.0)),
    )
    for i in range(6):
        state.apply("trackside/pi-a/stride", _stride(i))
    (event,) = state.apply("trackside/pi-a/alerts/active", _active("legs.knee_drive"))
    view = event["view"]
    assert view["online"] and [a["cue_id"] for a in view["alerts"]] == ["legs.knee_drive"]
    assert view["alerts"][0]["since"] is not None  # wall-clock time, shown local
    assert view["headline"]["cue_id"] == "legs.knee_drive"
    assert view["headline"]["text"].endswith("6 of the last 6 strides")  # knee drive faults
    (event,) = state.apply("trackside/pi-a/availability", b"offline")
    view = event["view"]
    assert view["online"] is False and view["alerts"] == []
    assert view["status"] == {"state": "offline"}  # no stale fps, no "stopping" forever
    assert view["headline"]["text"] == "Device offline"
    # back online: the old alert does not come back by itself
    (event,) = state.apply("trackside/pi-a/availability", b"online")
    assert event["view"]["alerts"] == []


def test_a_new_or_ended_session_clears_the_alerts_and_persistence():
    state = DashboardState("trackside/+", heights={"ana": 170.0})
    state.apply("trackside/pi-a/availability", b"online")
    for i in range(4):
        state.apply("trackside/pi-a/stride", _stride(i))
    state.apply("trackside/pi-a/alerts/active", _active("legs.knee_drive"))
    (event,) = state.apply("trackside/pi-a/stride", _stride(5, session=None))
    assert event["view"]["alerts"] == [] and event["view"]["headline"]["state"] == "no session"
    (event,) = state.apply("trackside/pi-a/stride", _stride(6, session="s2"))
    assert event["view"]["headline"]["text"] != "Device offline"
    assert event["view"]["session_seen"] is not None
    device = state.snapshot()["devices"][0]
    assert device["view"]["headline"]["tone"] in ("watch", "ok")  # no alert raised in s2


def test_left_and_right_are_compared_on_the_card():
    state = DashboardState("trackside/+")
    for i in range(6):
        state.apply("trackside/pi-a/stride", _stride(i))
    sides = state.snapshot()["devices"][0]["view"]["sides"]
    # stride_report gives the near leg a side and the far one none: near/far is the split
    assert sides["names"] == ["near", "far"]
    contact = next(r for r in sides["rows"] if r["key"] == "stride.ground_contact_ms")
    assert contact["n"] == [3, 3]
    a, b = contact["values"]
    assert contact["difference_percent"] == pytest.approx(100 * (a - b) / ((a + b) / 2))
