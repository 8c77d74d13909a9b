"""The [mqtt] section: defaults that depend on the machine, secrets, and clear errors."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from edge.errors import ConfigError
from edge.outputs.mqtt.settings import MqttConfig, TopicLevel, TopicPrefix, resolve
from edge.settings import Invalid


def test_defaults_expand_hostname_prefix_client_id_and_state_directory(tmp_path: Path) -> None:
    target = resolve(
        MqttConfig(), environ={"STATE_DIRECTORY": f"{tmp_path}:/other"}, hostname="pi-track3.local"
    )
    assert target.device_id == "pi-track3"
    assert target.topic_prefix == "trackside/pi-track3"
    assert target.client_id == "trackside-pi-track3"
    assert target.outbox_path == tmp_path / "mqtt-outbox.sqlite3"
    assert target.username is None and target.password is None
    assert resolve(MqttConfig(), environ={}, hostname="x").outbox_path == Path(
        "state/mqtt-outbox.sqlite3"
    )


def test_password_from_file_and_from_environment(tmp_path: Path) -> None:
    secret_file = tmp_path / "pw"
    secret_file.write_text("from-file\nignored\n")
    by_file = resolve(
        MqttConfig(username="coach", password_file=str(secret_file)), environ={}, hostname="h"
    )
    by_env = resolve(
        MqttConfig(username="coach", password_env="MQTT_PW"),
        environ={"MQTT_PW": "from-env"},
        hostname="h",
    )
    assert by_file.password == "from-file"
    assert by_env.password == "from-env"


def test_password_never_in_repr() -> None:
    config = MqttConfig(username="coach", password="hunter2-secret")
    target = resolve(config, environ={}, hostname="h")
    assert "hunter2-secret" not in repr(config)
    assert "hunter2-secret" not in repr(target)
    field = {f.name: f for f in dataclasses.fields(MqttConfig)}["password"]
    assert field.metadata["secret"] is True


@pytest.mark.parametrize(
    ("config", "env", "fragment"),
    [
        (
            MqttConfig(username="u", password="a", password_env="B"),
            {},
            "mqtt.password_env: expected at most one of",
        ),
        (
            MqttConfig(username="u", password_env="NOPE"),
            {},
            "mqtt.password_env: environment variable NOPE is not set",
        ),
        (
            MqttConfig(username="u", password_file="/nonexistent/pw"),
            {},
            "mqtt.password_file: cannot read /nonexistent/pw",
        ),
        (MqttConfig(password="p"), {}, "mqtt.username: expected a user name"),
        (MqttConfig(ca_file="/etc/hostname"), {}, "mqtt.ca_file: set, but mqtt.tls is false"),
        (
            MqttConfig(tls=True, ca_file="/nonexistent/ca.crt"),
            {},
            "mqtt.ca_file: no such file /nonexistent/ca.crt",
        ),
        (MqttConfig(tls=True, cert_file="/etc/hostname"), {}, "mqtt.cert_file/key_file"),
        (MqttConfig(reconnect_min_s=10, reconnect_max_s=5), {}, "mqtt.reconnect_min_s"),
    ],
)
def test_inconsistent_settings_name_the_key(config: MqttConfig, env: dict, fragment: str) -> None:
    with pytest.raises(ConfigError, match=r"^trackside\.toml: ") as info:
        resolve(config, environ=env, hostname="h", origin="trackside.toml")
    assert fragment in str(info.value)


def test_secret_values_are_not_in_errors() -> None:
    with pytest.raises(ConfigError) as info:
        resolve(MqttConfig(password="topsecret"), environ={}, hostname="h")
    assert "topsecret" not in str(info.value)


def test_topic_checks() -> None:
    assert TopicPrefix()("sites/{device_id}/run") == "sites/{device_id}/run"
    assert TopicLevel()("") == ""
    for bad in ("a/#", "+/x", "/lead", "trail/", "", "a//b"):
        with pytest.raises(Invalid, match="topic prefix"):
            TopicPrefix()(bad)
    for bad in ("with/slash", "wild+", 7):
        with pytest.raises(Invalid, match="topic level"):
            TopicLevel()(bad)
