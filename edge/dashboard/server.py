"""The dashboard's web server: the page, a live event stream, the keyframe, commands, reports.

Built on the standard library's :class:`~http.server.ThreadingHTTPServer`: nothing to
install on the Pi, and server-sent events (SSE) need no more than a long-lived response.
A handful of coaches' browsers is the expected load; each open page holds one thread.

Routes::

    GET  /                      the page (static/index.html, app.js, style.css)
    GET  /events                SSE: a "snapshot" event, then one event per change
    GET  /api/state             the same snapshot as JSON
    GET  /api/auth              whether a login is needed / done
    POST /api/login, /api/logout
    GET  /keyframe?device=KEY   the device's latest keyframe JPEG
    POST /api/command           {"device": KEY, "command": NAME, "args": {...}} → MQTT
    GET  /api/sessions          sessions in this device's results store
    GET  /report/SESSION        the HTML report; /report/SESSION.csv the strides CSV

:class:`EventHub` fans events out to the open streams; a browser too slow to keep up is
disconnected (its ``EventSource`` reconnects and starts again from a fresh snapshot), so a
stuck phone never makes the server buffer without bound.
"""

from __future__ import annotations

import contextlib
import json
import logging
import queue
import socket
import threading
import time
import urllib.parse
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any

from edge.dashboard.auth import Auth
from edge.dashboard.state import DashboardState
from edge.errors import TracksideError

log = logging.getLogger(__name__)

STATIC_FILES = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/static/app.js": ("app.js", "text/javascript; charset=utf-8"),
    "/static/style.css": ("style.css", "text/css; charset=utf-8"),
}
CLIENT_QUEUE = 2000  # events buffered per browser before it is dropped
HEARTBEAT_S = 15.0
MAX_BODY = 8192


