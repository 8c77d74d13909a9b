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

import subprocess
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from edge.config import Config
from edge.doctor.machine import (
    check_broker,
    check_clock,
    check_disk,
    check_pins,
    check_service,
    ntp_synchronised,
)
from edge.doctor.pipeline import check_camera, check_model, check_runtime
from edge.doctor.results import CheckResult, Host, Status, pi_model
from edge.service.unit import Runner

__all__ = [
    "CheckResult",
    "Host",
    "Status",
    "check_broker",
    "check_camera",
    "check_clock",
    "check_disk",
    "check_model",
    "check_pins",
    "check_runtime",
    "check_service",
    "data_paths",
    "installed_at",
    "ntp_synchronised",
    "pi_model",
    "run_checks",
]


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
