"""What ``run`` and ``dashboard`` check before they start, runnable on its own.

``trackside config check FILE`` calls :func:`check_everything`; ``build_daemon`` and
``build_dashboard`` call the very same functions, so the check can never pass a file that
the service then refuses.  Every message starts with the config file's name and the key::

    /etc/trackside/trackside.toml: mqtt.ca_file: /etc/ssl/club-ca.pem is not a PEM
    certificate the TLS library can load ([SSL] PEM lib (_ssl.c:4000))

The checks: the MQTT settings resolved (password sources and files, environment
variables, user name, TLS files that exist *and* load), the dashboard's (password rules,
a bind address that resolves), the pose model present and a valid TFLite file, the outbox
and results paths usable as files, and a clip given as the source readable as a video.
"""

from __future__ import annotations

import os
import ssl
from pathlib import Path

from edge.capture.base import parse_spec
from edge.config import Config
from edge.dashboard.settings import DashboardTarget
from edge.dashboard.settings import dashboard_target as resolve_dashboard_target
from edge.errors import ConfigError, TracksideError
from edge.outputs.mqtt.settings import MqttTarget, resolve
from edge.outputs.store import default_results_path


def mqtt_target(config: Config, origin: str) -> MqttTarget:
    """The resolved ``[mqtt]`` settings, TLS files loaded once to prove they are usable."""
    target = resolve(config.mqtt, origin=origin)
    if target.tls:
        context = ssl.create_default_context()
        if target.ca_file:
            try:
                context.load_verify_locations(cafile=target.ca_file)
            except (ssl.SSLError, OSError, ValueError) as exc:
                raise ConfigError(
                    f"{origin}: mqtt.ca_file: {target.ca_file} is not a PEM certificate the "
                    f"TLS library can load ({exc})"
                ) from None
        if target.cert_file and target.key_file:
            try:
                context.load_cert_chain(target.cert_file, target.key_file)
            except (ssl.SSLError, OSError, ValueError) as exc:
                raise ConfigError(
                    f"{origin}: mqtt.cert_file/key_file: {target.cert_file} and "
                    f"{target.key_file} are not a certificate and its private key in PEM "
                    f"({exc})"
                ) from None
    data_file(target.outbox_path, "mqtt.outbox_path", origin)
    return target


def dashboard_target(config: Config, origin: str) -> DashboardTarget:
    """The resolved ``[dashboard]`` settings, the bind address resolved (the dashboard's own
    check, :func:`edge.dashboard.settings.dashboard_target`)."""
    return resolve_dashboard_target(config.dashboard, origin=origin)


def results_path(config: Config, origin: str) -> Path | None:
    """The results file (``None`` with ``[results]`` off), checked usable as a file."""
    if not config.results.enabled:
        return None
    path = default_results_path(config.results.path)
    data_file(path, "results.path", origin)
    return path


def data_file(path: Path, key: str, origin: str) -> None:
    """A file the service creates and writes: not a folder, in a folder (or a place where
    one can be made)."""
    if path.is_dir():
        raise ConfigError(f"{origin}: {key}: {path} is a folder, expected a file name in one")
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise ConfigError(f"{origin}: {key}: {parent} is a file, expected a folder")
            if not os.access(parent, os.W_OK | os.X_OK) and not path.exists():
                raise ConfigError(f"{origin}: {key}: cannot create files in {parent}")
            return


def model_path(config: Config, origin: str) -> Path:
    """The pose model file, found and checked as a complete TFLite model."""
    from edge.pose.models import load_manifest, resolve_model_path, spec_for_file, verify_model_file

    pose = config.pose
    try:
        path = resolve_model_path(pose.model, model_dir=pose.model_dir or None)
        verify_model_file(path, spec_for_file(path, load_manifest()))
    except TracksideError as exc:
        raise ConfigError(f"{origin}: pose.model: {exc}") from None
    return path


def source_file(spec: str, origin: str, key: str = "source.input") -> None:
    """A clip named as the source must be a readable video (cameras are tried at run time:
    one that is unplugged now is waited for)."""
    from edge.capture import open_source

    _kind, target = parse_spec(spec)
    if isinstance(target, Path):
        try:
            open_source(target).close()
        except TracksideError as exc:
            raise ConfigError(f"{origin}: {key}: {exc}") from None


def check_everything(config: Config, origin: str) -> list[str]:
    """Every check of ``run`` and ``dashboard``; the problems found (empty: all good)."""
    problems = []
    for check in (
        mqtt_target,
        dashboard_target,
        results_path,
        model_path,
        lambda c, o: source_file(c.source.input, o),
    ):
        try:
            check(config, origin)
        except TracksideError as exc:
            problems.append(str(exc))
    return problems
