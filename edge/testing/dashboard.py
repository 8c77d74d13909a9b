"""Dashboard test doubles: a reader for its event stream and a running dashboard.

:class:`SseClient` reads ``/events`` on a thread and records every server-sent event;
:func:`start_dashboard` starts a real :class:`~edge.dashboard.Dashboard` on a free loopback
port, subscribed to a broker; :func:`publisher_config` is a device publisher's config for
the same broker.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any


class SseClient:
    """Reads ``/events`` on a thread, recording ``(arrival monotonic time, type, data)``."""

    def __init__(self, url: str, headers: dict[str, str] | None = None) -> None:
        request = urllib.request.Request(url, headers=headers or {})
        self.response = urllib.request.urlopen(request, timeout=30)
        self.events: list[tuple[float, str, dict[str, Any]]] = []
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        kind, data = "", []
        try:
            for raw in self.response:
                line = raw.decode().rstrip("\n")
                if line.startswith("event: "):
                    kind = line[7:]
                elif line.startswith("data: "):
                    data.append(line[6:])
                elif not line and data:
                    event = (time.monotonic(), kind, json.loads("".join(data)))
                    with self._cond:
                        self.events.append(event)
                        self._cond.notify_all()
                    kind, data = "", []
        except (OSError, ValueError):
            pass

    def wait_for(self, predicate, timeout: float = 10.0) -> list[tuple[float, str, dict]]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while not predicate(self.events):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    kinds = [k for _, k, _ in self.events]
                    raise TimeoutError(f"condition not met within {timeout} s; events {kinds}")
                self._cond.wait(remaining)
            return list(self.events)

    def close(self) -> None:
        # Shut the socket down first: closing the response alone waits for the reader
        # thread's blocked read (until the server's next heartbeat).
        with contextlib.suppress(AttributeError, OSError):
            self.response.fp.raw._sock.shutdown(socket.SHUT_RDWR)
        self._thread.join(timeout=5)
        self.response.close()


def publisher_config(port: int, device_id: str, outbox: Path) -> Any:
    from edge.outputs.mqtt import MqttConfig

    return MqttConfig(
        host="127.0.0.1",
        port=port,
        device_id=device_id,
        outbox_path=str(outbox),
        homeassistant=False,
        reconnect_min_s=1,
        reconnect_max_s=1,
    )


def start_dashboard(
    port: int,
    *,
    bind: str = "127.0.0.1",
    password: str = "",
    results_path: Path | None = None,
    athletes: tuple[str, ...] = (),
    heights: dict[str, float] | None = None,
) -> Any:
    """A started :class:`~edge.dashboard.Dashboard` on a free port, connected to the broker."""
    from edge.dashboard import Dashboard, DashboardConfig, resolve_dashboard
    from edge.outputs.mqtt import MqttConfig, resolve

    settings = resolve_dashboard(DashboardConfig(bind=bind, port=1, password=password))
    settings = type(settings)(**{**settings.__dict__, "port": 0})
    mqtt = resolve(
        MqttConfig(
            host="127.0.0.1",
            port=port,
            device_id="dashboard-test",
            reconnect_min_s=1,
            reconnect_max_s=1,
        )
    )
    dashboard = Dashboard(
        settings, mqtt, results_path=results_path, athletes=athletes, heights=heights
    )
    dashboard.start()
    if not dashboard.bridge.subscribed.wait(10):
        dashboard.stop()
        raise TimeoutError("dashboard did not subscribe on the broker within 10 s")
    return dashboard


_CHILD = """
import json, logging, signal, sys, threading
from edge.dashboard import Dashboard, DashboardConfig, resolve_dashboard
from edge.logs import setup_logging
from edge.outputs.mqtt import MqttConfig, resolve
options = json.loads(sys.argv[1])
setup_logging(options.pop("log_level"))
logging.getLogger("edge").handlers[0].setStream(sys.stderr)  # stdout says "ready"
broker = options.pop("broker")
results = options.pop("results_path")
settings = resolve_dashboard(DashboardConfig(**{**options, "port": 1}))
settings = type(settings)(**{**settings.__dict__, "port": 0})
mqtt = resolve(MqttConfig(host="127.0.0.1", port=broker, device_id="dashboard-child",
                          reconnect_min_s=1, reconnect_max_s=1))
d = Dashboard(settings, mqtt, results_path=results and __import__("pathlib").Path(results))
d.start()
d.bridge.subscribed.wait(10)
stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stop.set())
print("ready", d.port, flush=True)
stop.wait()
d.stop()
"""


class DashboardProcess:
    """A real dashboard in a child process (its memory measured apart from the test's),
    following the broker on ``broker_port``; ``options`` are ``[dashboard]`` settings.
    Its log (``log_level``) is kept in :attr:`log_path`."""

    def __init__(
        self,
        broker_port: int,
        log_path: Path,
        *,
        log_level: str = "info",
        results_path: Path | None = None,
        **options: Any,
    ) -> None:
        import subprocess
        import sys

        self.log_path = log_path
        settings = {
            **options,
            "broker": broker_port,
            "log_level": log_level,
            "results_path": str(results_path) if results_path else "",
        }
        repo = Path(__file__).resolve().parents[2]
        self._log = log_path.open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-c", _CHILD, json.dumps(settings)],
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
            cwd=repo,
        )
        assert self.process.stdout is not None
        ready = self.process.stdout.readline().split()
        if not ready or ready[0] != "ready":
            self.stop()
            raise RuntimeError(f"dashboard child did not start: {log_path.read_text()[-2000:]}")
        self.port = int(ready[1])
        self.url = f"http://127.0.0.1:{self.port}/"

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError("no VmRSS")

    def threads(self) -> int:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("Threads:"):
                return int(line.split()[1])
        raise RuntimeError("no Threads")

    def log_text(self) -> str:
        self._log.flush()
        return self.log_path.read_text()

    def stop(self) -> None:
        import subprocess

        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self._log.close()
