"""What each URL of the dashboard answers: the page, the API, the keyframe, commands,
reports, pass clips and progress pages (:class:`Routes`, over a :class:`DashboardApp`).

The HTTP framing, connection limits and the event stream's writing are
:mod:`edge.dashboard.server`'s; here a parsed :class:`Request` becomes a :class:`Response`
(or :class:`EventStream` for ``/events``)::

    GET  /                      the page (static/index.html, app.js, style.css)
    GET  /events                SSE: a "snapshot" event, then one event per change
    GET  /api/state             the same snapshot as JSON
    GET  /api/auth              whether a login is needed / done
    POST /api/login, /api/logout
    GET  /keyframe?device=KEY   the device's latest keyframe JPEG
    POST /api/command           {"device": KEY, "command": NAME, "args": {...}} → MQTT
    GET  /api/sessions          sessions in this device's results store
    GET  /report/SESSION        the HTML report; /report/SESSION.csv the strides CSV
    GET  /api/clips, /clip/NAME the pass clips kept here; a clip (with Range requests)
    GET  /progress/ATHLETE      an athlete's sessions over time (.csv: the same as CSV)

What a hostile page or client meets here (issue 12; the transport limits are the server's):

* **Host allow-list** on every request (:class:`HostPolicy`): DNS rebinding is refused.
* **cross-site requests**: a POST must carry ``Content-Type: application/json`` (a page
  elsewhere cannot send that without a CORS preflight, which is never granted) and, from a
  browser, an ``Origin`` equal to this server's (or ``Sec-Fetch-Site: same-origin``); the
  login cookie is ``SameSite=Strict``.
* **password guessing** is throttled per address on both login paths (see
  :mod:`edge.dashboard.auth`); a wrong password is answered
  :data:`LOGIN_FAILURE_DELAY_S` later.
* error replies name no file, path or session id; the log never gets a body, a header or a
  query string, so no password reaches it at any level.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import re
import socket
import urllib.parse
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http import HTTPStatus
from importlib import resources
from typing import Any

from edge.dashboard.auth import Auth, Login
from edge.dashboard.events import EventHub
from edge.dashboard.state import DashboardState
from edge.errors import TracksideError
from edge.outputs.mqtt.payloads import decode

log = logging.getLogger(__name__)

STATIC_FILES = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/static/app.js": ("app.js", "text/javascript; charset=utf-8"),
    "/static/style.css": ("style.css", "text/css; charset=utf-8"),
}
LOGIN_FAILURE_DELAY_S = 1.0  # a wrong password is answered this much later
_SESSION_ID = re.compile(r"[A-Za-z0-9_.\-]{1,64}")
_RANGE = re.compile(r"bytes=(\d*)-(\d*)")


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
    """The reply to ``/events``: written by :class:`edge.dashboard.server.DashboardServer`."""


def json_response(status: int, data: Any, headers: dict[str, str] | None = None) -> Response:
    body = json.dumps(data, separators=(",", ":"), allow_nan=False).encode()
    return Response(status, body, headers=headers or {})


def error_response(
    status: int, reason: str, *, headers: dict[str, str] | None = None, close: bool = False
) -> Response:
    reply = json_response(status, {"ok": False, "reason": reason}, headers)
    reply.close = close
    return reply


SECURITY_HEADERS = (
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
        return error_response(
            HTTPStatus.TOO_MANY_REQUESTS,
            "too many wrong passwords from here: wait and try again",
            headers={"Retry-After": "60"},
        )

    async def handle(self, request: Request) -> Response | EventStream:
        if not self.app.hosts.allows(request.header("host")):
            log.warning(
                "dashboard: refused a request for host %r", (request.header("host") or "")[:80]
            )
            return error_response(HTTPStatus.MISDIRECTED_REQUEST, "unknown host name", close=True)
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
            return json_response(
                HTTPStatus.OK,
                {
                    "password_set": app.auth.password_set,
                    "view_needs_login": app.auth.view_needs_login,
                    "logged_in": app.auth.password_set and login is Login.OK,
                    "may_command": login is Login.OK,
                },
            )
        if app.auth.view_needs_login and login is not Login.OK:
            return error_response(HTTPStatus.UNAUTHORIZED, "log in first")
        if path == "/events":
            return EventStream()
        if path == "/api/state":
            return Response(HTTPStatus.OK, snapshot_json(app, "state"))
        if path == "/keyframe":
            key = urllib.parse.parse_qs(request.query).get("device", [""])[0]
            jpeg = app.state.keyframe(key)
            if jpeg is None:
                return error_response(HTTPStatus.NOT_FOUND, "no keyframe for that device")
            return Response(HTTPStatus.OK, jpeg, "image/jpeg")
        if path == "/api/sessions":
            if app.sessions is None:
                return json_response(HTTPStatus.OK, {"sessions": []})
            sessions = await asyncio.get_running_loop().run_in_executor(None, app.sessions)
            return json_response(HTTPStatus.OK, {"sessions": sessions})
        if path.startswith("/report/"):
            return await self._report(urllib.parse.unquote(path[len("/report/") :]))
        if path == "/api/clips":
            clips = app.clips
            listed = (
                []
                if clips is None
                else await asyncio.get_running_loop().run_in_executor(None, clips)
            )
            return json_response(HTTPStatus.OK, {"clips": listed})
        if path.startswith("/clip/"):
            return await self._clip(urllib.parse.unquote(path[len("/clip/") :]), request)
        if path.startswith("/progress/"):
            return await self._progress(urllib.parse.unquote(path[len("/progress/") :]))
        return error_response(HTTPStatus.NOT_FOUND, "no such page")

    async def _post(self, request: Request) -> Response:
        if not self._same_origin(request):
            log.warning("dashboard: refused a cross-site POST from %s", request.client)
            return error_response(HTTPStatus.FORBIDDEN, "cross-origin request refused")
        content_type = (request.header("content-type") or "").split(";")[0].strip().lower()
        if content_type != "application/json":
            # A cross-site form cannot send JSON without a CORS preflight we never allow.
            return error_response(HTTPStatus.BAD_REQUEST, "expected Content-Type: application/json")
        try:
            body = decode(request.body) if request.body.strip() else {}
        except (ValueError, RecursionError):
            return error_response(HTTPStatus.BAD_REQUEST, "invalid JSON")
        path = request.path
        if path == "/api/login":
            return await self._login(body, request)
        if path == "/api/logout":
            return json_response(
                HTTPStatus.OK, {"ok": True}, {"Set-Cookie": self.app.auth.clear_cookie()}
            )
        if path == "/api/command":
            login = self._login_of(request)
            if login is Login.THROTTLED:
                return self._throttled(request)
            if login is not Login.OK:
                return error_response(
                    HTTPStatus.UNAUTHORIZED, "commands need the dashboard password"
                )
            try:
                request_id = self._command(body)
            except CommandError as exc:
                return error_response(HTTPStatus.BAD_REQUEST, str(exc))
            return json_response(HTTPStatus.ACCEPTED, {"ok": True, "request_id": request_id})
        return error_response(HTTPStatus.NOT_FOUND, "no such endpoint")

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
            return json_response(HTTPStatus.OK, {"ok": True})
        password = body.get("password") if isinstance(body, dict) else None
        outcome = auth.form_login(password, request.client)
        if outcome is Login.OK:
            return json_response(HTTPStatus.OK, {"ok": True}, {"Set-Cookie": auth.make_cookie()})
        if outcome is Login.THROTTLED:
            return self._throttled(request)
        await asyncio.sleep(LOGIN_FAILURE_DELAY_S)
        return error_response(HTTPStatus.UNAUTHORIZED, "wrong password")

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
            return error_response(HTTPStatus.NOT_FOUND, "no results store on this machine")
        kind = "csv" if name.endswith(".csv") else "html"
        session_id = name.removesuffix(".csv").removesuffix(".html")
        if not _SESSION_ID.fullmatch(session_id):
            return error_response(HTTPStatus.NOT_FOUND, "no such session")
        loop = asyncio.get_running_loop()
        try:
            body, content_type = await loop.run_in_executor(None, report, session_id, kind)
        except TracksideError as exc:
            log.debug("dashboard: report %s: %s", session_id, exc)
            return error_response(HTTPStatus.NOT_FOUND, "no such session")
        headers = {}
        if kind == "csv":
            headers["Content-Disposition"] = f'attachment; filename="{session_id}-strides.csv"'
        return Response(HTTPStatus.OK, body, content_type, headers)

    async def _clip(self, name: str, request: Request) -> Response:
        """A pass clip; a ``Range`` request (a video element seeking) gets its part (206)."""
        if self.app.clip_file is None:
            return error_response(HTTPStatus.NOT_FOUND, "no clips on this machine")
        data = await asyncio.get_running_loop().run_in_executor(None, self.app.clip_file, name)
        if data is None:
            return error_response(HTTPStatus.NOT_FOUND, "no such clip")
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
            return error_response(HTTPStatus.NOT_FOUND, "no such athlete")
        loop = asyncio.get_running_loop()
        try:
            body, content_type = await loop.run_in_executor(None, progress, athlete, kind)
        except TracksideError as exc:
            log.debug("dashboard: progress %s: %s", athlete, exc)
            return error_response(HTTPStatus.NOT_FOUND, "no results store on this machine")
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
