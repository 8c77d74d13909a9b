"""The MQTT output against a real Mosquitto: retained/LWT, outages, restarts, commands, HA."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mqtt_helpers import validator

from edge.cues.summary import summarize
from edge.outputs.mqtt import CommandRejected, LinkState, MqttConfig, MqttPublisher, SetCue
from edge.outputs.mqtt.outbox import Outbox
from edge.outputs.mqtt.payloads import DeviceStatus
from edge.testing.mosquitto import Broker
from edge.testing.mqtt import Subscriber, alert, dedupe, stride_report

HELPERS = Path(__file__).with_name("mqtt_helpers.py")
PREFIX = "trackside/test-pi"


def config(port: int, tmp_path: Path, **overrides: Any) -> MqttConfig:
    values: dict[str, Any] = dict(
        host="127.0.0.1",
        port=port,
        device_id="test-pi",
        keepalive=2,
        reconnect_min_s=1,
        reconnect_max_s=1,
        outbox_path=str(tmp_path / "outbox.sqlite3"),
        homeassistant=False,
    )
    values.update(overrides)
    return MqttConfig(**values)


@pytest.fixture
def child_processes() -> Iterator[list[subprocess.Popen]]:
    started: list[subprocess.Popen] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=5)


def spawn(children: list, *args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(HELPERS.parent.parent)}
    process = subprocess.Popen(
        [sys.executable, str(HELPERS), *args], stdout=subprocess.PIPE, text=True, env=env
    )
    children.append(process)
    return process


@pytest.mark.parametrize(
    "signum",
    [
        signal.SIGKILL,  # a crash: the kernel closes the socket, the broker notices at once
        signal.SIGSTOP,  # a power cut or lost network: silence, noticed by the keepalive
    ],
    ids=["crash", "silence"],
)
def test_availability_online_retained_then_will_offline_when_killed(
    broker: Broker, tmp_path: Path, child_processes: list, signum: signal.Signals
) -> None:
    cfg = json.dumps(
        dict(
            host="127.0.0.1",
            port=broker.port,
            device_id="test-pi",
            keepalive=2,
            outbox_path=str(tmp_path / "child.sqlite3"),
            homeassistant=False,
        )
    )
    child = spawn(child_processes, "online", cfg)
    assert child.stdout is not None and child.stdout.readline().strip() == "connected"
    topic = f"{PREFIX}/availability"
    late = Subscriber(broker.port, [topic])
    try:
        # Generous timeouts: waits for a condition, and a loaded 2-core CI machine once took
        # more than 5 s to deliver the retained message to a new subscriber.  "connected"
        # may come before the broker has the child's "online": this subscriber can get the
        # previous run's retained "offline" first and then "online" live (not retained).
        late.wait_for(lambda ms: bool(ms) and ms[-1][:2] == (topic, b"online"), timeout=20)
        # A subscriber arriving later still gets "online": it is retained.
        fresh = Subscriber(broker.port, [topic])
        try:
            fresh.wait_for(lambda ms: (topic, b"online", True) in ms, timeout=20)
        finally:
            fresh.close()
        child.send_signal(signum)
        # No goodbye was sent: the broker notices the closed socket, or the silence
        # (1.5 x keepalive = 3 s), and publishes the Last Will.
        late.wait_for(lambda ms: ms[-1][:2] == (topic, b"offline"), timeout=20)
    finally:
        late.close()
    newcomer = Subscriber(broker.port, [topic])
    try:
        newcomer.wait_for(lambda ms: (topic, b"offline", True) in ms, timeout=20)
    finally:
        newcomer.close()


def test_every_stride_arrives_once_in_order_across_a_broker_restart(
    broker: Broker, tmp_path: Path
) -> None:
    stride_topic = f"{PREFIX}/stride"
    # A persistent QoS 1 session: the broker keeps its queue across its own restart.
    coach = Subscriber(broker.port, [stride_topic], client_id="coach-1", persistent=True)
    publisher = MqttPublisher(config(broker.port, tmp_path))
    publisher.start()
    sent: list[str] = []
    try:
        assert publisher.link.wait_connected(10)
        for i in range(60):
            if i == 20:
                broker.stop()  # in the middle of the stream
            if i == 40:
                broker.start()  # same port, same persistence file
            sent.append(publisher.publish_stride(stride_report(i)))
        got = coach.wait_for(
            lambda ms: (
                len({json.loads(p)["message_id"] for t, p, _ in ms if t == stride_topic})
                >= len(sent)
            ),
            timeout=30,
        )
        assert publisher.outbox_depth == 0 or publisher._forwarder.flush(10)
        assert len(publisher.outbox) == 0
        assert publisher.link.generation >= 2  # it really lost the broker and came back
    finally:
        publisher.stop()
        coach.close()
    received = [json.loads(p) for t, p, _ in got if t == stride_topic]
    unique = dedupe(received)
    print(f"{len(received)} stride messages received, {len(unique)} unique")
    assert [p["message_id"] for p in unique] == sent
    assert [p["stride"]["index"] for p in unique] == list(range(60))
    v = validator("stride")
    for payload in unique:
        v.validate(payload)


def test_results_left_in_the_outbox_by_a_killed_process_are_delivered_after_restart(
    tmp_path: Path, child_processes: list, caplog
) -> None:
    broker = Broker(tmp_path / "broker")  # port chosen, broker not running yet
    outbox_path = tmp_path / "outbox.sqlite3"
    cfg = config(broker.port, tmp_path, outbox_path=str(outbox_path))
    fields = ("host", "port", "device_id", "keepalive", "outbox_path", "homeassistant")
    child = spawn(
        child_processes, "publish", json.dumps({k: getattr(cfg, k) for k in fields}), "25"
    )
    assert child.stdout is not None
    sent = json.loads(child.stdout.readline())
    child.send_signal(signal.SIGKILL)  # a crash: no flush, no goodbye
    child.wait(timeout=5)
    left = Outbox(outbox_path)
    assert len(left) == 25
    left.close()

    broker.start()
    stride_topic = f"{PREFIX}/stride"
    coach = Subscriber(broker.port, [stride_topic])
    publisher = MqttPublisher(cfg)
    try:
        with caplog.at_level(logging.INFO, logger="edge.outputs.mqtt"):
            publisher.start()
        got = coach.wait_for(lambda ms: len(ms) >= 25, timeout=15)
        assert publisher._forwarder.flush(10)
    finally:
        publisher.stop()
        coach.close()
        broker.stop()
    unique = dedupe([json.loads(p) for t, p, _ in got if t == stride_topic])
    assert [p["message_id"] for p in unique] == sent
    assert any("25 undelivered result(s) from before" in r.getMessage() for r in caplog.records)
    assert len(Outbox(outbox_path)) == 0


def test_malformed_commands_are_answered_and_the_publisher_keeps_working(
    broker: Broker, tmp_path: Path, caplog
) -> None:
    publisher = MqttPublisher(config(broker.port, tmp_path))
    accepted: list[Any] = []

    def set_cue(cmd: SetCue) -> None:
        if not cmd.cue_id.startswith("posture."):
            raise CommandRejected(f"unknown cue {cmd.cue_id}")
        accepted.append(cmd)

    publisher.commands.on("set_cue", set_cue)
    publisher.commands.on("start_session", accepted.append)
    publisher.start()
    result_topic = f"{PREFIX}/cmd/result"
    coach = Subscriber(broker.port, [result_topic])
    sends = [
        ("start_session", b"{oops"),
        ("select_athlete", b'{"athlete": 42, "request_id": "r2"}'),
        ("launch_rocket", b"{}"),
        ("start_session", b'{"athlete": "' + b"x" * 5000 + b'"}'),
        ("set_cue", b'{"cue_id": "legs.moonwalk", "enabled": true, "request_id": "r5"}'),
        ("set_cue", b'{"cue_id": "posture.run_tall", "enabled": false, "request_id": "r6"}'),
        ("start_session", b'{"athlete": "ana", "request_id": "r7"}'),
    ]
    try:
        assert publisher.link.wait_subscribed(10)  # commands reach it only once subscribed
        with caplog.at_level(logging.WARNING, logger="edge.outputs.mqtt"):
            for name, payload in sends:
                coach.publish(f"{PREFIX}/cmd/{name}", payload)
            coach.wait_for(lambda ms: len(ms) >= len(sends), timeout=10)
        assert publisher.link.connected and publisher.state is LinkState.CONNECTED
        # Still alive and publishing after all that.
        stride_id = publisher.publish_stride(stride_report(0))
        assert publisher._forwarder.flush(5)
    finally:
        publisher.stop()
        coach.close()
    replies = coach.payloads(result_topic)
    assert len(replies) == len(sends)  # our own replies did not trigger more replies
    v = validator("cmd_result")
    for reply in replies:
        v.validate(reply)
    assert [r["ok"] for r in replies] == [False] * 5 + [True, True]
    assert "not valid JSON" in replies[0]["reason"]
    assert replies[1]["request_id"] == "r2" and "athlete: expected" in replies[1]["reason"]
    assert "unknown command" in replies[2]["reason"]
    assert "too large" in replies[3]["reason"]
    assert replies[4]["reason"] == "unknown cue legs.moonwalk"
    assert [r["request_id"] for r in replies[5:]] == ["r6", "r7"]
    assert [type(c).__name__ for c in accepted] == ["SetCue", "StartSession"]
    assert (
        sum("rejected" in r.getMessage() or "refused" in r.getMessage() for r in caplog.records)
        == 5
    )
    assert stride_id


def test_status_alerts_and_session_are_retained_and_discovery_follows_ha_birth(
    broker: Broker, tmp_path: Path
) -> None:
    publisher = MqttPublisher(config(broker.port, tmp_path, homeassistant=True))
    publisher.start()
    try:
        assert publisher.link.wait_connected(10)
        publisher.set_session("am-1", athlete="ana")
        publisher.publish_status(
            DeviceStatus("running", fps=9.5, inference_ms=95.0, dropped_frames=2)
        )
        publisher.publish_alert(alert(True))
        publisher.publish_session_summary(
            summarize([stride_report(i) for i in range(80)]), passes=4
        )
        assert publisher._forwarder.flush(5)
        late = Subscriber(broker.port, [f"{PREFIX}/#", "homeassistant/device/+/config"])
        try:
            retained = late.wait_for(
                lambda ms: (
                    {
                        f"{PREFIX}/status",
                        f"{PREFIX}/alerts/active",
                        f"{PREFIX}/session",
                        f"{PREFIX}/availability",
                        "homeassistant/device/trackside_test-pi/config",
                    }
                    <= {t for t, _p, r in ms if r}
                ),
                timeout=5,
            )
            by_topic = {
                t: json.loads(p) for t, p, r in retained if r and t != (f"{PREFIX}/availability")
            }
            validator("status").validate(by_topic[f"{PREFIX}/status"])
            validator("active_alerts").validate(by_topic[f"{PREFIX}/alerts/active"])
            validator("session").validate(by_topic[f"{PREFIX}/session"])
            assert by_topic[f"{PREFIX}/session"]["session_id"] == "am-1"
            assert by_topic[f"{PREFIX}/alerts/active"]["count"] == 1
            discovery = "homeassistant/device/trackside_test-pi/config"
            before = sum(t == discovery for t, _p, _r in late.messages)
            late.publish("homeassistant/status", "online")
            late.wait_for(lambda ms: sum(t == discovery for t, _p, _r in ms) > before, timeout=5)
            publisher.publish_alert(alert(False))
            late.wait_for(
                lambda ms: any(
                    t == f"{PREFIX}/alerts/active" and json.loads(p)["count"] == 0
                    for t, p, _r in ms
                ),
                timeout=5,
            )
        finally:
            late.close()
    finally:
        publisher.stop()
    # A clean stop leaves "offline" retained, not "online".
    after = Subscriber(broker.port, [f"{PREFIX}/availability"])
    try:
        after.wait_for(lambda ms: (f"{PREFIX}/availability", b"offline", True) in ms, timeout=5)
    finally:
        after.close()


def test_live_results_go_ahead_of_a_backlog_while_it_drains(broker: Broker, tmp_path: Path) -> None:
    """Issue 12: live strides waited up to 79 s behind a 30,000-message backlog."""
    stride_topic = f"{PREFIX}/stride"
    # A persistent session: the coach misses nothing while the broker restarts.
    coach = Subscriber(broker.port, [stride_topic], client_id="coach-live", persistent=True)
    broker.stop()  # an outage: results pile up in the outbox
    publisher = MqttPublisher(config(broker.port, tmp_path))
    publisher.start()
    try:
        backlog = [publisher.publish_stride(stride_report(i)) for i in range(1000)]
        broker.start()
        assert publisher.link.wait_connected(10)
        live = []
        for i in range(1000, 1005):  # one at a time, each awaited, as a runner's strides
            mid = publisher.publish_stride(stride_report(i)).encode()
            coach.wait_for(lambda ms, mid=mid: any(mid in p for _t, p, _r in ms), timeout=30)
            live.append(mid.decode())
        try:
            got = coach.wait_for(
                lambda ms: len(dedupe([json.loads(p) for _t, p, _r in ms])) >= 1005, timeout=60
            )
        except TimeoutError as exc:  # say which side held them back
            raise AssertionError(
                f"{exc}; outbox still holds {len(publisher.outbox)}, "
                f"{publisher._forwarder.inflight} in flight"
            ) from None
        order = [p["message_id"] for p in dedupe([json.loads(p) for _t, p, _r in got])]
        # Every live stride arrived while the backlog was still draining...
        last_backlog = max(order.index(m) for m in backlog)
        assert all(order.index(m) < last_backlog for m in live)
        # ...and each lane kept its own order, nothing lost.
        assert [m for m in order if m in set(backlog)] == backlog
        assert [m for m in order if m in set(live)] == live
    finally:
        publisher.stop()
        coach.close()
