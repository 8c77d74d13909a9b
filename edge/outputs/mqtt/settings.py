"""The ``[mqtt]`` config section, and how it becomes concrete connection settings.

:class:`MqttConfig` is what the TOML file holds; :func:`resolve` fills in what depends on
the machine (host name, ``$STATE_DIRECTORY``, a password kept in a file or an environment
variable) and checks the combinations a single field cannot, giving a :class:`MqttTarget`
that the client and the publisher use.  The password is never part of a ``repr`` and never
logged.
"""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edge.errors import ConfigError
from edge.settings import (
    Bool,
    Check,
    Int,
    Number,
    Text,
    read_secret_file,
    secret_setting,
    setting,
    state_file,
)

DEVICE_PLACEHOLDER = "{device_id}"
OUTBOX_FILENAME = "mqtt-outbox.sqlite3"


@dataclass(frozen=True)
class TopicLevel(Check):
    """One MQTT topic level: no ``/``, no wildcards; empty allowed when it means "default"."""

    allow_empty: bool = True
    expected = "a topic level without '/', '+' or '#' (letters, digits, '-', '_', '.')"

    def __call__(self, value: Any) -> str:
        if not isinstance(value, str):
            self.fail(value)
        if value == "" and self.allow_empty:
            return value
        if not _LEVEL.fullmatch(value):
            self.fail(value)
        return value


@dataclass(frozen=True)
class TopicPrefix(Check):
    """Topic levels joined by ``/``, no wildcards, no leading or trailing ``/``."""

    expected = (
        "a topic prefix like \"trackside/{device_id}\" (no '+', '#', leading or trailing '/')"
    )

    def __call__(self, value: Any) -> str:
        if not isinstance(value, str) or not value:
            self.fail(value)
        levels = value.split("/")
        if not all(lv == DEVICE_PLACEHOLDER or _LEVEL.fullmatch(lv) for lv in levels):
            self.fail(value)
        return value


_LEVEL = re.compile(r"[A-Za-z0-9_.\-]{1,64}")


@dataclass(frozen=True)
class MqttConfig:
    """How Trackside reaches the coaches' MQTT broker (the ``[mqtt]`` config section)."""

    enabled: bool = setting(True, Bool(), "Publish results over MQTT.")
    host: str = setting("localhost", Text(allow_empty=False), "Broker host name or address.")
    port: int = setting(1883, Int(1, 65535), "Broker port (usually 1883, or 8883 with TLS).")
    device_id: str = setting(
        "", TopicLevel(), "This device's id in topics and payloads (empty: the host name)."
    )
    topic_prefix: str = setting(
        "trackside/{device_id}", TopicPrefix(), "Prefix of every topic; {device_id} is expanded."
    )
    client_id: str = setting(
        "", Text(), 'MQTT client id (empty: "trackside-" followed by the device id).'
    )
    keepalive: int = setting(
        30, Int(1, 3600), "Seconds between pings; the broker declares us offline after 1.5x."
    )
    username: str = setting("", Text(), "User name for the broker (empty: anonymous).")
    password: str = secret_setting("Password, written here directly (prefer password_file).")
    password_file: str = setting(
        "", Text(), "File whose first line is the password (e.g. a systemd credential)."
    )
    password_env: str = setting("", Text(), "Name of an environment variable holding the password.")
    tls: bool = setting(False, Bool(), "Encrypt the connection with TLS.")
    ca_file: str = setting(
        "", Text(), "CA certificate(s) that signed the broker's (empty: the system store)."
    )
    cert_file: str = setting("", Text(), "Client certificate for TLS client authentication.")
    key_file: str = setting("", Text(), "Private key of the client certificate.")
    tls_insecure: bool = setting(
        False, Bool(), "Skip the broker host-name check (testing only: allows impostors)."
    )
    qos: int = setting(
        1, Int(0, 2), "QoS of strides, alerts and summaries (1: at least once, de-duplicate)."
    )
    max_inflight: int = setting(
        20, Int(1, 1000), "Results sent but not yet acknowledged by the broker, at most."
    )
    reconnect_min_s: int = setting(1, Int(1, 3600), "First wait before reconnecting.")
    reconnect_max_s: int = setting(
        60, Int(1, 3600), "Longest wait between reconnects (the wait doubles up to it)."
    )
    outbox_path: str = setting(
        "",
        Text(),
        "SQLite outbox file (empty: $STATE_DIRECTORY/mqtt-outbox.sqlite3, else ./state/).",
    )
    outbox_max_messages: int = setting(
        100_000, Int(10, 10_000_000), "Undelivered results kept, at most; the oldest go first."
    )
    outbox_max_age_hours: float = setting(
        168.0, Number(0.01, 8760), "Undelivered results older than this are dropped."
    )
    homeassistant: bool = setting(
        True, Bool(), "Announce sensors through Home Assistant MQTT discovery."
    )
    discovery_prefix: str = setting(
        "homeassistant", TopicPrefix(), "Home Assistant's discovery prefix."
    )


