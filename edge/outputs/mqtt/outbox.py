"""A durable, bounded, ordered outbox for results on their way to the broker.

Every result is written here *before* it is handed to the MQTT client and deleted only when
the broker acknowledges it (PUBACK), so results survive a broker outage, a crash or a power
cut of Trackside, and are sent again in their original order.  The file is SQLite in WAL
mode with ``synchronous=FULL``: a committed enqueue survives power loss, and readers never
block the writer.

The outbox is bounded by message count and age.  When a bound is hit the *oldest* messages
are dropped (the newest results matter most to a coach at the track) with one warning line
saying how many and from when::

    outbox = Outbox("state/mqtt-outbox.sqlite3", max_messages=100_000, max_age_s=7 * 86400)
    seq = outbox.enqueue("trackside/pi/stride", b"{...}", qos=1, retain=False)
    for message in outbox.pending(after=0, limit=20):
        ...
    outbox.delete([seq])

All methods are safe to call from several threads.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from edge.errors import TracksideError
from edge.outputs.mqtt.payloads import iso_utc

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    topic TEXT NOT NULL,
    payload BLOB NOT NULL,
    qos INTEGER NOT NULL,
    retain INTEGER NOT NULL,
    created REAL NOT NULL
)
"""


class OutboxError(TracksideError):
    """The outbox file cannot be opened or written (disk full, permissions...)."""


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    seq: int
    topic: str
    payload: bytes
    qos: int
    retain: bool
    created: float


class Outbox:
    """Durable FIFO of MQTT messages in one SQLite file (created with its folder)."""

    def __init__(
        self,
        path: str | Path,
        *,
        max_messages: int = 100_000,
        max_age_s: float = 7 * 86400.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = Path(path)
        self.max_messages = max_messages
        self.max_age_s = max_age_s
        self._clock = clock
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # One connection shared under a lock: SQLite serialises writers anyway, and
            # this keeps the commit order equal to the enqueue order.
            self._db = sqlite3.connect(
                self.path, check_same_thread=False, isolation_level=None, timeout=10.0
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute(_SCHEMA)
            # Kept in memory: COUNT(*) walks the whole table, too slow on every enqueue.
            self._count = int(self._db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])
        except (OSError, sqlite3.Error) as exc:
            raise OutboxError(f"{self.path}: cannot open the MQTT outbox ({exc})") from None
        self._closed = False

    def enqueue(self, topic: str, payload: bytes, *, qos: int, retain: bool) -> int:
        """Store a message durably; returns its sequence number (increasing)."""
        now = self._clock()
        with self._lock:
            self._check_open()
            cur = self._db.execute(
                "INSERT INTO outbox (topic, payload, qos, retain, created) VALUES (?,?,?,?,?)",
                (topic, payload, qos, int(retain), now),
            )
            seq = int(cur.lastrowid or 0)
            self._count += 1
            if self._count > self.max_messages:
                # Drop 1 % at a time, so a long outage logs a line per chunk, not per stride.
                chunk = max(1, self.max_messages // 100)
                self._drop_oldest(self._count - self.max_messages + chunk - 1)
        return seq

    def pending(self, *, after: int = 0, limit: int = 100) -> list[OutboxMessage]:
        """Up to ``limit`` undelivered messages with ``seq > after``, oldest first."""
        with self._lock:
            self._check_open()
            rows = self._db.execute(
                "SELECT seq, topic, payload, qos, retain, created FROM outbox "
                "WHERE seq > ? ORDER BY seq LIMIT ?",
                (after, limit),
            ).fetchall()
        return [OutboxMessage(r[0], r[1], bytes(r[2]), r[3], bool(r[4]), r[5]) for r in rows]

    def delete(self, seqs: Iterable[int]) -> None:
        """Forget delivered messages (unknown sequence numbers are ignored)."""
        batch = [(s,) for s in seqs]
        if not batch:
            return
        with self._lock:
            self._check_open()
            self._db.execute("BEGIN IMMEDIATE")
            cur = self._db.executemany("DELETE FROM outbox WHERE seq = ?", batch)
            self._db.execute("COMMIT")
            self._count -= max(cur.rowcount, 0)

    def __len__(self) -> int:
        with self._lock:
            return self._count

    def drop_expired(self) -> int:
        """Drop messages older than ``max_age_s``; returns how many (and logs it)."""
        cutoff = self._clock() - self.max_age_s
        with self._lock:
            self._check_open()
            oldest, count = self._db.execute(
                "SELECT MIN(created), COUNT(*) FROM outbox WHERE created < ?", (cutoff,)
            ).fetchone()
            if count:
                self._db.execute("DELETE FROM outbox WHERE created < ?", (cutoff,))
                self._count -= count
                log.warning(
                    "MQTT outbox: dropped %d undelivered message(s) older than %.1f h "
                    "(oldest from %s); the broker has been unreachable too long",
                    count,
                    self.max_age_s / 3600.0,
                    iso_utc(oldest),
                )
        return int(count)

    def close(self) -> None:
        with self._lock:
            if not self._closed:
                self._closed = True
                self._db.close()

    def _drop_oldest(self, excess: int) -> None:
        oldest, newest_dropped = self._db.execute(
            "SELECT MIN(created), MAX(created) FROM "
            "(SELECT created FROM outbox ORDER BY seq LIMIT ?)",
            (excess,),
        ).fetchone()
        self._db.execute(
            "DELETE FROM outbox WHERE seq IN (SELECT seq FROM outbox ORDER BY seq LIMIT ?)",
            (excess,),
        )
        self._count -= excess
        log.warning(
            "MQTT outbox full (%d messages): dropped the %d oldest undelivered message(s), "
            "made %s to %s; is the broker reachable?",
            self.max_messages,
            excess,
            iso_utc(oldest),
            iso_utc(newest_dropped),
        )

    def _check_open(self) -> None:
        if self._closed:
            raise OutboxError(f"{self.path}: the MQTT outbox is closed")
