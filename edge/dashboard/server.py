"""The dashboard's web server: the page, a live event stream, the keyframe, commands, reports.

One asyncio event loop on its own thread serves every connection, and `h11
<https://h11.readthedocs.io>`_ (a small, pure-Python HTTP/1.1 state machine, no I/O of its
own) does the framing: request lines, headers, ``Content-Length`` and chunked bodies,
keep-alive.  So an open page costs a socket and a few kilobytes, not a thread, and a
request body is always read (or the connection closed) before the next request is parsed:
a body can never be taken for a request of its own (request smuggling).

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

What a hostile client or web page meets (issue 12):

* **limits**: a body over :data:`MAX_BODY` is refused (413) and the connection closed; a
  bad ``Content-Length`` is a 400; a request's head must arrive within
  :data:`HEAD_TIMEOUT_S` and its body within :data:`BODY_TIMEOUT_S`, an idle keep-alive
  connection is closed after :data:`IDLE_TIMEOUT_S`; connections are capped in all and per
  client address (``dashboard.max_connections``, ``max_connections_per_client``: beyond
  them a 503 and close).  Any protocol error closes the connection.
* **Host allow-list** on every request (:class:`HostPolicy`): DNS rebinding is refused.
* **cross-site requests**: a POST must carry ``Content-Type: application/json`` (a page
  elsewhere cannot send that without a CORS preflight, which is never granted) and, from a
  browser, an ``Origin`` equal to this server's (or ``Sec-Fetch-Site: same-origin``); the
  login cookie is ``SameSite=Strict``.
* **password guessing** is throttled per address on both login paths (see
  :mod:`edge.dashboard.auth`).
* error replies name no file, path or session id; the log never gets a body, a header or a
  query string, so no password reaches it at any level.

:class:`EventHub` fans events out to the open streams; a browser too slow to keep up is
disconnected (its ``EventSource`` reconnects and starts again from a fresh snapshot), so a
stuck phone never makes the server buffer without bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import logging
import re
import socket
import threading
import urllib.parse
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http import HTTPStatus
from importlib import resources
from typing import Any

import h11

from edge.dashboard.auth import Auth, Login
from edge.dashboard.state import DashboardState
from edge.errors import TracksideError
from edge.outputs.mqtt.payloads import decode

log = logging.getLogger(__name__)

STATIC_FILES = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/static/app.js": ("app.js", "text/javascript; charset=utf-8"),
    "/static/style.css": ("style.css", "text/css; charset=utf-8"),
}
CLIENT_QUEUE = 2000  # event chunks buffered per browser before it is dropped
HEARTBEAT_S = 15.0
MAX_BODY = 8192  # bytes: a command or a login is well under 1 KB
MAX_HEAD = 16384  # bytes of request line and headers
HEAD_TIMEOUT_S = 10.0  # a request's line and headers must arrive within this
BODY_TIMEOUT_S = 10.0
IDLE_TIMEOUT_S = 30.0  # a keep-alive connection with no new request is closed
WRITE_TIMEOUT_S = 10.0  # a client that reads nothing for this long is dropped
LOGIN_FAILURE_DELAY_S = 1.0  # a wrong password is answered this much later
_SESSION_ID = re.compile(r"[A-Za-z0-9_.\-]{1,64}")
_RANGE = re.compile(r"bytes=(\d*)-(\d*)")
_BUSY = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n"
    b"Content-Length: 17\r\nConnection: close\r\nRetry-After: 5\r\n\r\ntoo many requests"
)


class HostPolicy:
    """Which ``Host`` names a request may carry: IP addresses, loopback names, this
    machine's host name (also ``.local``) and the configured extra names."""

    def __init__(self, extra: Iterable[str] = (), *, hostname: str | None = None) -> None:
        own = (hostname or socket.gethostname()).lower().rstrip(".")
        short = own.split(".")[0]
        self.names = {"localhost", own, short, f"{short}.local", *(n.lower() for n in extra)}

    def allows(self, host_header: str | None) -> bool:
        if not host_header:
            return False
        host = host_header.strip().lower()
        if host.startswith("["):  # [v6] or [v6]:port
            name = host[1 : host.find("]")] if "]" in host else ""
        else:
            name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
        name = name.rstrip(".")
        if not name:
            return False
        try:
            ipaddress.ip_address(name)
            return True  # a page reached by address is this server's own origin
        except ValueError:
            return name in self.names or name.endswith(".localhost")


