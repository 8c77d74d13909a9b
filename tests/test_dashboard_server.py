"""The dashboard without a browser: settings, state, auth, and the server with a real broker."""

from __future__ import annotations

import base64
import dataclasses
import json
import urllib.error
import urllib.request
from dataclasses import fields

import pytest

from edge.dashboard import DashboardConfig, resolve_dashboard
from edge.dashboard.auth import Auth
from edge.dashboard.state import TABLE_COLUMNS, DashboardState
from edge.errors import ConfigError
from edge.outputs.mqtt import MqttPublisher
from edge.outputs.mqtt.payloads import Envelope, encode, status_payload, stride_payload
from edge.testing.dashboard import SseClient, publisher_config, start_dashboard
from edge.testing.mqtt import Subscriber, alert, stride_report
from edge.types import GateFailure, Verdict

# --- settings ------------------------------------------------------------------------------


def test_network_bind_without_password_is_refused_with_a_clear_error():
    with pytest.raises(ConfigError, match=r"password: a password is required .*0\.0\.0\.0"):
        resolve_dashboard(DashboardConfig(bind="0.0.0.0"), origin="t.toml")
    assert resolve_dashboard(DashboardConfig()).password is None  # loopback: fine
    assert resolve_dashboard(DashboardConfig(bind="::1")).loopback


def test_password_file_is_read_and_never_shown(tmp_path):
    secret = tmp_path / "pw"
    secret.write_text("s3cret-horse\nignored\n")
    config = DashboardConfig(bind="0.0.0.0", password_file=str(secret))
    target = resolve_dashboard(config)
    assert target.password == "s3cret-horse" and "s3cret" not in repr(target)
    assert "hunter2" not in repr(DashboardConfig(password="hunter2"))
    assert next(f for f in fields(DashboardConfig) if f.name == "password").metadata["secret"]
    empty = tmp_path / "empty"
    empty.write_text("")
    with pytest.raises(ConfigError, match="is empty"):
        resolve_dashboard(DashboardConfig(password_file=str(empty)))
    with pytest.raises(ConfigError, match="at most one"):
        resolve_dashboard(DashboardConfig(password="a", password_file=str(secret)))
    with pytest.raises(ConfigError, match="cannot read"):
        resolve_dashboard(DashboardConfig(password_file=str(tmp_path / "missing")))


def test_topic_root_check():
    check = next(f for f in fields(DashboardConfig) if f.name == "topic_root").metadata["check"]
    assert check("club/+/trackside") == "club/+/trackside"
    for bad in ("trackside/#", "trackside//x", "", "track+side/x", 3):
        with pytest.raises(Exception, match="topic levels"):
            check(bad)


# --- state ---------------------------------------------------------------------------------


def _stride(device: str, index: int, session: str | None = "s1") -> bytes:
    return encode(
        stride_payload(Envelope(device, f"{index:026d}", 0.0, session, "ana"), stride_report(index))
    )


def test_state_follows_each_device_and_colours_metrics_by_their_cue():
    state = DashboardState("trackside/+", history=5)
    state.apply("trackside/pi-a/availability", b"online")
    for i in range(8):
        state.apply("trackside/pi-a/stride", _stride("pi-a", i))
    state.apply("trackside/pi-b/stride", _stride("pi-b", 0))
    snap = {d["key"]: d for d in state.snapshot()["devices"]}
    a = snap["trackside/pi-a"]
    assert a["availability"] == "online" and a["athlete"] == "ana" and a["session_id"] == "s1"
    assert [r["index"] for r in a["strides"]] == [3, 4, 5, 6, 7]  # bounded history
    row = a["strides"][-1]
    assert row["values"]["stride.cadence_spm"] == pytest.approx(171.43)
    assert row["values"]["trunk_lean_deg"] == pytest.approx(6.7)
    assert row["verdicts"]["trunk_lean_deg"] == "ok"  # posture.run_tall judged it
    assert a["counts"]["legs.knee_drive"]["fault"] == 8
    assert a["counts"]["arms.elbows_back"]["info"] == 8
    tiles = {c["cue_id"]: c for c in a["cues"]}
    assert tiles["legs.overstride"]["verdict"] == "unknown"
    assert tiles["arms.elbows_back"]["information_only"] is True
    assert row["reliable"] is True and row["unreliable"] == []
    assert len(snap) == 2
    # A new session starts the counts afresh.
    state.apply("trackside/pi-a/stride", _stride("pi-a", 9, session="s2"))
    assert state.snapshot()["devices"][0]["counts"]["legs.knee_drive"]["fault"] == 1


