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

A failing SD card never makes it raise or lose a result it was given:

* **no space** (full disk, I/O error) when opening or writing: results are held in memory
  (at most :data:`MEMORY_LIMIT`, oldest dropped first) and still delivered from there;
  :meth:`retry` (the forwarder calls it about once a second) writes them to the file once
  space returns, in their order.  A delete that cannot be written is remembered, so a
  delivered result is not sent again in this run.
* **a corrupt file** (at opening or later): it is moved aside as
  ``NAME.corrupt-<UTC time>``, every undelivered result that can still be read from it is
  queued again in a fresh file, and the outbox carries on.

:meth:`problems` says what is degraded, for the device status.  Only a location that can
never work (a folder that is a file, no permission) is an :class:`OutboxError`.
All methods are safe to call from several threads.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from edge.errors import TracksideError
from edge.outputs.mqtt.payloads import iso_utc
from edge.outputs.sqlite_files import HealingFile, salvage_rows

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
_COLUMNS = ("seq", "topic", "payload", "qos", "retain", "created")

# Results held in memory at most while the disk takes none: a stride payload is 1-3 KB, so
# at most ~15 MB, and at a stride every 0.35 s (one runner, non-stop) about half an hour.
MEMORY_LIMIT = 5000
RETRY_INTERVAL_S = 5.0  # how often a file that failed is tried again
# The WAL is truncated back to this after a checkpoint, so a burst of results does not keep
# disk space that the results store or the next burst could use.
_WAL_LIMIT_BYTES = 1 << 20


class OutboxError(TracksideError):
    """The outbox location can never work (a path through a file, no permission...)."""


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    seq: int
    topic: str
    payload: bytes
    qos: int
    retain: bool
    created: float


def _intact(seq: object, topic: object, payload: object, qos: object, created: object) -> bool:
    """Whether a row read from a damaged file still has the shape of a message."""
    return (
        isinstance(seq, int)
        and isinstance(topic, str)
        and bool(topic)
        and isinstance(payload, bytes)
        and qos in (0, 1, 2)
        and isinstance(created, int | float)
    )