class EventHub:
    """Fans encoded SSE events out to every open stream (publish from any thread)."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._clients: set[asyncio.Queue[bytes | None]] = set()
        self.dropped = 0

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def subscribe(self) -> asyncio.Queue[bytes | None]:
        """A queue for one stream (on the server's loop)."""
        q: asyncio.Queue[bytes | None] = asyncio.Queue(CLIENT_QUEUE)
        self._clients.add(q)
        return q

    def unsubscribe(self, q: asyncio.Queue[bytes | None]) -> None:
        self._clients.discard(q)

    @property
    def clients(self) -> int:
        return len(self._clients)

    @staticmethod
    def encode(event: dict[str, Any]) -> bytes:
        data = json.dumps(event, separators=(",", ":"), allow_nan=False)
        return f"event: {event['type']}\ndata: {data}\n\n".encode()

    def publish(self, events: list[dict[str, Any]]) -> None:
        chunks = []
        for event in events:
            try:
                chunks.append(self.encode(event))
            except (ValueError, TypeError) as exc:  # the state refuses these: never expected
                log.warning("dashboard: event %s not sent: %s", event.get("type"), exc)
        loop = self._loop
        if not chunks or loop is None:
            return
        with contextlib.suppress(RuntimeError):  # the loop closed: the server is stopping
            loop.call_soon_threadsafe(self._deliver, b"".join(chunks))

    def _deliver(self, chunk: bytes) -> None:
        for q in list(self._clients):
            try:
                q.put_nowait(chunk)
            except asyncio.QueueFull:
                self.dropped += 1
                self._clients.discard(q)
                q.get_nowait()
                q.put_nowait(None)  # tell the stream to end; the browser reconnects

    def close(self) -> None:
        for q in list(self._clients):
            with contextlib.suppress(asyncio.QueueEmpty):
                q.get_nowait()
            q.put_nowait(None)
        self._clients.clear()


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
        hosts: HostPolicy | None = None,
        progress: Callable[[str, str], tuple[bytes, str]] | None = None,
        clips: Callable[[], list[dict[str, Any]]] | None = None,
        clip_file: Callable[[str], bytes | None] | None = None,
    ) -> None:
        self.progress = progress
        self.clips = clips
        self.clip_file = clip_file
        self.state = state
        self.hub = hub
        self.auth = auth
        self.send_command = send_command
        self.report = report
        self.sessions = sessions
        self.athletes = athletes
        self.hosts = hosts or HostPolicy()


class CommandError(Exception):
    """A command the dashboard refuses before it reaches MQTT (the message says why)."""


@dataclass
class Request:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    client: str
    body: bytes = b""

    def header(self, name: str) -> str | None:
        return self.headers.get(name)


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    close: bool = False


class EventStream:
    """The reply to ``/events``: served by :meth:`DashboardServer._stream`."""


def _json(status: int, data: Any, headers: dict[str, str] | None = None) -> Response:
    body = json.dumps(data, separators=(",", ":"), allow_nan=False).encode()
    return Response(status, body, headers=headers or {})


def _error(
    status: int, reason: str, *, headers: dict[str, str] | None = None, close: bool = False
) -> Response:
    reply = _json(status, {"ok": False, "reason": reason}, headers)
    reply.close = close
    return reply


_SECURITY_HEADERS = (
    ("Cache-Control", "no-store"),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "no-referrer"),
)