def test_a_gated_stride_reaches_the_page_flagged_never_as_plain_numbers():
    report = stride_report(0)
    failure = GateFailure("knee at strike", "knee at strike: 85 outside [-10, 50]")
    gated = dataclasses.replace(report, gates=(failure,), grade=Verdict.UNRELIABLE)
    payload = stride_payload(Envelope("pi-a", f"{0:026d}", 0.0, "s1", "ana"), gated)
    state = DashboardState("trackside/+")
    (event,) = [
        e for e in state.apply("trackside/pi-a/stride", encode(payload)) if e["type"] == "stride"
    ]
    row = event["row"]
    assert row["grade"] == "unreliable" and row["reliable"] is False
    assert set(row["unreliable"]) == {key for key, *_ in TABLE_COLUMNS}
    assert row["gate_reasons"] == [failure.reason]
    partial = dataclasses.replace(
        report,
        gates=(GateFailure("made-up gate", "why", frozenset({"trunk_lean_deg"})),),
    )
    payload = stride_payload(Envelope("pi-a", f"{1:026d}", 0.0, "s1", "ana"), partial)
    (event,) = [
        e for e in state.apply("trackside/pi-a/stride", encode(payload)) if e["type"] == "stride"
    ]
    assert event["row"]["reliable"] is True
    assert event["row"]["unreliable"] == ["trunk_lean_deg"]


def test_state_ignores_what_it_does_not_understand_and_forgets_the_stalest_device():
    clock = iter(range(100)).__next__
    state = DashboardState("trackside/+", max_devices=2, clock=lambda: float(clock()))
    assert state.apply("trackside/pi-a/stride", b"{not json") == []
    assert state.apply("trackside/pi-a/stride", b"[1, 2]") == []
    assert state.apply("trackside/pi-a/stride", b'{"stride": {}}') == []
    assert state.apply("trackside/pi-a/keyframe", b"GIF89a") == []
    assert state.apply("other/pi-a/stride", _stride("pi-a", 0)) == []
    assert state.apply("trackside/pi-a/cmd/start_session", b"{}") == []
    assert state.ignored == 4 and state.snapshot()["devices"] == []
    state.apply("trackside/pi-a/availability", b"online")
    state.apply("trackside/pi-b/availability", b"online")
    state.apply("trackside/pi-a/availability", b"online")
    events = state.apply("trackside/pi-c/availability", b"online")
    assert {"type": "forget", "key": "trackside/pi-b"} in events
    assert [d["key"] for d in state.snapshot()["devices"]] == ["trackside/pi-a", "trackside/pi-c"]


# --- auth ----------------------------------------------------------------------------------


def test_auth_cookie_is_signed_expires_and_basic_works():
    now = [1000.0]
    auth = Auth("pw", loopback=False, clock=lambda: now[0])
    cookie = auth.make_cookie().split(";")[0]
    assert auth.logged_in(cookie, None) and auth.view_needs_login
    name, value = cookie.split("=")
    expiry, signature = value.split(".")
    assert not auth.logged_in(f"{name}={int(expiry) + 99}.{signature}", None), "forged expiry"
    assert not auth.logged_in(f"{name}={expiry}.{'0' * 64}", None)
    assert not Auth("pw", loopback=False).logged_in(cookie, None), "another start-up's key"
    basic = "Basic " + base64.b64encode(b"coach:pw").decode()
    assert auth.logged_in(None, basic)
    assert not auth.logged_in(None, "Basic " + base64.b64encode(b"coach:nope").decode())
    now[0] += 13 * 3600
    assert not auth.logged_in(cookie, None), "expired"
    open_auth = Auth(None, loopback=True)
    assert open_auth.may_view(None, None) and open_auth.may_command(None, None)
    local = Auth("pw", loopback=True)
    assert local.may_view(None, None) and not local.may_command(None, None)


# --- the server with a real broker ---------------------------------------------------------


