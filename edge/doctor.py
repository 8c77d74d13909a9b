"""``trackside doctor``: is this machine ready to run Trackside?  One line per check.

Each check is a function that takes the configuration (and whatever it probes, so tests pass
fakes: a picamera2 stand-in, gpiozero's ``MockFactory``, a ``systemctl`` runner) and returns
a :class:`CheckResult`: ``ok``, ``warn``, ``fail`` or ``n/a`` (does not apply on this
machine, e.g. the Pi camera on a laptop), with what to do about anything not ok.
:func:`run_checks` runs them all in order; the command exits non-zero when any failed.

=========  ================================================================================
camera     the configured source opens: the Pi camera and its sensor modes, a webcam, a clip
model      the model file is complete (checksum when it is an official one) and loads
runtime    the interpreter and its speed on this CPU: what live mode can time
broker     the MQTT broker answers, with the configured TLS and user/password
pins       the LED and buzzer pins can be claimed
disk       free space where the outbox and the results store live
clock      the date is plausible and (where systemd tells) synchronised
service    the systemd unit: installed, enabled, running
=========  ================================================================================
"""

from __future__ import annotations

import math
import os
import shutil
import ssl
import subprocess
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from edge.config import Config
from edge.errors import TracksideError
from edge.service.unit import Runner, UnitState

PI_MODEL_FILE = Path("/proc/device-tree/model")
#: Free space below which writing results is at risk: SQLite needs room for its WAL and a
#: checkpoint; 50 MB is about 25 000 stored strides (~2 KB each, measured on the payloads).
DISK_FAIL_BYTES = 50 * 1024**2
#: Below this, warn: ~1 GB holds the results store at its default bound
#: (results.max_strides = 500 000 strides × ~2 KB).
DISK_WARN_BYTES = 1024**3
BROKER_TIMEOUT_S = 5.0


class Status(StrEnum):
    OK = "ok"
    WARN = "warn"
    FAIL = "fail"
    NA = "n/a"


@dataclass(frozen=True)
class CheckResult:
    name: str
    status: Status
    detail: str
    fix: str = ""  # what to do (for warn and fail)

    def line(self) -> str:
        text = f"{self.status.value:<5} {self.name:<8} {self.detail}"
        return text + (f"  → {self.fix}" if self.fix else "")


@dataclass(frozen=True)
class Host:
    """What kind of machine this is: a Raspberry Pi (its model) or not, and the service."""

    pi_model: str | None
    unit: UnitState

    @property
    def is_pi(self) -> bool:
        return self.pi_model is not None


def pi_model(path: Path = PI_MODEL_FILE) -> str | None:
    """``"Raspberry Pi 4 Model B Rev 1.4"`` on a Pi, ``None`` elsewhere."""
    try:
        model = path.read_bytes().rstrip(b"\0").decode(errors="replace").strip()
    except OSError:
        return None
    return model if model.startswith("Raspberry Pi") else None


def _ok(name: str, detail: str) -> CheckResult:
    return CheckResult(name, Status.OK, detail)


# --- camera -------------------------------------------------------------------------------


def _mode_text(mode: Mapping[str, Any]) -> str:
    width, height = mode["size"]
    return f"{width}x{height}@{float(mode['fps']):.0f}"


def check_camera(
    config: Config,
    host: Host,
    *,
    picamera2_factory: Callable[[int], Any] | None = None,
    transform_factory: Callable[[bool, bool], Any] | None = None,
) -> CheckResult:
    """The configured source opens; for the Pi camera: its modes and the one chosen."""
    from edge.capture import open_source
    from edge.capture.base import parse_spec
    from edge.capture.picamera import PiCameraSource
    from edge.errors import SourceError

    spec = config.source.input
    kind, target = parse_spec(spec)
    if kind == "picamera" and isinstance(target, int):
        if host.unit.running:
            return _ok("camera", f"{spec}: in use by the running {host.unit.name}")
        try:
            with PiCameraSource(
                config.camera,
                camera_num=target,
                picamera2_factory=picamera2_factory,
                transform_factory=transform_factory,
            ) as source:
                frame = _first_frame(source)
                modes = source.sensor_modes
                chosen = source.sensor_mode
        except SourceError as exc:
            if not host.is_pi and "picamera2 not available" in str(exc):
                return CheckResult(
                    "camera", Status.NA, "not a Raspberry Pi: the Pi camera is checked on the Pi"
                )
            return CheckResult(
                "camera",
                Status.FAIL,
                str(exc),
                "check the ribbon cable: rpicam-hello --list-cameras",
            )
        if frame is None:
            return CheckResult("camera", Status.FAIL, f"{spec}: opened but gave no frame")
        c = config.camera
        listed = ", ".join(_mode_text(m) for m in modes) or "none listed"
        picked = f"sensor mode {_mode_text(chosen)}" if chosen else "the driver's default mode"
        return _ok(
            "camera",
            f"{spec}: {c.width}x{c.height} at {c.fps:g} fps from {picked}; modes: {listed}",
        )
    try:
        with open_source(spec, camera=config.camera) as source:
            frame = _first_frame(source)
    except SourceError as exc:
        return CheckResult("camera", Status.FAIL, str(exc), "check source.input")
    if frame is None:
        return CheckResult("camera", Status.FAIL, f"{spec}: opened but gave no frame")
    return _ok("camera", f"{spec}: {frame.width}x{frame.height}, first frame read")


# --- model and runtime --------------------------------------------------------------------