class Routes:
    """Request → response, for everything but the event stream's own writing."""

    def __init__(self, app: DashboardApp) -> None:
        self.app = app
        self._static: dict[str, bytes] = {}

    def _static_file(self, name: str) -> bytes:
        if name not in self._static:
            self._static[name] = (
                resources.files("edge.dashboard").joinpath("static", name).read_bytes()
            )
        return self._static[name]

    def _login_of(self, request: Request) -> Login:
        return self.app.auth.authenticate(
            request.header("cookie"), request.header("authorization"), request.client
        )

    @staticmethod
    def _throttled(request: Request) -> Response:
        return _error(
            HTTPStatus.TOO_MANY_REQUESTS,
            "too many wrong passwords from here: wait and try again",
            headers={"Retry-After": "60"},
        )

    async def handle(self, request: Request) -> Response | EventStream:
        if not self.app.hosts.allows(request.header("host")):
            log.warning(
                "dashboard: refused a request for host %r", (request.header("host") or "")[:80]
            )
            return _error(HTTPStatus.MISDIRECTED_REQUEST, "unknown host name", close=True)
        if request.method in ("GET", "HEAD"):
            return await self._get(request)
        if request.method == "POST":
            return await self._post(request)
        return Response(
            HTTPStatus.METHOD_NOT_ALLOWED,
            b"",
            "text/plain",
            {"Allow": "GET, HEAD, POST"},
        )

    async def _get(self, request: Request) -> Response | EventStream:
        path, app = request.path, self.app
        if path in STATIC_FILES:
            name, content_type = STATIC_FILES[path]
            return Response(HTTPStatus.OK, self._static_file(name), content_type)
        login = self._login_of(request)
        if login is Login.THROTTLED:
            return self._throttled(request)
        if path == "/api/auth":
            return _json(
                HTTPStatus.OK,
                {
                    "password_set": app.auth.password_set,
                    "view_needs_login": app.auth.view_needs_login,
                    "logged_in": app.auth.password_set and login is Login.OK,
                    "may_command": login is Login.OK,
                },
            )
        if app.auth.view_needs_login and login is not Login.OK:
            return _error(HTTPStatus.UNAUTHORIZED, "log in first")
        if path == "/events":
            return EventStream()
        if path == "/api/state":
            return Response(HTTPStatus.OK, snapshot_json(app, "state"))
        if path == "/keyframe":
            key = urllib.parse.parse_qs(request.query).get("device", [""])[0]
            jpeg = app.state.keyframe(key)
            if jpeg is None:
                return _error(HTTPStatus.NOT_FOUND, "no keyframe for that device")
            return Response(HTTPStatus.OK, jpeg, "image/jpeg")
        if path == "/api/sessions":
            if app.sessions is None:
                return _json(HTTPStatus.OK, {"sessions": []})
            sessions = await asyncio.get_running_loop().run_in_executor(None, app.sessions)
            return _json(HTTPStatus.OK, {"sessions": sessions})
        if path.startswith("/report/"):
            return await self._report(urllib.parse.unquote(path[len("/report/") :]))
        if path == "/api/clips":
            clips = app.clips
            listed = (
                []
                if clips is None
                else await asyncio.get_running_loop().run_in_executor(None, clips)
            )
            return _json(HTTPStatus.OK, {"clips": listed})
        if path.startswith("/clip/"):
            return await self._clip(urllib.parse.unquote(path[len("/clip/") :]), request)
        if path.startswith("/progress/"):
            return await self._progress(urllib.parse.unquote(path[len("/progress/") :]))
        return _error(HTTPStatus.NOT_FOUND, "no such page")

    async def _post(self, request: Request) -> Response:
        if not self._same_origin(request):
            log.warning("dashboard: refused a cross-site POST from %s", request.client)
            return _error(HTTPStatus.FORBIDDEN, "cross-origin request refused")
        content_type = (request.header("content-type") or "").split(";")[0].strip().lower()
        if content_type != "application/json":
            # A cross-site form cannot send JSON without a CORS preflight we never allow.
            return _error(HTTPStatus.BAD_REQUEST, "expected Content-Type: application/json")
        try:
            body = decode(request.body) if request.body.strip() else {}
        except (ValueError, RecursionError):
            return _error(HTTPStatus.BAD_REQUEST, "invalid JSON")
        path = request.path
        if path == "/api/login":
            return await self._login(body, request)
        if path == "/api/logout":
            return _json(HTTPStatus.OK, {"ok": True}, {"Set-Cookie": self.app.auth.clear_cookie()})
        if path == "/api/command":
            login = self._login_of(request)
            if login is Login.THROTTLED:
                return self._throttled(request)
            if login is not Login.OK:
                return _error(HTTPStatus.UNAUTHORIZED, "commands need the dashboard password")
            try:
                request_id = self._command(body)
            except CommandError as exc:
                return _error(HTTPStatus.BAD_REQUEST, str(exc))
            return _json(HTTPStatus.ACCEPTED, {"ok": True, "request_id": request_id})
        return _error(HTTPStatus.NOT_FOUND, "no such endpoint")

    def _same_origin(self, request: Request) -> bool:
        """A browser's POST must come from a page of this very server; a script's (no
        ``Origin``, no ``Sec-Fetch-Site``) is judged by its credentials alone."""
        origin = request.header("origin")
        if origin is not None:
            parts = urllib.parse.urlsplit(origin)
            host = (request.header("host") or "").lower()
            return parts.scheme in ("http", "https") and parts.netloc.lower() == host
        site = request.header("sec-fetch-site")
        return site is None or site in ("same-origin", "none")

    async def _login(self, body: Any, request: Request) -> Response:
        auth = self.app.auth
        if not auth.password_set:
            return _json(HTTPStatus.OK, {"ok": True})
        password = body.get("password") if isinstance(body, dict) else None
        outcome = auth.form_login(password, request.client)
        if outcome is Login.OK:
            return _json(HTTPStatus.OK, {"ok": True}, {"Set-Cookie": auth.make_cookie()})
        if outcome is Login.THROTTLED:
            return self._throttled(request)
        await asyncio.sleep(LOGIN_FAILURE_DELAY_S)
        return _error(HTTPStatus.UNAUTHORIZED, "wrong password")

    def _command(self, body: Any) -> str:
        if not isinstance(body, dict):
            raise CommandError("expected a JSON object")
        device, command, args = body.get("device"), body.get("command"), body.get("args", {})
        if not isinstance(device, str) or not self.app.state.knows(device):
            raise CommandError("unknown device")
        if not isinstance(command, str) or not isinstance(args, dict):
            raise CommandError("expected command (a name) and args (an object)")
        return self.app.send_command(device, command, args)

    async def _report(self, name: str) -> Response:
        report = self.app.report
        if report is None:
            return _error(HTTPStatus.NOT_FOUND, "no results store on this machine")
        kind = "csv" if name.endswith(".csv") else "html"
        session_id = name.removesuffix(".csv").removesuffix(".html")
        if not _SESSION_ID.fullmatch(session_id):
            return _error(HTTPStatus.NOT_FOUND, "no such session")
        loop = asyncio.get_running_loop()
        try:
            body, content_type = await loop.run_in_executor(None, report, session_id, kind)
        except TracksideError as exc:
            log.debug("dashboard: report %s: %s", session_id, exc)
            return _error(HTTPStatus.NOT_FOUND, "no such session")
        headers = {}
        if kind == "csv":
            headers["Content-Disposition"] = f'attachment; filename="{session_id}-strides.csv"'
        return Response(HTTPStatus.OK, body, content_type, headers)

    async def _clip(self, name: str, request: Request) -> Response:
        """A pass clip; a ``Range`` request (a video element seeking) gets its part (206)."""
        if self.app.clip_file is None:
            return _error(HTTPStatus.NOT_FOUND, "no clips on this machine")
        data = await asyncio.get_running_loop().run_in_executor(None, self.app.clip_file, name)
        if data is None:
            return _error(HTTPStatus.NOT_FOUND, "no such clip")
        kind = "video/webm" if name.endswith(".webm") else "video/mp4"
        headers = {"Accept-Ranges": "bytes"}
        match = _RANGE.fullmatch((request.header("range") or "").strip())
        if match and data and (match.group(1) or match.group(2)):
            first, last, size = match.group(1), match.group(2), len(data)
            if first:
                start, end = int(first), min(int(last) if last else size - 1, size - 1)
            else:  # "bytes=-N": the last N bytes
                start, end = max(0, size - int(last)), size - 1
            if start > end:
                headers["Content-Range"] = f"bytes */{len(data)}"
                return Response(HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE, b"", kind, headers)
            headers["Content-Range"] = f"bytes {start}-{end}/{len(data)}"
            return Response(HTTPStatus.PARTIAL_CONTENT, data[start : end + 1], kind, headers)
        return Response(HTTPStatus.OK, data, kind, headers)

    async def _progress(self, name: str) -> Response:
        """An athlete's sessions over time (``/progress/ana``, ``/progress/ana.csv``)."""
        progress = self.app.progress
        kind = "csv" if name.endswith(".csv") else "html"
        athlete = name.removesuffix(".csv")
        if progress is None or not _SESSION_ID.fullmatch(athlete):
            return _error(HTTPStatus.NOT_FOUND, "no such athlete")
        loop = asyncio.get_running_loop()
        try:
            body, content_type = await loop.run_in_executor(None, progress, athlete, kind)
        except TracksideError as exc:
            log.debug("dashboard: progress %s: %s", athlete, exc)
            return _error(HTTPStatus.NOT_FOUND, "no results store on this machine")
        headers = {}
        if kind == "csv":
            headers["Content-Disposition"] = f'attachment; filename="{athlete}-progress.csv"'
        return Response(HTTPStatus.OK, body, content_type, headers)