@dataclass(frozen=True)
class MqttTarget:
    """Concrete connection settings, machine-dependent values filled in."""

    host: str
    port: int
    device_id: str
    topic_prefix: str
    client_id: str
    keepalive: int
    username: str | None
    password: str | None = field(repr=False)
    tls: bool
    ca_file: str | None
    cert_file: str | None
    key_file: str | None
    tls_insecure: bool
    qos: int
    max_inflight: int
    reconnect_min_s: int
    reconnect_max_s: int
    outbox_path: Path
    outbox_max_messages: int
    outbox_max_age_s: float
    homeassistant: bool
    discovery_prefix: str


def resolve(
    config: MqttConfig,
    *,
    environ: Mapping[str, str] | None = None,
    hostname: str | None = None,
    origin: str = "config",
) -> MqttTarget:
    """Fill in defaults that depend on the machine and read the password.

    Raises :class:`~edge.errors.ConfigError` naming the key at fault (``origin`` names the
    config file); the password itself never appears in a message.
    """
    env = os.environ if environ is None else environ
    device_id = config.device_id or device_id_from_hostname(hostname or socket.gethostname())
    prefix = config.topic_prefix.replace(DEVICE_PLACEHOLDER, device_id)
    sources = [
        name
        for name, value in (
            ("password", config.password),
            ("password_file", config.password_file),
            ("password_env", config.password_env),
        )
        if value
    ]
    if len(sources) > 1:
        raise ConfigError(
            f"{origin}: mqtt.{sources[1]}: expected at most one of mqtt.password, "
            f"mqtt.password_file and mqtt.password_env, got {' and '.join(sources)}"
        )
    password = _read_password(config, env, origin)
    if password is not None and not config.username:
        raise ConfigError(
            f'{origin}: mqtt.username: expected a user name to go with the password, got ""'
        )
    if (config.cert_file == "") != (config.key_file == ""):
        raise ConfigError(
            f"{origin}: mqtt.cert_file/key_file: expected both set (client certificate) "
            "or both empty"
        )
    tls_files = {
        "ca_file": config.ca_file,
        "cert_file": config.cert_file,
        "key_file": config.key_file,
    }
    for key, path in tls_files.items():
        if path and not config.tls:
            raise ConfigError(f"{origin}: mqtt.{key}: set, but mqtt.tls is false")
        if path and not Path(path).is_file():
            raise ConfigError(f"{origin}: mqtt.{key}: no such file {path}")
    if config.reconnect_min_s > config.reconnect_max_s:
        raise ConfigError(
            f"{origin}: mqtt.reconnect_min_s: expected at most mqtt.reconnect_max_s "
            f"({config.reconnect_max_s}), got {config.reconnect_min_s}"
        )
    return MqttTarget(
        host=config.host,
        port=config.port,
        device_id=device_id,
        topic_prefix=prefix,
        client_id=config.client_id or f"trackside-{device_id}",
        keepalive=config.keepalive,
        username=config.username or None,
        password=password,
        tls=config.tls,
        ca_file=config.ca_file or None,
        cert_file=config.cert_file or None,
        key_file=config.key_file or None,
        tls_insecure=config.tls_insecure,
        qos=config.qos,
        max_inflight=config.max_inflight,
        reconnect_min_s=config.reconnect_min_s,
        reconnect_max_s=config.reconnect_max_s,
        outbox_path=default_outbox_path(config.outbox_path, env),
        outbox_max_messages=config.outbox_max_messages,
        outbox_max_age_s=config.outbox_max_age_hours * 3600.0,
        homeassistant=config.homeassistant,
        discovery_prefix=config.discovery_prefix,
    )


def default_outbox_path(configured: str, environ: Mapping[str, str]) -> Path:
    """The configured outbox path, else under systemd's ``$STATE_DIRECTORY``, else ``./state``."""
    return state_file(configured, OUTBOX_FILENAME, environ)


def device_id_from_hostname(hostname: str) -> str:
    short = hostname.split(".")[0]
    cleaned = re.sub(r"[^A-Za-z0-9_\-]", "-", short)[:64]
    return cleaned or "trackside"


def _read_password(config: MqttConfig, env: Mapping[str, str], origin: str) -> str | None:
    if config.password:
        return config.password
    if config.password_file:
        return read_secret_file(config.password_file, "mqtt.password_file", origin)
    if config.password_env:
        value = env.get(config.password_env)
        if not value:
            raise ConfigError(
                f"{origin}: mqtt.password_env: environment variable {config.password_env} "
                "is not set or empty"
            )
        return value
    return None
