"""``trackside dashboard``: the MQTT subscriber and the web server, run together.

:class:`MqttBridge` is a plain MQTT client (not the device's publisher: it must not touch
any device's availability or Last Will) subscribed to ``<topic_root>/#``; every message goes
through :class:`~edge.dashboard.state.DashboardState` and the resulting events to the
browsers.  Commands from the page are validated with the very parser the daemon uses
(:func:`edge.outputs.mqtt.commands.parse_command`) before they are published on
``<device prefix>/cmd/<name>``, each with a ``request_id`` so the page can show the reply.

::

    dashboard = Dashboard(resolve_dashboard(config.dashboard), resolve(config.mqtt))
    dashboard.start()            # returns at once; dashboard.url is where to point a browser
    ...
    dashboard.stop()

:func:`run_dashboard` is the blocking command, stopping on SIGTERM or SIGINT.
"""

from __future__ import annotations

import json
import logging
import secrets
import signal
import socket
import threading
from dataclasses import asdict
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho

from edge.dashboard.auth import Auth
from edge.dashboard.events import EventHub
from edge.dashboard.routes import CommandError, DashboardApp, HostPolicy
from edge.dashboard.server import make_server
from edge.dashboard.settings import DashboardConfig, DashboardTarget, dashboard_target
from edge.dashboard.state import DashboardState
from edge.errors import ConfigError, TracksideError
from edge.outputs.mqtt.client import make_paho_client
from edge.outputs.mqtt.commands import CommandRejected, parse_command
from edge.outputs.mqtt.settings import MqttConfig, MqttTarget, resolve
from edge.outputs.pass_clips import ClipStore
from edge.outputs.progress import athlete_progress, progress_csv, progress_page
from edge.outputs.report import report_html
from edge.outputs.results_settings import CLIPS_DIRNAME
from edge.outputs.store import ResultsConfig, ResultStore, default_results_path
from edge.outputs.strides_csv import csv_text

log = logging.getLogger(__name__)