def snapshot_json(app: DashboardApp, kind: str) -> bytes:
    """The snapshot as JSON; a device whose view cannot be encoded is left out (logged), so
    one device's bad data never blanks the others."""
    snapshot = {**app.state.snapshot(), "athletes": list(app.athletes)}
    if kind == "snapshot":
        snapshot = {"type": "snapshot", **snapshot}
    try:
        return json.dumps(snapshot, separators=(",", ":"), allow_nan=False).encode()
    except (ValueError, TypeError):
        pass
    kept = []
    for device in snapshot["devices"]:
        try:
            json.dumps(device, allow_nan=False)
            kept.append(device)
        except (ValueError, TypeError) as exc:
            log.warning("dashboard: device %s left out of the snapshot: %s", device["key"], exc)
    snapshot["devices"] = kept
    return json.dumps(snapshot, separators=(",", ":"), allow_nan=False).encode()


class _Closed(Exception):
    """The connection is to be closed (the client left, timed out or broke the protocol)."""


class DashboardServer:
    """The HTTP server: an asyncio loop on the thread that calls :meth:`serve_forever`."""

    def __init__(
        self,
        app: DashboardApp,
        bind: str,
        port: int,
        *,
        max_connections: int = 256,
        max_connections_per_client: int = 32,
    ) -> None:
        self.app = app
        self.routes = Routes(app)
        self.max_connections = max_connections
        self.max_connections_per_client = max_connections_per_client
        family = socket.AF_INET6 if ":" in bind else socket.AF_INET
        self._socket = socket.socket(family, socket.SOCK_STREAM)
        try:
            self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self._socket.bind((bind, port))
            self._socket.listen(128)
        except OSError:
            self._socket.close()
            raise
        self._socket.setblocking(False)
        self.server_address = self._socket.getsockname()
        self._loop = asyncio.new_event_loop()
        self._stopped = asyncio.Event()
        self._finished = threading.Event()
        self._serving = False  # serve_forever was called
        self._per_client: Counter[str] = Counter()
        self._tasks: set[asyncio.Task[None]] = set()
        # Connections waiting for a request to arrive whole (keep-alive idle, or a head or
        # body still trickling in), with the loop time they began waiting.
        self._waiting: dict[asyncio.Task[Any], float] = {}
        self.refused = 0  # connections refused at the caps
        self.evicted = 0  # waiting connections closed to make room for a new client
        self._evicting: set[asyncio.Task[Any]] = set()
        self.app.hub.attach(self._loop)

    @property
    def connections(self) -> int:
        return sum(self._per_client.values()) - len(self._evicting)

    # --- life cycle ------------------------------------------------------------------------

    def serve_forever(self) -> None:
        """Serve until :meth:`shutdown` (call on the server's own thread)."""
        asyncio.set_event_loop(self._loop)
        self._serving = True
        try:
            self._loop.run_until_complete(self._serve())
        finally:
            self._loop.close()
            self._finished.set()

    async def _serve(self) -> None:
        server = await asyncio.start_server(self._accepted, sock=self._socket, limit=MAX_HEAD)
        try:
            await self._stopped.wait()
        finally:
            self.app.hub.close()
            server.close()
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            await server.wait_closed()
            await asyncio.sleep(0)  # let closed transports run their last callbacks

    def shutdown(self, timeout: float = 5.0) -> None:
        """Stop serving and close every connection (from another thread); returns when the
        server has stopped, or after ``timeout`` seconds."""
        if self._loop.is_closed() or not self._serving:
            return
        with contextlib.suppress(RuntimeError):  # closed meanwhile
            self._loop.call_soon_threadsafe(self._stopped.set)
        self._finished.wait(timeout)

    def server_close(self) -> None:
        if self._finished.is_set() or not self._serving:
            self._socket.close()

    # --- connections -----------------------------------------------------------------------

    async def _accepted(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        client = str(peer[0]) if peer else "?"
        if (
            self.connections >= self.max_connections
            and self._per_client[client] < self.max_connections_per_client
        ):
            self._evict_oldest_waiting()
        if (
            self.connections >= self.max_connections
            or self._per_client[client] >= self.max_connections_per_client
        ):
            self.refused += 1
            if self.refused == 1 or self.refused % 100 == 0:
                log.warning(
                    "dashboard: refused %d connection(s) at the caps (%d open; this one from %s)",
                    self.refused,
                    self.connections,
                    client,
                )
            with contextlib.suppress(OSError):
                writer.write(_BUSY)
                writer.close()
            return
        self._per_client[client] += 1
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await self._serve_connection(reader, writer, client)
        except (_Closed, ConnectionError, asyncio.IncompleteReadError, TimeoutError, OSError):
            pass
        except asyncio.CancelledError:
            pass
        except Exception:
            log.exception("dashboard: request from %s failed", client)
        finally:
            self._tasks.discard(task)
            self._waiting.pop(task, None)
            self._evicting.discard(task)
            self._per_client[client] -= 1
            if self._per_client[client] <= 0:
                del self._per_client[client]
            writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), 1.0)

    def _evict_oldest_waiting(self) -> None:
        """At the total cap, a new client gets the place of the connection that has waited
        longest without sending a whole request: idle keep-alives and slowloris trickles
        go, streams and requests being served stay."""
        if not self._waiting:
            return
        oldest = min(self._waiting, key=self._waiting.__getitem__)
        del self._waiting[oldest]
        oldest.cancel()
        self._evicting.add(oldest)  # counted as closed now: its task cleans up when it wakes
        self.evicted += 1
        if self.evicted == 1 or self.evicted % 100 == 0:
            log.warning(
                "dashboard: %d waiting connection(s) closed to make room (at %d connections)",
                self.evicted,
                self.max_connections,
            )

    async def _serve_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, client: str
    ) -> None:
        conn = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEAD)
        task = asyncio.current_task()
        assert task is not None
        loop = asyncio.get_running_loop()
        while True:
            self._waiting[task] = loop.time()
            try:
                request = await self._read_request(conn, reader, client)
            except h11.RemoteProtocolError as exc:
                # Nothing of the request is echoed or logged: it may hold a password.
                status = exc.error_status_hint
                log.debug("dashboard: %s sent a malformed request (HTTP %d)", client, status)
                await self._send_error(conn, writer, status, "malformed request")
                return
            except _TooLarge:
                await self._send_error(
                    conn, writer, HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "too large"
                )
                return
            finally:
                self._waiting.pop(task, None)
            if request is None:
                return
            try:
                reply = await self.routes.handle(request)
            except Exception:  # a bug: the client gets a reply, the log the traceback
                log.exception("dashboard: %s %s failed", request.method, request.path[:200])
                reply = _error(HTTPStatus.INTERNAL_SERVER_ERROR, "internal error", close=True)
            if isinstance(reply, EventStream):
                await self._stream(conn, writer, request)
                return
            await self._respond(conn, writer, request, reply)
            log.debug(
                "dashboard: %s %s %s -> %d",
                client,
                request.method,
                request.path[:200],
                reply.status,
            )
            if reply.close or conn.our_state is h11.MUST_CLOSE:
                return
            try:
                conn.start_next_cycle()
            except h11.LocalProtocolError:
                return  # the client's side is not done or said it would close: close

    async def _read_request(
        self, conn: h11.Connection, reader: asyncio.StreamReader, client: str
    ) -> Request | None:
        """The next request with its whole body, or ``None`` when the client is done.

        Waiting for a request to begin may take a while (keep-alive); once it has begun, its
        head and then its body must arrive promptly, so a trickle holds nothing for long.
        """
        loop = asyncio.get_running_loop()
        event = await _next_event(conn, reader, loop.time() + IDLE_TIMEOUT_S, then_s=HEAD_TIMEOUT_S)
        if isinstance(event, h11.ConnectionClosed):
            return None
        if not isinstance(event, h11.Request):
            raise _Closed()
        method = event.method.decode("ascii", "replace")
        target = urllib.parse.urlsplit(event.target.decode("latin-1"))
        headers: dict[str, str] = {}
        for raw_name, raw_value in event.headers:
            name = raw_name.decode("latin-1")
            if name in headers and name in _SINGLE_HEADERS:
                raise h11.RemoteProtocolError(f"repeated {name} header", 400)
            headers.setdefault(name, raw_value.decode("latin-1"))
        length = headers.get("content-length")
        if length is not None and int(length) > MAX_BODY:  # h11 checked that it is digits
            raise _TooLarge()
        body = bytearray()
        deadline = loop.time() + BODY_TIMEOUT_S
        while True:
            event = await _next_event(conn, reader, deadline)
            if isinstance(event, h11.Data):
                body += event.data
                if len(body) > MAX_BODY:
                    raise _TooLarge()
            elif isinstance(event, h11.EndOfMessage):
                break
            else:
                raise _Closed()
        return Request(method, target.path or "/", target.query, headers, client, bytes(body))

    async def _respond(
        self, conn: h11.Connection, writer: asyncio.StreamWriter, request: Request, reply: Response
    ) -> None:
        headers = [
            ("Content-Type", reply.content_type),
            ("Content-Length", str(len(reply.body))),
            *_SECURITY_HEADERS,
            *reply.headers.items(),
        ]
        if reply.close:
            headers.append(("Connection", "close"))
        data = conn.send(
            h11.Response(status_code=reply.status, headers=headers, reason=_reason(reply.status))
        )
        if request.method != "HEAD" and reply.body:
            data += conn.send(h11.Data(data=reply.body))
        data += conn.send(h11.EndOfMessage())
        await _write(writer, data)

    async def _send_error(
        self, conn: h11.Connection, writer: asyncio.StreamWriter, status: int, reason: str
    ) -> None:
        """A last reply before closing, if the connection is still in a state to send one."""
        if conn.our_state not in (h11.IDLE, h11.SEND_RESPONSE):
            return
        body = json.dumps({"ok": False, "reason": reason}).encode()
        headers = [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(body))),
            ("Connection", "close"),
            *_SECURITY_HEADERS,
        ]
        try:
            data = conn.send(
                h11.Response(status_code=status, headers=headers, reason=_reason(status))
            )
            data += conn.send(h11.Data(data=body)) + conn.send(h11.EndOfMessage())
        except h11.LocalProtocolError:
            return
        await _write(writer, data)

    async def _stream(
        self, conn: h11.Connection, writer: asyncio.StreamWriter, request: Request
    ) -> None:
        """Server-sent events: the snapshot, then every change until the client goes, is
        too slow (the hub drops it) or the server stops.  No length: h11 sends it chunked."""
        hub = self.app.hub
        queue = hub.subscribe()
        try:
            headers = [
                ("Content-Type", "text/event-stream"),
                ("Cache-Control", "no-store"),
                ("X-Accel-Buffering", "no"),
                ("X-Content-Type-Options", "nosniff"),
            ]
            data = conn.send(h11.Response(status_code=200, headers=headers, reason=b"OK"))
            if request.method == "HEAD":
                await _write(writer, data + conn.send(h11.EndOfMessage()))
                return
            snapshot = b"event: snapshot\ndata: " + snapshot_json(self.app, "snapshot") + b"\n\n"
            await _write(writer, data + conn.send(h11.Data(data=b"retry: 2000\n\n" + snapshot)))
            while True:
                try:
                    chunk = await asyncio.wait_for(queue.get(), HEARTBEAT_S)
                except TimeoutError:
                    chunk = b": ping\n\n"  # finds dead connections, keeps proxies open
                if chunk is None:
                    break
                await _write(writer, conn.send(h11.Data(data=chunk)))
            with contextlib.suppress(h11.LocalProtocolError):
                await _write(writer, conn.send(h11.EndOfMessage()))
        finally:
            hub.unsubscribe(queue)


