"""The checks of the machine around the pipeline: broker, pins, disk, clock, service."""

from __future__ import annotations

import os
import shutil
import ssl
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from edge.config import Config
from edge.doctor.results import CheckResult, Host, Status, ok
from edge.errors import TracksideError
from edge.service.unit import Runner

#: Free space below which writing results is at risk: SQLite needs room for its WAL and a
#: checkpoint; 50 MB is about 25 000 stored strides (~2 KB each, measured on the payloads).
DISK_FAIL_BYTES = 50 * 1024**2
#: Below this, warn: ~1 GB holds the results store at its default bound
#: (results.max_strides = 500 000 strides × ~2 KB).
DISK_WARN_BYTES = 1024**3
BROKER_TIMEOUT_S = 5.0


# --- broker -------------------------------------------------------------------------------


def check_broker(config: Config, *, timeout: float = BROKER_TIMEOUT_S) -> CheckResult:
    """Connect to the broker as the daemon would (TLS, user/password), then disconnect.

    A client id of its own, no Last Will and nothing published: the running daemon's
    connection and the device's availability are left alone.
    """
    from paho.mqtt.enums import MQTTErrorCode

    from edge.outputs.mqtt.client import make_paho_client
    from edge.outputs.mqtt.settings import resolve

    if not config.mqtt.enabled:
        return CheckResult("broker", Status.NA, "mqtt.enabled = false: results stay on the device")
    try:
        target = resolve(config.mqtt, origin=str(config.path or "config"))
    except TracksideError as exc:
        return CheckResult("broker", Status.FAIL, str(exc), "fix the [mqtt] section")
    where = f"{target.host}:{target.port}" + (" (TLS)" if target.tls else "")
    client = make_paho_client(target, f"{target.client_id}-doctor")
    answer: list[Any] = []
    client.on_connect = lambda _c, _u, _f, reason, _p: answer.append(reason)
    try:
        client.connect(target.host, target.port, keepalive=max(5, int(timeout)))
    except ssl.SSLError as exc:
        return CheckResult(
            "broker", Status.FAIL, f"{where}: TLS handshake failed ({exc.reason or exc})",
            "check mqtt.ca_file (the CA that signed the broker's certificate) and mqtt.host",
        )  # fmt: skip
    except (OSError, ValueError) as exc:  # refused, unreachable, name not resolved
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        return CheckResult(
            "broker", Status.FAIL, f"{where}: cannot connect ({reason})",
            "is the broker running there? check mqtt.host and mqtt.port",
        )  # fmt: skip
    deadline = time.monotonic() + timeout
    try:
        while not answer and time.monotonic() < deadline:
            if client.loop(timeout=0.1) not in (MQTTErrorCode.MQTT_ERR_SUCCESS,):
                break
    finally:
        client.disconnect()
    if not answer:
        return CheckResult(
            "broker", Status.FAIL, f"{where}: no answer to CONNECT in {timeout:g} s",
            "is it an MQTT broker? (mqtt.port; 8883 is usually TLS)",
        )  # fmt: skip
    reason = answer[0]
    if reason.is_failure:
        fix = "check mqtt.username and the password setting"
        return CheckResult("broker", Status.FAIL, f"{where}: refused ({reason})", fix)
    who = f" as {target.username}" if target.username else ""
    return ok("broker", f"{where}: connected{who}")


# --- pins ---------------------------------------------------------------------------------


def check_pins(config: Config, host: Host, *, pin_factory: Any = None) -> CheckResult:
    """Claim every configured LED and buzzer pin, then release them."""
    from edge.outputs.feedback.driver import FeedbackDriver, FeedbackError

    feedback = config.feedback
    if not feedback.enabled:
        return CheckResult("pins", Status.NA, "feedback.enabled = false: no LEDs or buzzer")
    if host.unit.running and pin_factory is None:
        return ok("pins", f"held by the running {host.unit.name}")
    if pin_factory is None and feedback.pin_factory == "auto" and not host.is_pi:
        return CheckResult(
            "pins", Status.NA, "not a Raspberry Pi: no GPIO here (trackside feedback test --mock)"
        )
    try:
        with FeedbackDriver(feedback, pin_factory=pin_factory) as driver:
            claimed = sorted(driver.leds) + (["buzzer"] if driver.buzzer is not None else [])
    except FeedbackError as exc:
        return CheckResult(
            "pins", Status.FAIL, str(exc), "check the [feedback] pins and the wiring"
        )
    kind = "simulated " if feedback.pin_factory == "mock" and pin_factory is None else ""
    return ok("pins", f"{kind}{', '.join(claimed)} claimed and released")


