"""The ``[dashboard]`` config section, and the checks that need more than one field.

The dashboard binds to the loopback interface by default, where only people logged in to
the device can reach it.  Bound to any other address it is on the network, and then a
password is required: :func:`resolve_dashboard` refuses to go on without one.  The password
is never part of a ``repr``, a log line or ``trackside config show``.  :func:`dashboard_target`
also looks the bind address up: ``trackside dashboard`` and ``trackside config check``
(:mod:`edge.service.preflight`) both call it, so they always agree.

A request must name the dashboard by a known ``Host``: an IP address (what a phone on the
track's Wi-Fi types), ``localhost``, this machine's host name (also with ``.local``), or a
name in ``allowed_hosts``.  Any other name is a page elsewhere whose DNS name was pointed at
this device (DNS rebinding) and is refused.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from dataclasses import dataclass, field
from typing import Any

from edge.errors import ConfigError
from edge.settings import Check, Int, Text, read_secret_file, secret_setting, setting

_LEVEL = re.compile(r"[A-Za-z0-9_.\-]{1,64}|\+")
_HOST_NAME = re.compile(r"(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9\-.]*[A-Za-z0-9])?")


@dataclass(frozen=True)
class HostNames(Check):
    """A list of DNS names (no port, no scheme, no wildcard)."""

    expected = 'a list of host names like ["trackside.lan"] (no port, scheme or wildcard)'

    def __call__(self, value: Any) -> tuple[str, ...]:
        if not isinstance(value, list | tuple):
            self.fail(value)
        names = []
        for name in value:
            if not isinstance(name, str) or not _HOST_NAME.fullmatch(name):
                self.fail(value)
            names.append(name.lower().rstrip("."))
        return tuple(names)


@dataclass(frozen=True)
class TopicFilterRoot(Check):
    """Topic levels (``+`` allowed as a whole level, no ``#``) naming device prefixes."""

    expected = "topic levels like \"trackside/+\" ('+' as a whole level, no '#' or empty level)"

    def __call__(self, value: Any) -> str:
        if not isinstance(value, str) or not value:
            self.fail(value)
        if not all(_LEVEL.fullmatch(level) for level in value.split("/")):
            self.fail(value)
        return value


@dataclass(frozen=True)
class DashboardConfig:
    """The coach's web page (the ``[dashboard]`` config section)."""

    bind: str = setting(
        "127.0.0.1",
        Text(allow_empty=False),
        "Address to listen on; anything but loopback needs a password (0.0.0.0: everywhere).",
    )
    port: int = setting(8080, Int(1, 65535), "TCP port of the web page.")
    password: str = secret_setting("Password, written here directly (prefer password_file).")
    password_file: str = setting(
        "", Text(), "File whose first line is the password (e.g. a systemd credential)."
    )
    topic_root: str = setting(
        "trackside/+",
        TopicFilterRoot(),
        "Device prefixes to follow; '+' matches any device (must match mqtt.topic_prefix).",
    )
    history: int = setting(
        300, Int(10, 5000), "Strides kept per device for the live charts and table."
    )
    max_devices: int = setting(
        32, Int(1, 1000), "Devices shown at most; the one silent longest is forgotten first."
    )
    allowed_hosts: tuple[str, ...] = setting(
        (),
        HostNames(),
        "Extra names the page may be reached by (IP addresses, localhost and this host's "
        "name always work); any other Host is refused.",
    )
    max_connections: int = setting(
        256, Int(8, 4096), "Open connections at most (each open page holds one)."
    )
    max_connections_per_client: int = setting(
        32, Int(2, 4096), "Open connections at most from one address (a phone, a laptop)."
    )


@dataclass(frozen=True)
class DashboardTarget:
    """Resolved settings: the password read, the bind address checked."""

    bind: str
    port: int
    password: str | None = field(repr=False)
    topic_root: str
    history: int
    max_devices: int
    allowed_hosts: tuple[str, ...] = ()
    max_connections: int = 256
    max_connections_per_client: int = 32

    @property
    def loopback(self) -> bool:
        return is_loopback(self.bind)


def is_loopback(host: str) -> bool:
    """``True`` for ``localhost`` and loopback addresses (127.0.0.0/8, ``::1``)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def resolve_dashboard(config: DashboardConfig, *, origin: str = "config") -> DashboardTarget:
    """Read the password and refuse an exposed dashboard without one (:class:`ConfigError`)."""
    if config.password and config.password_file:
        raise ConfigError(
            f"{origin}: dashboard.password_file: expected at most one of dashboard.password "
            "and dashboard.password_file, got both"
        )
    password = config.password or None
    if config.password_file:
        password = read_secret_file(config.password_file, "dashboard.password_file", origin)
    if password is None and not is_loopback(config.bind):
        raise ConfigError(
            f"{origin}: dashboard.password: a password is required when the dashboard "
            f"listens on {config.bind} (not loopback); set dashboard.password_file, or bind "
            'to "127.0.0.1"'
        )
    return DashboardTarget(
        bind=config.bind,
        port=config.port,
        password=password,
        topic_root=config.topic_root,
        history=config.history,
        max_devices=config.max_devices,
        allowed_hosts=config.allowed_hosts,
        max_connections=config.max_connections,
        max_connections_per_client=config.max_connections_per_client,
    )


def dashboard_target(config: DashboardConfig, *, origin: str = "config") -> DashboardTarget:
    """:func:`resolve_dashboard`, and a bind address other than loopback resolved to an
    address (a typo there would otherwise only show when the server fails to start)."""
    target = resolve_dashboard(config, origin=origin)
    if not is_loopback(target.bind):
        try:
            socket.getaddrinfo(target.bind, target.port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as exc:
            raise ConfigError(
                f"{origin}: dashboard.bind: cannot resolve {target.bind!r} to an address "
                f"({getattr(exc, 'strerror', None) or exc})"
            ) from None
    return target