class Outbox(HealingFile):
    """Durable FIFO of MQTT messages in one SQLite file (created with its folder)."""

    what = "MQTT outbox"
    retry_interval_s = RETRY_INTERVAL_S

    def __init__(
        self,
        path: str | Path,
        *,
        max_messages: int = 100_000,
        max_age_s: float = 7 * 86400.0,
        memory_limit: int = MEMORY_LIMIT,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(Path(path), clock=clock, monotonic=monotonic)
        self.max_messages = max_messages
        self.max_age_s = max_age_s
        self.memory_limit = memory_limit
        self._lock = threading.Lock()
        self._count = 0  # rows in the file (kept here: COUNT(*) walks the whole table)
        self._next_seq = 1
        self._memory: dict[int, OutboxMessage] = {}  # not yet written to the file, by seq
        self._undeleted: set[int] = set()  # delivered, but the file could not be told
        self.dropped_in_memory = 0
        self._closed = False
        with self._lock:
            self._open_file()

    # --- the file --------------------------------------------------------------------------

    @property
    def while_degraded(self) -> str:  # type: ignore[override]
        return (
            f"results are kept in memory (at most {self.memory_limit}) and written once the "
            "file works again"
        )

    def _unusable(self, exc: BaseException) -> Exception:
        return OutboxError(f"{self.path}: cannot open the MQTT outbox ({exc})")

    def _connect(self) -> sqlite3.Connection:
        # One connection shared under a lock: SQLite serialises writers anyway, and this
        # keeps the commit order equal to the enqueue order.
        db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=10.0)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            db.execute(f"PRAGMA journal_size_limit={_WAL_LIMIT_BYTES}")
            db.execute(_SCHEMA)
            # Walks every page of the table: a damaged file is found now, not mid-run.
            (check,) = db.execute("PRAGMA quick_check(1)").fetchone()
            if check != "ok":
                raise sqlite3.DatabaseError(f"database disk image is malformed ({check})")
            count, newest = db.execute("SELECT COUNT(*), MAX(seq) FROM outbox").fetchone()
            (handed_out,) = db.execute(
                "SELECT COALESCE(MAX(seq), 0) FROM sqlite_sequence WHERE name = 'outbox'"
            ).fetchone()
        except BaseException:
            db.close()
            raise
        self._count = int(count)
        newest_in_memory = max(self._memory, default=0)
        self._next_seq = max(self._next_seq, int(newest or 0) + 1, int(handed_out) + 1)
        self._next_seq = max(self._next_seq, newest_in_memory + 1)
        return db

    def _salvage(self, aside: Path) -> str:
        """Queue every undelivered result the corrupt file still holds again, in order."""
        rows, complete = salvage_rows(aside, "outbox", _COLUMNS)
        salvaged = [
            OutboxMessage(s, t, bytes(p), q, bool(r), float(c))
            for s, t, p, q, r, c in rows
            if _intact(s, t, p, q, c) and s not in self._undeleted
        ]
        for message in salvaged:
            self._memory.setdefault(message.seq, message)
        self._next_seq = max(self._next_seq, max(self._memory, default=0) + 1)
        self._write_memory()
        return (
            f"{len(salvaged)} undelivered result(s) salvaged"
            f"{'' if complete else ' (part of it was unreadable)'}"
        )

    def _write_memory(self) -> bool:
        """Write the results held in memory to the file, in one transaction."""
        if self._db is None:
            return False
        if not self._memory and not self._undeleted:
            return True
        try:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.executemany(
                "INSERT OR IGNORE INTO outbox (seq, topic, payload, qos, retain, created) "
                "VALUES (?,?,?,?,?,?)",
                [
                    (m.seq, m.topic, m.payload, m.qos, int(m.retain), m.created)
                    for m in self._memory.values()
                ],
            )
            self._db.executemany(
                "DELETE FROM outbox WHERE seq = ?", [(s,) for s in self._undeleted]
            )
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            self._rollback()
            self._failed(exc)
            return False
        written = len(self._memory)
        self._count = int(self._db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])
        self._memory.clear()
        self._undeleted.clear()
        if self._fault or written:
            log.info(
                "MQTT outbox %s: writable again; %d result(s) from memory written",
                self.path,
                written,
            )
        self._fault = ""
        return True

    def _rollback(self) -> None:
        if self._db is not None and self._db.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                self._db.execute("ROLLBACK")

    def retry(self) -> None:
        """Try the file again if it failed (at most every few seconds); cheap otherwise."""
        with self._lock:
            if self._closed or not (self._fault or self._memory or self._undeleted):
                return
            if self._monotonic() < self._next_retry:
                return
            if self._db is None:
                self._open_file()
            if self._db is not None:
                self._write_memory()

    # --- the queue -------------------------------------------------------------------------

    def enqueue(self, topic: str, payload: bytes, *, qos: int, retain: bool) -> int:
        """Store a message durably (or in memory while the disk takes none); returns its
        sequence number (increasing)."""
        now = self._clock()
        with self._lock:
            self._check_open()
            seq = self._next_seq
            self._next_seq += 1
            message = OutboxMessage(seq, topic, payload, qos, retain, now)
            if self._db is not None and not self._fault and self._insert(message):
                return seq
            self._memory[seq] = message
            if len(self._memory) > self.memory_limit:
                self._drop_oldest_in_memory()
            if self._monotonic() >= self._next_retry:
                self._next_retry = self._monotonic() + RETRY_INTERVAL_S
                if self._db is None:
                    self._open_file()
                self._write_memory()
        return seq

    def _insert(self, message: OutboxMessage) -> bool:
        assert self._db is not None
        try:
            self._db.execute(
                "INSERT INTO outbox (seq, topic, payload, qos, retain, created) "
                "VALUES (?,?,?,?,?,?)",
                (
                    message.seq,
                    message.topic,
                    message.payload,
                    message.qos,
                    int(message.retain),
                    message.created,
                ),
            )
        except sqlite3.Error as exc:
            self._rollback()
            self._failed(exc)
            return message.seq in self._memory  # a corrupt file's recovery may have kept it
        self._count += 1
        if self._count > self.max_messages:
            # Drop 1 % at a time, so a long outage logs a line per chunk, not per stride.
            chunk = max(1, self.max_messages // 100)
            try:
                self._drop_oldest(self._count - self.max_messages + chunk - 1)
            except sqlite3.Error as exc:  # the result itself is stored: only the bound waits
                self._failed(exc)
        return True

    def pending(self, *, after: int = 0, limit: int = 100) -> list[OutboxMessage]:
        """Up to ``limit`` undelivered messages with ``seq > after``, oldest first."""
        with self._lock:
            self._check_open()
            rows: list[OutboxMessage] = []
            if self._db is not None:
                try:
                    found = self._db.execute(
                        "SELECT seq, topic, payload, qos, retain, created FROM outbox "
                        "WHERE seq > ? ORDER BY seq LIMIT ?",
                        (after, limit + len(self._undeleted)),
                    ).fetchall()
                except sqlite3.Error as exc:
                    self._failed(exc)
                    found = []
                rows = [
                    OutboxMessage(r[0], r[1], bytes(r[2]), r[3], bool(r[4]), r[5])
                    for r in found
                    if r[0] not in self._undeleted
                ]
            held = [m for seq, m in self._memory.items() if seq > after]
        if held:
            rows = sorted(rows + held, key=lambda m: m.seq)
        return rows[:limit]

    def delete(self, seqs: Iterable[int]) -> None:
        """Forget delivered messages (unknown sequence numbers are ignored)."""
        batch = list(seqs)
        if not batch:
            return
        with self._lock:
            self._check_open()
            on_disk = [s for s in batch if self._memory.pop(s, None) is None]
            if not on_disk:
                return
            if self._db is None or self._fault:
                self._undeleted.update(on_disk)
                return
            try:
                self._db.execute("BEGIN IMMEDIATE")
                cur = self._db.executemany(
                    "DELETE FROM outbox WHERE seq = ?", [(s,) for s in on_disk]
                )
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                self._rollback()
                self._undeleted.update(on_disk)
                self._failed(exc)
                return
            self._count -= max(cur.rowcount, 0)

    @property
    def next_seq(self) -> int:
        """The sequence number the next :meth:`enqueue` will get."""
        with self._lock:
            return self._next_seq

    def __len__(self) -> int:
        with self._lock:
            return max(0, self._count - len(self._undeleted)) + len(self._memory)

    def problems(self) -> list[str]:
        """What is degraded now (empty when all is well), as lines for the device status."""
        with self._lock:
            found = []
            if self._fault:
                found.append(
                    f"MQTT outbox: file not writable ({self._fault}); "
                    f"{len(self._memory)} result(s) held in memory"
                )
            if self.dropped_in_memory:
                found.append(
                    f"MQTT outbox: {self.dropped_in_memory} undelivered result(s) dropped "
                    f"(more than {self.memory_limit} held in memory)"
                )
            if self.recovered:
                found.append(f"MQTT outbox: {self.recovered}")
            return found

    def drop_expired(self) -> int:
        """Drop messages older than ``max_age_s``; returns how many (and logs it)."""
        cutoff = self._clock() - self.max_age_s
        with self._lock:
            self._check_open()
            old = [seq for seq, m in self._memory.items() if m.created < cutoff]
            oldest = min((self._memory[s].created for s in old), default=None)
            for seq in old:
                del self._memory[seq]
            count = len(old)
            if self._db is not None and not self._fault:
                try:
                    first, on_disk = self._db.execute(
                        "SELECT MIN(created), COUNT(*) FROM outbox WHERE created < ?", (cutoff,)
                    ).fetchone()
                    if on_disk:
                        self._db.execute("DELETE FROM outbox WHERE created < ?", (cutoff,))
                        self._count -= on_disk
                        count += on_disk
                        oldest = first if oldest is None else min(oldest, first)
                except sqlite3.Error as exc:
                    self._failed(exc)
            if count:
                log.warning(
                    "MQTT outbox: dropped %d undelivered message(s) older than %.1f h "
                    "(oldest from %s); the broker has been unreachable too long",
                    count,
                    self.max_age_s / 3600.0,
                    iso_utc(oldest or cutoff),
                )
        return count

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            if self._db is not None:
                self._write_memory()
                self._db.close()
            if self._memory:
                log.error(
                    "MQTT outbox %s: %d undelivered result(s) could not be written before "
                    "stopping (the file is still not writable) and are lost",
                    self.path,
                    len(self._memory),
                )

    def _drop_oldest(self, excess: int) -> None:
        assert self._db is not None
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

    def _drop_oldest_in_memory(self) -> None:
        excess = len(self._memory) - self.memory_limit
        for seq in list(self._memory)[:excess]:
            del self._memory[seq]
        self.dropped_in_memory += excess
        if self.dropped_in_memory == excess or self.dropped_in_memory % 100 == 0:
            log.warning(
                "MQTT outbox: more than %d results held in memory while the file takes "
                "none: %d oldest undelivered dropped so far",
                self.memory_limit,
                self.dropped_in_memory,
            )

    def _check_open(self) -> None:
        if self._closed:
            raise OutboxError(f"{self.path}: the MQTT outbox is closed")
