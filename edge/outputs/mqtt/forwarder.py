"""Moves messages from the outbox to the broker and forgets them once acknowledged.

One background thread owns the bookkeeping (which paho message id carries which outbox
row), so nothing here is shared without a lock.  It sends at most ``max_inflight``
unacknowledged messages, and only while connected.

Two lanes share that window.  Results made since the link last came up are **live** and go
first; results left over from before (a broker outage, or a previous run of Trackside) are
the **backlog** and fill the rest of the window.  So after an outage the coach sees the
present at once while the past drains behind it (a stride every ~0.35 s uses a sliver of
the window; the backlog gets the rest).  Within a lane the broker sees rows in outbox order;
across lanes a live result may overtake older backlog ones, so a consumer orders by
``created_at`` (or ``message_id``), and drops repeats by ``message_id``.  After a reconnect,
messages that were in flight on the old connection are re-sent by paho first; the
forwarder waits until they are acknowledged before sending more.  After a restart of
Trackside, paho's memory is empty and everything still in the outbox is backlog.
"""

from __future__ import annotations

import logging
import queue
import threading
import time

from edge.outputs.mqtt.client import MqttLink
from edge.outputs.mqtt.outbox import Outbox, OutboxMessage

log = logging.getLogger(__name__)

_AGE_CHECK_INTERVAL_S = 60.0


class OutboxForwarder:
    def __init__(self, outbox: Outbox, link: MqttLink, *, max_inflight: int) -> None:
        self._outbox = outbox
        self._link = link
        self._max_inflight = max_inflight
        self._wake = threading.Event()
        self._acks: queue.SimpleQueue[int] = queue.SimpleQueue()
        self._inflight: dict[int, tuple[int, int]] = {}  # paho mid -> (outbox seq, generation)
        # The first outbox seq of the live lane: rows from before are the backlog.
        self._live_from = outbox.next_seq
        self._stopping = threading.Event()
        self._idle = threading.Condition()
        self._thread: threading.Thread | None = None
        link.on_published = self._acked
        link.on_connected.append(self._link_up)

    def start(self) -> None:
        self._outbox.drop_expired()
        self._thread = threading.Thread(target=self._run, name="mqtt-outbox", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """New rows were enqueued: look at the outbox now."""
        self._wake.set()

    def _link_up(self) -> None:
        # paho's network thread: what is queued now is the backlog, what comes next is live.
        self._live_from = self._outbox.next_seq
        self._wake.set()

    def flush(self, timeout: float) -> bool:
        """Wait until the outbox is empty; ``False`` if it is not after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while len(self._outbox) > 0:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not self._link.connected:
                    return False
                self._wake.set()
                self._idle.wait(min(remaining, 0.1))
        return True

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
            self._thread = None

    @property
    def inflight(self) -> int:
        return len(self._inflight)

    # --- the thread ------------------------------------------------------------------------

    def _acked(self, mid: int) -> None:
        # Runs on paho's network thread while paho holds its own lock: only hand over.
        self._acks.put(mid)
        self._wake.set()

    def _run(self) -> None:
        next_age_check = time.monotonic() + _AGE_CHECK_INTERVAL_S
        while not self._stopping.is_set():
            self._wake.wait(timeout=1.0)
            self._wake.clear()
            try:
                self._outbox.retry()
                self._settle_acks()
                self._send_more()
                if time.monotonic() >= next_age_check:
                    next_age_check = time.monotonic() + _AGE_CHECK_INTERVAL_S
                    self._outbox.drop_expired()
            except Exception:
                # A full disk or a closed outbox must not kill the thread silently forever.
                log.exception("MQTT outbox forwarder: unexpected error; retrying in 1 s")
                self._stopping.wait(1.0)
            with self._idle:
                self._idle.notify_all()
        self._settle_acks()

    def _settle_acks(self) -> None:
        done = []
        while True:
            try:
                mid = self._acks.get_nowait()
            except queue.Empty:
                break
            entry = self._inflight.pop(mid, None)
            if entry is not None:
                done.append(entry[0])
        if done:
            self._outbox.delete(done)

    def _send_more(self) -> None:
        if not self._link.connected:
            return
        generation = self._link.generation
        if any(gen != generation for _seq, gen in self._inflight.values()):
            return  # paho is re-sending the old connection's messages: keep the order
        room = self._max_inflight - len(self._inflight)
        if room <= 0:
            return
        for message in self._next_rows(room):
            mid = self._link.publish(
                message.topic, message.payload, qos=message.qos, retain=message.retain
            )
            if mid is None:
                break  # refused by the client: try again on the next wake
            self._inflight[mid] = (message.seq, generation)

    def _next_rows(self, room: int) -> list[OutboxMessage]:
        """Up to ``room`` rows not in flight: live ones first, then the oldest backlog."""
        sending = {seq for seq, _gen in self._inflight.values()}
        live_from = self._live_from
        window = room + len(sending)
        rows = [
            m
            for m in self._outbox.pending(after=live_from - 1, limit=window)
            if m.seq not in sending
        ][:room]
        if len(rows) < room:
            backlog = [
                m
                for m in self._outbox.pending(after=0, limit=window)
                if m.seq < live_from and m.seq not in sending
            ]
            rows += backlog[: room - len(rows)]
        return rows