class MqttBridge:
    """Subscribes to every device under the root; publishes the coach's commands."""

    def __init__(self, target: MqttTarget, state: DashboardState, hub: EventHub) -> None:
        self.target = target
        self.state = state
        self.hub = hub
        self.connected = threading.Event()
        # Set once the broker acknowledged the subscription: from then on no message is missed.
        self.subscribed = threading.Event()
        self._stopping = False
        client_id = f"trackside-dashboard-{socket.gethostname()[:32]}-{secrets.token_hex(3)}"
        self.client = make_paho_client(target, client_id)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *_args: self.subscribed.set()

    def start(self) -> None:
        t = self.target
        log.info("dashboard: MQTT %s:%d, following %s", t.host, t.port, self.state.subscription)
        self.client.connect_async(t.host, t.port, keepalive=t.keepalive)
        self.client.loop_start()

    def stop(self) -> None:
        self._stopping = True
        self.client.disconnect()
        self.client.loop_stop()

    def _on_connect(self, client: paho.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            log.error("dashboard: broker refused the connection: %s", reason)
            return
        client.subscribe(self.state.subscription, qos=1)
        self.connected.set()
        log.info("dashboard: connected to the broker")

    def _on_disconnect(self, *_args: Any) -> None:
        if self.connected.is_set() and not self._stopping:
            log.warning("dashboard: lost the broker; reconnecting")
        self.connected.clear()
        self.subscribed.clear()

    def _on_message(self, _c: Any, _u: Any, message: paho.MQTTMessage) -> None:
        try:
            self.hub.publish(self.state.apply(message.topic, bytes(message.payload)))
        except Exception:  # a bad message must never kill paho's thread
            log.exception("dashboard: handling %s failed", message.topic)

    def send_command(self, device_key: str, name: str, args: dict[str, Any]) -> str:
        """Validate and publish ``<device_key>/cmd/<name>``; returns its ``request_id``."""
        request_id = f"dash-{secrets.token_hex(6)}"
        payload = json.dumps({**args, "request_id": request_id}).encode()
        try:
            parse_command(name, payload)
        except CommandRejected as exc:
            raise CommandError(str(exc)) from None
        if not self.connected.is_set():
            raise CommandError("the dashboard is not connected to the broker")
        self.client.publish(f"{device_key}/cmd/{name}", payload, qos=1)
        log.info("dashboard: sent %s to %s (%s)", name, device_key, request_id)
        return request_id


class Dashboard:
    """The whole service: state, MQTT bridge and HTTP server (on its own thread)."""

    def __init__(
        self,
        settings: DashboardTarget,
        mqtt: MqttTarget,
        *,
        results_path: Path | None = None,
        athletes: tuple[str, ...] = (),
        heights: dict[str, float] | None = None,
        origin: str = "config",
    ) -> None:
        self.settings = settings
        self.state = DashboardState(
            settings.topic_root,
            history=settings.history,
            max_devices=settings.max_devices,
            heights=heights,
        )
        self.hub = EventHub()
        self.bridge = MqttBridge(mqtt, self.state, self.hub)
        self.results_path = results_path
        app = DashboardApp(
            self.state,
            self.hub,
            Auth(settings.password, loopback=settings.loopback),
            send_command=self.bridge.send_command,
            report=self._report,
            sessions=self._sessions,
            progress=self._progress,
            clips=self._clips,
            clip_file=self._clip_file,
            athletes=athletes,
            hosts=HostPolicy(settings.allowed_hosts),
        )
        try:
            self.server = make_server(
                app,
                settings.bind,
                settings.port,
                max_connections=settings.max_connections,
                max_connections_per_client=settings.max_connections_per_client,
            )
        except OSError as exc:
            raise ConfigError(
                f"{origin}: dashboard.bind/port: cannot listen on {settings.bind}:"
                f"{settings.port} ({exc.strerror or exc})"
            ) from None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    @property
    def url(self) -> str:
        host = self.settings.bind
        host = "127.0.0.1" if host in ("0.0.0.0", "::") else host
        return f"http://{f'[{host}]' if ':' in host else host}:{self.port}/"

    def start(self) -> None:
        self.bridge.start()
        self._thread = threading.Thread(
            target=self.server.serve_forever, name="dashboard-http", daemon=True
        )
        self._thread.start()
        log.info("dashboard: serving %s", self.url)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.bridge.stop()
        if self._thread is not None:
            self._thread.join(timeout=5)

    # --- the local results store (reports) ------------------------------------------------

    def _open_store(self) -> ResultStore:
        if self.results_path is None:
            raise ConfigError("no results store configured on this machine")
        return ResultStore(self.results_path, readonly=True)

    def _report(self, session_id: str, kind: str) -> tuple[bytes, str]:
        store = self._open_store()
        try:
            if kind == "csv":
                if store.session(session_id) is None:
                    raise ConfigError(f"no session {session_id!r} in {store.path}")
                return (
                    csv_text(session_id, store.strides(session_id)).encode(),
                    "text/csv; charset=utf-8",
                )
            return report_html(store, session_id).encode(), "text/html; charset=utf-8"
        finally:
            store.close()

    def _clip_store(self) -> ClipStore | None:
        if self.results_path is None:
            return None
        # The budget is the daemon's to keep; the dashboard only reads.
        return ClipStore(self.results_path.parent / CLIPS_DIRNAME, max_bytes=0)

    def _clips(self) -> list[dict[str, Any]]:
        store = self._clip_store()
        if store is None:
            return []
        return [{**asdict(c), "duration_s": c.duration_s} for c in store.list()]

    def _clip_file(self, name: str) -> bytes | None:
        store = self._clip_store()
        path = None if store is None else store.path_of(name)
        if path is None:
            return None
        try:
            return path.read_bytes()
        except OSError:
            return None

    def _progress(self, athlete: str, kind: str) -> tuple[bytes, str]:
        store = self._open_store()
        try:
            rows = athlete_progress(store, athlete)
        finally:
            store.close()
        if kind == "csv":
            return progress_csv(rows).encode(), "text/csv; charset=utf-8"
        return progress_page(athlete, rows).encode(), "text/html; charset=utf-8"

    def _sessions(self) -> list[dict[str, Any]]:
        try:
            store = self._open_store()
        except TracksideError as exc:  # none here, or not readable: no list, said once
            log.debug("dashboard: no sessions to list: %s", exc)
            return []
        try:
            return [
                {
                    "session_id": s.session_id,
                    "device_id": s.device_id,
                    "athlete": s.athlete,
                    "started": s.started,
                    "ended": s.ended,
                    "strides": s.strides,
                }
                for s in store.sessions()[:50]
            ]
        except TracksideError as exc:
            log.warning("dashboard: cannot list the sessions: %s", exc)
            return []
        finally:
            store.close()


def build_dashboard(
    dashboard: DashboardConfig,
    mqtt: MqttConfig,
    results: ResultsConfig,
    athletes: tuple[str, ...] = (),
    *,
    heights: dict[str, float] | None = None,
    origin: str = "config",
) -> Dashboard:
    """A :class:`Dashboard` from its config sections; ``origin`` names the file in errors.

    The settings go through :func:`~edge.dashboard.settings.dashboard_target`, the check
    ``trackside config check`` makes too, so the two always agree.
    """
    return Dashboard(
        dashboard_target(dashboard, origin=origin),
        resolve(mqtt, origin=origin),
        results_path=default_results_path(results.path) if results.enabled else None,
        athletes=athletes,
        heights=heights,
        origin=origin,
    )


def run_dashboard(dashboard: Dashboard) -> None:
    """``trackside dashboard``: serve until SIGTERM or SIGINT (call from the main thread)."""
    stop = threading.Event()
    previous = {s: signal.signal(s, lambda *_: stop.set()) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        dashboard.start()
        if not dashboard.settings.password and dashboard.settings.loopback:
            log.info("dashboard: no password set; only this machine can reach it")
        stop.wait()
        log.info("dashboard: stopping")
    finally:
        dashboard.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