class _TooLarge(Exception):
    """A request body over :data:`MAX_BODY`."""


# Headers whose second copy would make the request ambiguous (smuggling, confused checks).
_SINGLE_HEADERS = ("host", "content-length", "content-type", "origin", "authorization", "cookie")


def _reason(status: int) -> bytes:
    try:
        return HTTPStatus(status).phrase.encode()
    except ValueError:
        return b""


async def _next_event(
    conn: h11.Connection,
    reader: asyncio.StreamReader,
    deadline: float,
    *,
    then_s: float | None = None,
) -> Any:
    """The next h11 event, reading as needed until the loop time ``deadline``; with
    ``then_s``, the deadline becomes ``then_s`` after the first byte arrives."""
    loop = asyncio.get_running_loop()
    while True:
        event = conn.next_event()
        if event is not h11.NEED_DATA:
            return event
        left = deadline - loop.time()
        if left <= 0:
            raise _Closed()
        try:
            data = await asyncio.wait_for(reader.read(8192), left)
        except TimeoutError:
            raise _Closed() from None
        conn.receive_data(data)
        if then_s is not None and data:
            deadline, then_s = loop.time() + then_s, None


async def _write(writer: asyncio.StreamWriter, data: bytes) -> None:
    """Send, waiting at most :data:`WRITE_TIMEOUT_S` for a client that reads nothing."""
    writer.write(data)
    try:
        await asyncio.wait_for(writer.drain(), WRITE_TIMEOUT_S)
    except TimeoutError:
        raise _Closed() from None


def make_server(
    app: DashboardApp,
    bind: str,
    port: int,
    *,
    max_connections: int = 256,
    max_connections_per_client: int = 32,
) -> DashboardServer:
    """An HTTP server for ``app`` listening on ``bind:port`` (port 0: any free port)."""
    return DashboardServer(
        app,
        bind,
        port,
        max_connections=max_connections,
        max_connections_per_client=max_connections_per_client,
    )