class EventHub:
    """Fans encoded SSE events out to every open stream."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._clients: set[queue.Queue[bytes | None]] = set()
        self.dropped = 0

    def subscribe(self) -> queue.Queue[bytes | None]:
        q: queue.Queue[bytes | None] = queue.Queue(CLIENT_QUEUE)
        with self._lock:
            self._clients.add(q)
        return q

    def unsubscribe(self, q: queue.Queue[bytes | None]) -> None:
        with self._lock:
            self._clients.discard(q)

    @property
    def clients(self) -> int:
        with self._lock:
            return len(self._clients)

    @staticmethod
    def encode(event: dict[str, Any]) -> bytes:
        data = json.dumps(event, separators=(",", ":"), allow_nan=False)
        return f"event: {event['type']}\ndata: {data}\n\n".encode()

    def publish(self, events: list[dict[str, Any]]) -> None:
        if not events:
            return
        chunk = b"".join(self.encode(e) for e in events)
        with self._lock:
            clients = list(self._clients)
        for q in clients:
            try:
                q.put_nowait(chunk)
            except queue.Full:
                self.dropped += 1
                self.unsubscribe(q)
                with contextlib.suppress(queue.Full):
                    q.get_nowait()
                    q.put_nowait(None)  # tell the stream to end; the browser reconnects

    def close(self) -> None:
        with self._lock:
            clients, self._clients = list(self._clients), set()
        for q in clients:
            with contextlib.suppress(queue.Full):
                q.put_nowait(None)


class DashboardApp:
    """What the request handlers need: state, hub, auth, the command sender, the store."""

    def __init__(
        self,
        state: DashboardState,
        hub: EventHub,
        auth: Auth,
        *,
        send_command: Callable[[str, str, dict[str, Any]], str],
        report: Callable[[str, str], tuple[bytes, str]] | None = None,
        sessions: Callable[[], list[dict[str, Any]]] | None = None,
        athletes: tuple[str, ...] = (),
    ) -> None:
        self.state = state
        self.hub = hub
        self.auth = auth
        self.send_command = send_command
        self.report = report
        self.sessions = sessions
        self.athletes = athletes


class CommandError(Exception):
    """A command the dashboard refuses before it reaches MQTT (the message says why)."""


class Handler(BaseHTTPRequestHandler):
    server_version = "TracksideDashboard"
    protocol_version = "HTTP/1.1"
    app: DashboardApp  # set on a subclass by make_server

    # --- plumbing --------------------------------------------------------------------------

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)

    def _send(
        self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("X-Frame-Options", "DENY")
        self.send_header("Referrer-Policy", "no-referrer")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, data: Any, headers: dict[str, str] | None = None) -> None:
        body = json.dumps(data, separators=(",", ":"), allow_nan=False).encode()
        self._send(status, body, "application/json", headers)

    def _error(self, status: int, message: str) -> None:
        self._json(status, {"ok": False, "reason": message})

    def _creds(self) -> tuple[str | None, str | None]:
        return self.headers.get("Cookie"), self.headers.get("Authorization")

    def _may_view(self) -> bool:
        if self.app.auth.may_view(*self._creds()):
            return True
        self._error(HTTPStatus.UNAUTHORIZED, "log in first")
        return False

    def _body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            raise CommandError(f"request too large ({length} bytes)")
        if not (self.headers.get("Content-Type") or "").startswith("application/json"):
            # A cross-site form cannot send JSON without a CORS preflight we never allow.
            raise CommandError("expected Content-Type: application/json")
        try:
            return json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            raise CommandError("invalid JSON") from None

    def _same_origin(self) -> bool:
        origin = self.headers.get("Origin")
        if origin is None:
            return True
        return urllib.parse.urlsplit(origin).netloc == self.headers.get("Host")

    # --- routes ----------------------------------------------------------------------------

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        path = url.path
        if path in STATIC_FILES:
            name, content_type = STATIC_FILES[path]
            body = resources.files("edge.dashboard").joinpath("static", name).read_bytes()
            self._send(HTTPStatus.OK, body, content_type)
        elif path == "/api/auth":
            auth = self.app.auth
            self._json(
                HTTPStatus.OK,
                {
                    "password_set": auth.password_set,
                    "view_needs_login": auth.view_needs_login,
                    "logged_in": auth.password_set and auth.logged_in(*self._creds()),
                    "may_command": auth.may_command(*self._creds()),
                },
            )
        elif not self._may_view():
            return
        elif path == "/events":
            self._events()
        elif path == "/api/state":
            self._json(
                HTTPStatus.OK, {**self.app.state.snapshot(), "athletes": list(self.app.athletes)}
            )
        elif path == "/keyframe":
            key = urllib.parse.parse_qs(url.query).get("device", [""])[0]
            jpeg = self.app.state.keyframe(key)
            if jpeg is None:
                self._error(HTTPStatus.NOT_FOUND, f"no keyframe from {key!r}")
            else:
                self._send(HTTPStatus.OK, jpeg, "image/jpeg")
        elif path == "/api/sessions":
            if self.app.sessions is None:
                self._json(HTTPStatus.OK, {"sessions": []})
            else:
                self._json(HTTPStatus.OK, {"sessions": self.app.sessions()})
        elif path.startswith("/report/"):
            self._report(urllib.parse.unquote(path[len("/report/") :]))
        else:
            self._error(HTTPStatus.NOT_FOUND, f"no page {path}")

    def do_POST(self) -> None:
        path = urllib.parse.urlsplit(self.path).path
        if not self._same_origin():
            self._error(HTTPStatus.FORBIDDEN, "cross-origin request refused")
            return
        try:
            body = self._body()
        except CommandError as exc:
            self._error(HTTPStatus.BAD_REQUEST, str(exc))
            return
        if path == "/api/login":
            self._login(body)
        elif path == "/api/logout":
            self._json(HTTPStatus.OK, {"ok": True}, {"Set-Cookie": self.app.auth.clear_cookie()})
        elif path == "/api/command":
            if not self.app.auth.may_command(*self._creds()):
                self._error(HTTPStatus.UNAUTHORIZED, "commands need the dashboard password")
                return
            try:
                request_id = self._command(body)
            except CommandError as exc:
                self._error(HTTPStatus.BAD_REQUEST, str(exc))
                return
            self._json(HTTPStatus.ACCEPTED, {"ok": True, "request_id": request_id})
        else:
            self._error(HTTPStatus.NOT_FOUND, f"no endpoint {path}")

    def _login(self, body: Any) -> None:
        auth = self.app.auth
        password = body.get("password") if isinstance(body, dict) else None
        if not auth.password_set:
            self._json(HTTPStatus.OK, {"ok": True})
        elif isinstance(password, str) and auth.check_password(password):
            self._json(HTTPStatus.OK, {"ok": True}, {"Set-Cookie": auth.make_cookie()})
        else:
            time.sleep(1.0)  # slows password guessing down; this thread serves only this call
            log.warning("dashboard: failed login from %s", self.address_string())
            self._error(HTTPStatus.UNAUTHORIZED, "wrong password")

    def _command(self, body: Any) -> str:
        if not isinstance(body, dict):
            raise CommandError("expected a JSON object")
        device, command, args = body.get("device"), body.get("command"), body.get("args", {})
        if not isinstance(device, str) or not self.app.state.knows(device):
            raise CommandError(f"unknown device {device!r}")
        if not isinstance(command, str) or not isinstance(args, dict):
            raise CommandError("expected command (a name) and args (an object)")
        return self.app.send_command(device, command, args)

    def _report(self, name: str) -> None:
        if self.app.report is None:
            self._error(HTTPStatus.NOT_FOUND, "no results store on this machine")
            return
        kind = "csv" if name.endswith(".csv") else "html"
        session_id = name.removesuffix(".csv").removesuffix(".html")
        try:
            body, content_type = self.app.report(session_id, kind)
        except TracksideError as exc:
            self._error(HTTPStatus.NOT_FOUND, str(exc))
            return
        headers = {}
        if kind == "csv":
            headers["Content-Disposition"] = f'attachment; filename="{session_id}-strides.csv"'
        self._send(HTTPStatus.OK, body, content_type, headers)

    def _events(self) -> None:
        hub = self.app.hub
        q = hub.subscribe()
        try:
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-store")
            self.send_header("X-Accel-Buffering", "no")
            self.end_headers()
            snapshot = {
                "type": "snapshot",
                **self.app.state.snapshot(),
                "athletes": list(self.app.athletes),
            }
            self.wfile.write(b"retry: 2000\n\n" + hub.encode(snapshot))
            self.wfile.flush()
            while True:
                try:
                    chunk = q.get(timeout=HEARTBEAT_S)
                except queue.Empty:
                    chunk = b": ping\n\n"  # finds dead connections, keeps proxies open
                if chunk is None:
                    break
                self.wfile.write(chunk)
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, TimeoutError, OSError):
            pass
        finally:
            hub.unsubscribe(q)
            self.close_connection = True


class DashboardServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class DashboardServer6(DashboardServer):
    """The same server on an IPv6 address."""

    address_family = socket.AF_INET6


def make_server(app: DashboardApp, bind: str, port: int) -> DashboardServer:
    """An HTTP server for ``app`` listening on ``bind:port`` (port 0: any free port)."""
    handler = type("BoundHandler", (Handler,), {"app": app})
    family_server: type[DashboardServer] = DashboardServer
    if ":" in bind:  # an IPv6 address
        family_server = DashboardServer6
    return family_server((bind, port), handler)