def check_model(config: Config) -> tuple[CheckResult, Any]:
    """The model file is complete and the runtime loads it; also returns the estimator."""
    from edge.pose.models import load_manifest, resolve_model_path, spec_for_file
    from edge.pose.movenet import PoseEstimator

    pose = config.pose
    try:
        path = resolve_model_path(pose.model, model_dir=pose.model_dir or None)
        spec = spec_for_file(path, load_manifest())
        estimator = PoseEstimator(
            path,
            runtime=pose.runtime,
            num_threads=pose.num_threads,
            delegate=pose.delegate or None,
            crop_tracking=False,
        )
    except TracksideError as exc:
        fix = f"trackside models fetch {pose.model}" if "not found" in str(exc) else ""
        return CheckResult("model", Status.FAIL, str(exc), fix or "trackside models verify"), None
    checked = f"checksum matches {spec.name}" if spec else "not in the manifest (no checksum)"
    return _ok("model", f"{path}: {checked}; MoveNet {estimator.variant}"), estimator


def check_runtime(
    config: Config, estimator: Any, *, measure: Callable[[Any], float] | None = None
) -> CheckResult:
    """The interpreter's speed here, and whether live mode can time a ground contact."""
    from edge.bench import GROUND_CONTACT_MS, MIN_FRAMES_PER_CONTACT, live_capacity

    if estimator is None:
        return CheckResult("runtime", Status.FAIL, "no model loaded (see the model check)")
    seconds = (measure or _measure_invoke)(estimator)
    # The camera thread decodes in parallel; pre/postprocessing adds little (trackside bench).
    live = live_capacity(seconds, math.nan, config.camera.fps)
    detail = (
        f"{estimator.runtime_label}, {config.pose.num_threads} thread(s): {seconds * 1e3:.1f} ms "
        f"a frame ({1 / seconds:.0f} fps); live mode: {live.frames_per_second:.0f} fps, "
        f"{live.frames_per_contact:.1f} frames per {GROUND_CONTACT_MS:.0f} ms contact"
    )
    if live.fine_enough:
        return _ok("runtime", detail)
    detail += f" (fewer than {MIN_FRAMES_PER_CONTACT:g})"
    if live.camera_limited:  # the CPU keeps up; the camera is set too slow
        needed = MIN_FRAMES_PER_CONTACT * 1000.0 / GROUND_CONTACT_MS
        return CheckResult("runtime", Status.WARN, detail, f"raise camera.fps to {needed:.0f}+")
    if config.service.mode == "burst":
        return _ok("runtime", detail + "; burst mode times every frame after the pass")
    return CheckResult(
        "runtime",
        Status.WARN,
        detail,
        'set service.mode = "burst" for accurate timing (trackside bench shows the detail)',
    )


def _measure_invoke(estimator: Any) -> float:
    """Seconds per invoke: the model's cost does not depend on what the picture shows."""
    import numpy as np

    from edge.bench import invoke_seconds
    from edge.types import Frame

    frame = Frame(np.zeros((360, 640, 3), np.uint8), 0.0, 0)
    return invoke_seconds(estimator, frame, repeats=50, budget_s=2.0)[0]


def _first_frame(source: Any) -> Any:
    frames = source.frames()
    try:
        return next(frames, None)
    finally:
        frames.close()  # stops a camera's stream


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
    return _ok("broker", f"{where}: connected{who}")


# --- pins ---------------------------------------------------------------------------------


def check_pins(config: Config, host: Host, *, pin_factory: Any = None) -> CheckResult:
    """Claim every configured LED and buzzer pin, then release them."""
    from edge.outputs.feedback.driver import FeedbackDriver, FeedbackError

    feedback = config.feedback
    if not feedback.enabled:
        return CheckResult("pins", Status.NA, "feedback.enabled = false: no LEDs or buzzer")
    if host.unit.running and pin_factory is None:
        return _ok("pins", f"held by the running {host.unit.name}")
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
    return _ok("pins", f"{kind}{', '.join(claimed)} claimed and released")


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
    return _ok("clock", f"{stamp}, {sync}")


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
    return _ok("service", state)


# --- all of them --------------------------------------------------------------------------


def data_paths(config: Config, environ: Mapping[str, str]) -> dict[str, Path]:
    """The outbox and results files the daemon writes (as the service sees them)."""
    from edge.outputs.mqtt.settings import default_outbox_path
    from edge.outputs.store import default_results_path

    paths = {}
    if config.mqtt.enabled:
        paths["outbox"] = default_outbox_path(config.mqtt.outbox_path, environ)
    if config.results.enabled:
        paths["results"] = default_results_path(config.results.path, environ)
    return paths


def installed_at() -> float:
    """When this copy of Trackside was installed (its package files' time)."""
    return Path(__file__).stat().st_mtime


def run_checks(
    config: Config,
    host: Host,
    *,
    environ: Mapping[str, str],
    clock: Callable[[], float] = time.time,
    run: Runner = subprocess.run,
) -> list[CheckResult]:
    """Every check, in the order of the module docstring, on the real machine."""
    results = [check_camera(config, host)]
    model, estimator = check_model(config)
    results += [
        model,
        check_runtime(config, estimator),
        check_broker(config),
        check_pins(config, host),
    ]
    paths = data_paths(config, environ)
    results.append(
        check_disk(paths) if paths else CheckResult("disk", Status.NA, "nothing is stored")
    )
    results.append(
        check_clock(clock(), not_before=installed_at(), synchronised=ntp_synchronised(run))
    )
    results.append(check_service(host))
    return results