# --- disk and clock -----------------------------------------------------------------------


def _existing_parent(path: Path) -> Path:
    for candidate in (path, *path.parents):
        if candidate.exists():
            return candidate
    return Path("/")


def check_disk(
    paths: Mapping[str, Path],
    *,
    fail_below: int = DISK_FAIL_BYTES,
    warn_below: int = DISK_WARN_BYTES,
) -> CheckResult:
    """Free space and write access where each named file (outbox, results) lives."""
    parts, worst, fix = [], Status.OK, ""
    for label, path in paths.items():
        folder = _existing_parent(path.parent)
        free = shutil.disk_usage(folder).free
        text = f"{label} {path} ({free / 1024**3:.1f} GB free)"
        if not os.access(folder, os.W_OK):
            worst, fix = Status.FAIL, f"{folder} is not writable by this user"
            text += " not writable"
        elif free < fail_below:
            worst, fix = Status.FAIL, "free some space, or move results.path / mqtt.outbox_path"
        elif free < warn_below and worst is Status.OK:
            worst, fix = Status.WARN, "little room: lower results.max_strides or free space"
        parts.append(text)
    return CheckResult("disk", worst, "; ".join(parts), fix)


def check_clock(now: float, *, not_before: float, synchronised: bool | None) -> CheckResult:
    """The date is after ``not_before`` (this software's install) and NTP agrees if asked."""
    stamp = time.strftime("%Y-%m-%d %H:%M %Z", time.localtime(now))
    if now < not_before:
        return CheckResult(
            "clock", Status.FAIL, f"{stamp} is before this software was installed",
            "set the time (sudo timedatectl set-ntp true, with network): results are dated by it",
        )  # fmt: skip
    if synchronised is False:
        return CheckResult(
            "clock", Status.WARN, f"{stamp}, not synchronised (NTP)",
            "sudo timedatectl set-ntp true; a Pi without network keeps the last shutdown time",
        )  # fmt: skip
    sync = "synchronised" if synchronised else "synchronisation not known here"
    return ok("clock", f"{stamp}, {sync}")


def ntp_synchronised(run: Runner = subprocess.run) -> bool | None:
    """What ``timedatectl`` says; ``None`` where it cannot tell (no systemd)."""
    try:
        result = run(
            ["timedatectl", "show", "--property=NTPSynchronized", "--value"],
            capture_output=True,
            text=True,
            timeout=5,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    value = result.stdout.strip() if result.returncode == 0 else ""
    return {"yes": True, "no": False}.get(value)


# --- the service --------------------------------------------------------------------------


def check_service(host: Host) -> CheckResult:
    unit = host.unit
    if not unit.systemd:
        if host.is_pi:
            return CheckResult("service", Status.WARN, "systemd is not running: no service")
        return CheckResult("service", Status.NA, "no systemd here: the service runs on the Pi")
    if not unit.installed:
        if not host.is_pi:
            return CheckResult("service", Status.NA, f"{unit.name} not installed (not a Pi)")
        return CheckResult(
            "service", Status.WARN, f"{unit.name} is not installed", "sudo ./scripts/install-pi.sh"
        )
    state = f"{unit.name}: {unit.active} ({unit.sub}), {unit.enabled or 'no unit file state'}"
    if unit.active == "failed":
        return CheckResult("service", Status.FAIL, state, "journalctl -u trackside -n 50 says why")
    if not unit.running:
        return CheckResult("service", Status.WARN, state, "sudo systemctl start trackside")
    if unit.enabled != "enabled":
        return CheckResult(
            "service", Status.WARN, state, "sudo systemctl enable trackside (start at boot)"
        )
    return ok("service", state)
