"""The dashboard's web server: HTTP/1.1 connections, their limits, and the event stream.

One asyncio event loop on its own thread serves every connection, and `h11
<https://h11.readthedocs.io>`_ (a small, pure-Python HTTP/1.1 state machine, no I/O of its
own) does the framing: request lines, headers, ``Content-Length`` and chunked bodies,
keep-alive.  So an open page costs a socket and a few kilobytes, not a thread, and a
request body is always read (or the connection closed) before the next request is parsed:
a body can never be taken for a request of its own (request smuggling).  What each URL
answers is :mod:`edge.dashboard.routes`; the events the streams carry come from
:class:`edge.dashboard.events.EventHub`.

The limits a hostile client meets here (issue 12): a body over :data:`MAX_BODY` is refused
(413) and the connection closed; a bad ``Content-Length`` is a 400; a request's head must
arrive within :data:`HEAD_TIMEOUT_S` and its body within :data:`BODY_TIMEOUT_S`, an idle
keep-alive connection is closed after :data:`IDLE_TIMEOUT_S`, a client that reads nothing
is dropped after :data:`WRITE_TIMEOUT_S`; connections are capped in all and per client
address (``dashboard.max_connections``, ``max_connections_per_client``: beyond them a 503
and close; at the total cap the connection waiting longest for a whole request makes
room).  Any protocol error closes the connection; nothing of a malformed request is
echoed or logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import threading
import urllib.parse
from collections import Counter
from http import HTTPStatus
from typing import Any

import h11

from edge.dashboard.routes import (
    SECURITY_HEADERS,
    DashboardApp,
    EventStream,
    Request,
    Response,
    Routes,
    error_response,
    snapshot_json,
)

log = logging.getLogger(__name__)

HEARTBEAT_S = 15.0
MAX_BODY = 8192  # bytes: a command or a login is well under 1 KB
MAX_HEAD = 16384  # bytes of request line and headers
HEAD_TIMEOUT_S = 10.0  # a request's line and headers must arrive within this
BODY_TIMEOUT_S = 10.0
IDLE_TIMEOUT_S = 30.0  # a keep-alive connection with no new request is closed
WRITE_TIMEOUT_S = 10.0  # a client that reads nothing for this long is dropped
_BUSY = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n"
    b"Content-Length: 17\r\nConnection: close\r\nRetry-After: 5\r\n\r\ntoo many requests"
)


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
                reply = error_response(
                    HTTPStatus.INTERNAL_SERVER_ERROR, "internal error", close=True
                )
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
            *SECURITY_HEADERS,
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
            *SECURITY_HEADERS,
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
