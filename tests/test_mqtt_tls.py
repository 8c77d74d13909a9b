"""TLS with username/password against a Mosquitto configured for it; wrong password is clear."""

from __future__ import annotations

import dataclasses
import json
import logging
import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from mqtt_helpers import validator

from edge.outputs.mqtt import LinkState, MqttConfig, MqttPublisher
from edge.testing.mosquitto import Broker, TlsFiles, make_tls_files
from edge.testing.mqtt import Subscriber, stride_report

PASSWORD = "correct-horse-7431"
WRONG = "wrong-battery-9902"


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_tls_files(tmp_path_factory.mktemp("tls"), username="coach", password=PASSWORD)


@pytest.fixture
def tls_broker(tmp_path: Path, tls_files: TlsFiles) -> Iterator[Broker]:
    broker = Broker(tmp_path / "broker", tls=tls_files)
    broker.start()
    yield broker
    broker.stop()


def tls_config(broker: Broker, tls: TlsFiles, tmp_path: Path, **secret: str) -> MqttConfig:
    return MqttConfig(
        host="localhost",
        port=broker.port,
        device_id="tls-pi",
        tls=True,
        ca_file=str(tls.ca_file),
        username=tls.username,
        keepalive=5,
        reconnect_min_s=1,
        reconnect_max_s=2,
        homeassistant=False,
        outbox_path=str(tmp_path / "outbox.sqlite3"),
        **secret,
    )


def tls_subscriber(broker: Broker, tls: TlsFiles, topics: list[str]) -> Subscriber:
    def setup(client) -> None:
        client.tls_set(ca_certs=str(tls.ca_file), cert_reqs=ssl.CERT_REQUIRED)
        client.username_pw_set(tls.username, tls.password)

    return Subscriber(broker.port, topics, setup=setup)


def test_publishes_over_tls_with_password_from_a_file(
    tls_broker: Broker, tls_files: TlsFiles, tmp_path: Path, caplog
) -> None:
    secret = tmp_path / "mqtt-password"
    secret.write_text(PASSWORD + "\n")
    coach = tls_subscriber(tls_broker, tls_files, ["trackside/tls-pi/stride"])
    publisher = MqttPublisher(
        tls_config(tls_broker, tls_files, tmp_path, password_file=str(secret))
    )
    try:
        with caplog.at_level(logging.DEBUG):
            publisher.start()
            assert publisher.link.wait_connected(10), publisher.last_error
            message_id = publisher.publish_stride(stride_report(0))
            got = coach.wait_for(lambda ms: len(ms) >= 1, timeout=10)
    finally:
        publisher.stop()
        coach.close()
    payload = json.loads(got[0][1])
    validator("stride").validate(payload)
    assert payload["message_id"] == message_id
    assert "over TLS" in caplog.text
    assert PASSWORD not in caplog.text


def test_wrong_password_is_refused_with_a_clear_state_and_no_secret_in_logs(
    tls_broker: Broker, tls_files: TlsFiles, tmp_path: Path, caplog, monkeypatch
) -> None:
    monkeypatch.setenv("TRACKSIDE_TEST_MQTT_PW", WRONG)
    publisher = MqttPublisher(
        tls_config(tls_broker, tls_files, tmp_path, password_env="TRACKSIDE_TEST_MQTT_PW")
    )
    try:
        with caplog.at_level(logging.DEBUG):
            publisher.start()
            deadline = time.monotonic() + 10
            while publisher.state is not LinkState.REFUSED and time.monotonic() < deadline:
                publisher.link.wait_connected(0.05)  # bounded poll of the link state
            publisher.publish_stride(stride_report(0))  # kept, not lost
    finally:
        publisher.stop(timeout=0.5)
    assert publisher.state is LinkState.STOPPED
    assert "refused the connection" in publisher.last_error
    assert "check mqtt.username and the password" in publisher.last_error
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors and "refused the connection" in errors[0].getMessage()
    assert WRONG not in caplog.text
    from edge.outputs.mqtt.outbox import Outbox

    assert len(Outbox(tmp_path / "outbox.sqlite3")) == 1


def test_untrusted_broker_certificate_is_not_accepted(
    tls_broker: Broker, tls_files: TlsFiles, tmp_path: Path
) -> None:
    other_ca = make_tls_files(tmp_path / "other", username="x", password="y").ca_file
    config = tls_config(tls_broker, tls_files, tmp_path, password=PASSWORD)
    publisher = MqttPublisher(dataclasses.replace(config, ca_file=str(other_ca)))
    try:
        publisher.start()
        assert not publisher.link.wait_connected(2)
        assert "TLS handshake failed" in publisher.last_error
    finally:
        publisher.stop(timeout=0.2)