def _request(url: str, data: dict | None = None, headers: dict | None = None):
    body = None if data is None else json.dumps(data).encode()
    h = {"Content-Type": "application/json"} if data is not None else {}
    request = urllib.request.Request(url, body, {**h, **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read()


def test_live_events_state_and_commands(tmp_path, broker):
    dashboard = start_dashboard(broker.port)
    publisher = MqttPublisher(publisher_config(broker.port, "pi-a", tmp_path / "ob"))
    commands = Subscriber(broker.port, ["trackside/pi-a/cmd/#"])
    sse = None
    try:
        publisher.start()
        assert publisher.link.wait_subscribed(10)
        sse = SseClient(dashboard.url + "events")
        sse.wait_for(lambda ev: any(k == "snapshot" for _, k, _ in ev))
        publisher.set_session("s1", athlete="ana")
        ids = [publisher.publish_stride(stride_report(i)) for i in range(3)]
        publisher.publish_alert(alert())
        events = sse.wait_for(
            lambda ev: (
                sum(k == "stride" for _, k, _ in ev) == 3 and any(k == "alert" for _, k, _ in ev)
            )
        )
        assert [d["row"]["message_id"] for _, k, d in events if k == "stride"] == ids
        status, _, body = _request(dashboard.url + "api/state")
        device = json.loads(body)["devices"][0]
        assert device["key"] == "trackside/pi-a" and device["availability"] == "online"
        assert device["active_alerts"][0]["message"] == "Lift your knee in front."

        status, _, body = _request(
            dashboard.url + "api/command",
            {"device": "trackside/pi-a", "command": "select_athlete", "args": {"athlete": "ben"}},
        )
        assert status == 202
        request_id = json.loads(body)["request_id"]
        topic = "trackside/pi-a/cmd/select_athlete"
        got = commands.wait_for(lambda ms: any(t == topic for t, _, _ in ms))
        assert json.loads(next(p for t, p, _ in got if t == topic)) == {
            "athlete": "ben",
            "request_id": request_id,
        }
        # The device answers (no handler registered: refused), and the reply reaches the page.
        events = sse.wait_for(lambda ev: any(k == "cmd_result" for _, k, _ in ev))
        reply = next(d["result"] for _, k, d in events if k == "cmd_result")
        assert reply["request_id"] == request_id and reply["ok"] is False

        # Refused before MQTT: bad names, unknown commands and devices, non-JSON posts.
        for data, reason in (
            (
                {
                    "device": "trackside/pi-a",
                    "command": "select_athlete",
                    "args": {"athlete": "no spaces!"},
                },
                "athlete",
            ),
            ({"device": "trackside/pi-a", "command": "reboot", "args": {}}, "unknown command"),
            ({"device": "trackside/pi-z", "command": "stop_session"}, "unknown device"),
        ):
            status, _, body = _request(dashboard.url + "api/command", data)
            assert status == 400 and reason in json.loads(body)["reason"]
        form = urllib.request.Request(
            dashboard.url + "api/command",
            b"device=x",
            {"Content-Type": "application/x-www-form-urlencoded"},
        )
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(form, timeout=10)
        assert refused.value.code == 400
        status, _, _ = _request(
            dashboard.url + "api/command",
            {"device": "trackside/pi-a", "command": "stop_session"},
            {"Origin": "http://evil.example"},
        )
        assert status == 403
        assert len([t for t, _, _ in commands.messages if t != "trackside/pi-a/cmd/result"]) == 1
    finally:
        if sse:
            sse.close()
        commands.close()
        publisher.stop()
        dashboard.stop()


def test_network_dashboard_needs_the_password_for_everything(broker):
    dashboard = start_dashboard(broker.port, bind="0.0.0.0", password="track-pw")
    try:
        url = dashboard.url
        assert _request(url)[0] == 200  # the login page itself
        assert json.loads(_request(url + "api/auth")[2])["view_needs_login"] is True
        for path in ("api/state", "events", "keyframe?device=x", "api/sessions"):
            assert _request(url + path)[0] == 401, path
        cmd = {"device": "x", "command": "stop_session"}
        assert _request(url + "api/command", cmd)[0] == 401
        assert _request(url + "api/login", {"password": "wrong"})[0] == 401
        status, headers, _ = _request(url + "api/login", {"password": "track-pw"})
        assert status == 200
        cookie = headers["Set-Cookie"]
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
        jar = {"Cookie": cookie.split(";")[0]}
        assert _request(url + "api/state", headers=jar)[0] == 200
        assert _request(url + "api/command", cmd, jar)[0] == 400  # past auth: unknown device
        basic = {"Authorization": "Basic " + base64.b64encode(b"coach:track-pw").decode()}
        assert _request(url + "api/state", headers=basic)[0] == 200
    finally:
        dashboard.stop()


def test_status_shows_up_and_a_keyframe_is_served(tmp_path, broker):
    dashboard = start_dashboard(broker.port)
    feeder = Subscriber(broker.port, ["unused/#"])
    try:
        env = Envelope("pi-k", "01" + "0" * 24, 0.0)
        feeder.publish("trackside/pi-k/status", encode(status_payload(env, state="idle", fps=5)))
        jpeg = b"\xff\xd8\xff\xe0" + b"x" * 100
        feeder.publish("trackside/pi-k/keyframe", jpeg)
        sse = SseClient(dashboard.url + "events")
        sse.wait_for(
            lambda ev: (
                any(
                    d.get("devices") and d["devices"][0]["keyframe"]
                    for _, k, d in ev
                    if k == "snapshot"
                )
                or any(k == "keyframe" for _, k, _ in ev)
            )
        )
        status, headers, body = _request(dashboard.url + "keyframe?device=trackside/pi-k")
        assert status == 200 and headers["Content-Type"] == "image/jpeg" and body == jpeg
        state = json.loads(_request(dashboard.url + "api/state")[2])["devices"][0]
        assert state["status"]["state"] == "idle" and state["status"]["fps"] == 5
        sse.close()
    finally:
        feeder.close()
        dashboard.stop()
