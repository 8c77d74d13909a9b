"""Live events to the open pages: :class:`EventHub` fans encoded server-sent events out to
every open ``/events`` stream.  A browser too slow to keep up is disconnected (its
``EventSource`` reconnects and starts again from a fresh snapshot), so a stuck phone never
makes the server buffer without bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

log = logging.getLogger(__name__)

CLIENT_QUEUE = 2000  # event chunks buffered per browser before it is dropped


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
