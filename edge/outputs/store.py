"""Session history on the device: every stride, alert, summary and a few keyframes, in SQLite.

The MQTT outbox forgets a result once the broker has it; this store keeps results so a coach
can look back at a session (``trackside report SESSION``, the dashboard's report link).
One file (``results.path``, by default ``$STATE_DIRECTORY/results.sqlite3`` beside the
outbox, else ``./state/results.sqlite3``), WAL mode so the dashboard reads while the daemon
writes, and bounded: rows older than ``max_age_days`` go, and past ``max_strides`` the
oldest strides go first.  Only the newest ``keyframes_per_session`` pictures of a session
are kept.

History gives way to the MQTT outbox, which holds results not yet delivered: the store
keeps to a disk budget (``max_megabytes``: past it, the oldest keyframes go first, then the
oldest strides) and stops writing while the disk has less than ``min_free_megabytes`` free,
so the outbox (which writes until the disk is truly full) always has that room.  A full
disk or an I/O error pauses history (logged once, reported by :meth:`ResultStore.problems`
for the device status, tried again every half minute) instead of raising; a corrupt file is
moved aside as ``NAME.corrupt-<UTC time>`` and every row that can still be read is copied
into a fresh one.

Strides, alerts and pass/session summaries are stored in the same JSON form as their MQTT
payloads (``…/stride``, ``…/alert``, ``…/pass``, ``…/session``) without the envelope, so
everything that reads one reads the other::

    store = ResultStore("state/results.sqlite3")
    store.start_session("2025-05-01-am", athlete="ana", device_id="pi-track3")
    store.record_stride(report, session_id="2025-05-01-am", athlete="ana", device_id="pi-track3")
    [s.session_id for s in store.sessions()]
    store.strides("2025-05-01-am")[0].payload["stride"]["cadence_spm"]
    store.session("2025-05-01-am").summary["metrics"]["trunk_lean_deg"]["sd"]

Files written before summaries took that one form (``PRAGMA user_version`` 0) held them in
either of two others; :func:`migrate_summary` rewrites them when the file is opened for
writing, and a read-only reader converts them as it reads.

:class:`StoreSink` adapts the store to the daemon's result-sink calls (``set_session``,
``publish_stride``...), so the daemon can hand results to it exactly as to MQTT.
All methods are safe to call from several threads.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from edge.cues.summary import Summary
from edge.errors import TracksideError
from edge.outputs.mqtt.payloads import (
    DeviceStatus,
    Envelope,
    Keyframe,
    alert_payload,
    stride_payload,
    summary_fields,
    summary_payload,
)
from edge.outputs.sqlite_files import HealingFile, fault_of, free_bytes, salvage_rows
from edge.settings import Bool, Int, Number, Text, setting, state_file
from edge.types import CueAlert, StrideReport

log = logging.getLogger(__name__)

RESULTS_FILENAME = "results.sqlite3"
# PRAGMA user_version of a file whose summaries all have the MQTT payload form; 0 before.
SUMMARY_FORM_VERSION = 1
_ENVELOPE_KEYS = (
    "schema_version",
    "type",
    "device_id",
    "session_id",
    "athlete",
    "message_id",
    "created_at",
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    session_id TEXT PRIMARY KEY,
    device_id TEXT NOT NULL,
    athlete TEXT,
    started REAL NOT NULL,
    ended REAL,
    summary TEXT
);
CREATE TABLE IF NOT EXISTS strides (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id TEXT,
    device_id TEXT NOT NULL,
    athlete TEXT,
    created REAL NOT NULL,
    stride_index INTEGER NOT NULL,
    foot_strike_s REAL,
    grade TEXT NOT NULL,
    payload TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS strides_session ON strides (session_id, id);
CREATE TABLE IF NOT EXISTS alerts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id TEXT,
    device_id TEXT NOT NULL,
    created REAL NOT NULL,
    payload TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS alerts_session ON alerts (session_id, id);
CREATE TABLE IF NOT EXISTS passes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id TEXT,
    device_id TEXT NOT NULL,
    created REAL NOT NULL,
    pass_index INTEGER,
    summary TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS keyframes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id TEXT,
    device_id TEXT NOT NULL,
    created REAL NOT NULL,
    stride_index INTEGER,
    cue_id TEXT,
    verdict TEXT,
    message TEXT NOT NULL,
    time_s REAL,
    jpeg BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS keyframes_session ON keyframes (session_id, id);
"""
# Every table's columns, for copying what a corrupt file still holds into a fresh one.
_TABLE_COLUMNS = {
    "sessions": ("session_id", "device_id", "athlete", "started", "ended", "summary"),
    "strides": (
        "id",
        "session_id",
        "device_id",
        "athlete",
        "created",
        "stride_index",
        "foot_strike_s",
        "grade",
        "payload",
    ),
    "alerts": ("id", "session_id", "device_id", "created", "payload"),
    "passes": ("id", "session_id", "device_id", "created", "pass_index", "summary"),
    "keyframes": (
        "id",
        "session_id",
        "device_id",
        "created",
        "stride_index",
        "cue_id",
        "verdict",
        "message",
        "time_s",
        "jpeg",
    ),
}
RETRY_INTERVAL_S = 30.0  # a store that could not write tries again after this long
_BUDGET_CHECK_EVERY = 50  # writes between two looks at the file's size
_WAL_LIMIT_BYTES = 4 << 20  # the WAL is truncated back to this after a checkpoint


class StoreError(TracksideError):
    """The results file cannot be opened or written (permissions, disk full, not SQLite)."""


@dataclass(frozen=True)
class ResultsConfig:
    """Session history kept on the device (the ``[results]`` config section)."""

    enabled: bool = setting(True, Bool(), "Keep every session's results on the device.")
    path: str = setting(
        "", Text(), "SQLite results file (empty: $STATE_DIRECTORY/results.sqlite3, else ./state/)."
    )
    max_age_days: float = setting(90.0, Number(0.01, 3650), "Results older than this are deleted.")
    max_strides: int = setting(
        500_000, Int(100, 50_000_000), "Strides kept at most; the oldest are deleted first."
    )
    keyframes_per_session: int = setting(
        8, Int(0, 1000), "Keyframe pictures kept per session (the newest)."
    )
    max_megabytes: float = setting(
        1024.0,
        Number(0.05, 1_000_000),
        "Disk budget of the results file; past it the oldest keyframes, then strides, go.",
    )
    min_free_megabytes: float = setting(
        64.0,
        Number(0, 1_000_000),
        "History pauses while the disk has less free than this: the MQTT outbox keeps it.",
    )


def default_results_path(configured: str, environ: Mapping[str, str] | None = None) -> Path:
    """The configured path, else under systemd's ``$STATE_DIRECTORY``, else ``./state``."""
    return state_file(configured, RESULTS_FILENAME, os.environ if environ is None else environ)


@dataclass(frozen=True, slots=True)
class SessionInfo:
    session_id: str
    device_id: str
    athlete: str | None
    started: float  # wall-clock Unix time
    ended: float | None
    strides: int
    summary: dict[str, Any] | None  # the MQTT ``…/session`` payload without its envelope


@dataclass(frozen=True, slots=True)
class StoredStride:
    device_id: str
    athlete: str | None
    created: float
    payload: dict[str, Any]  # the MQTT stride payload without its envelope

    @property
    def index(self) -> int:
        return int(self.payload["stride"]["index"])


@dataclass(frozen=True, slots=True)
class StoredKeyframe:
    created: float
    stride_index: int | None
    cue_id: str | None
    verdict: str | None
    message: str
    time_s: float | None
    jpeg: bytes


def _body(payload: Mapping[str, Any]) -> str:
    """A payload as stored: without its envelope, as JSON."""
    return json.dumps(
        {k: v for k, v in payload.items() if k not in _ENVELOPE_KEYS}, allow_nan=False
    )


_NO_ENVELOPE = Envelope(device_id="", message_id="", created_at=0.0)


def _summary_body(
    kind: Literal["pass", "session"],
    fields: Mapping[str, Any],
    *,
    pass_index: int | None = None,
    passes: int | None = None,
) -> str:
    """A summary as stored: the ``…/pass`` or ``…/session`` payload without its envelope."""
    payload = summary_payload(_NO_ENVELOPE, kind, **fields, pass_index=pass_index, passes=passes)
    return _body(payload)


def migrate_summary(
    kind: Literal["pass", "session"], stored: Mapping[str, Any], *, pass_index: int | None
) -> str:
    """A summary stored before ``SUMMARY_FORM_VERSION`` 1, in the one form stored now.

    Two forms were written: the daemon's (the MQTT summary keywords ``start_s``, ``end_s``,
    ``cues`` as counts, metrics with ``sd`` and ``n``, plus ``pass_index`` or ``passes``) and
    :meth:`Summary.to_dict`'s (``start``, ``end``, ``cues`` as shares rounded to 4 digits,
    metrics with ``spread`` and ``count``).  Counts come back from those shares exactly up to
    5,000 strides (a share is off by at most 0.00005).  ``to_dict`` kept no pass count, so a
    session summary of that form gets ``passes`` null ("not known"); its ``grades`` and
    metric ranges have no place in the payload and are dropped.  Raises ``ValueError`` for
    a summary in neither form.
    """
    try:
        fields, passes = _summary_fields_of(stored)
    except (KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"summary in no known form (at {exc!r})") from None
    return _summary_body(kind, fields, pass_index=pass_index, passes=passes)


def _summary_fields_of(stored: Mapping[str, Any]) -> tuple[dict[str, Any], int | None]:
    if "start_s" in stored:
        fields = {k: stored[k] for k in ("start_s", "end_s", "strides", "cues", "metrics")}
        passes = stored.get("passes")
    else:
        strides = int(stored["strides"])
        fields = {
            "start_s": stored["start"] if stored["start"] is not None else 0.0,
            "end_s": stored["end"] if stored["end"] is not None else 0.0,
            "strides": strides,
            "cues": {
                cue_id: {verdict: round(share * strides) for verdict, share in shares.items()}
                for cue_id, shares in stored["cues"].items()
            },
            "metrics": {
                key: {"unit": m["unit"], "mean": m["mean"], "sd": m["spread"], "n": m["count"]}
                for key, m in stored["metrics"].items()
            },
        }
        passes = None
    return fields, passes


class ResultStore(HealingFile):
    """The results file; see the module docstring.  Raises :class:`StoreError` if unusable."""

    what = "results store"
    while_degraded = "history paused; results still go to MQTT"
    retry_interval_s = RETRY_INTERVAL_S

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        max_age_days: float = 90.0,
        max_strides: int = 500_000,
        keyframes_per_session: int = 8,
        max_megabytes: float = 1024.0,
        min_free_megabytes: float = 0.0,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        readonly: bool = False,
    ) -> None:
        super().__init__(Path(path), clock=clock, monotonic=monotonic)
        self.max_age_s = max_age_days * 86400.0
        self.max_strides = max_strides
        self.keyframes_per_session = keyframes_per_session
        self.max_bytes = int(max_megabytes * 1_000_000)
        self.min_free_bytes = int(min_free_megabytes * 1_000_000)
        self._lock = threading.Lock()
        self._writes = 0
        self.not_kept = 0  # results not written while history was paused
        version = SUMMARY_FORM_VERSION
        if readonly:
            if not self.path.is_file():
                raise StoreError(f"{self.path}: no results file (has the daemon run here?)")
            try:
                uri = f"file:{self.path}?mode=ro"
                self._db = sqlite3.connect(uri, uri=True, check_same_thread=False)
                (version,) = self._db.execute("PRAGMA user_version").fetchone()
            except sqlite3.Error as exc:
                raise StoreError(f"{self.path}: cannot open results store ({exc})") from None
        else:
            with self._lock:
                self._open_file()
        # Only a read-only reader of a file the daemon has not opened since can see old forms.
        self._old_summaries = version < SUMMARY_FORM_VERSION

    def _unusable(self, exc: BaseException) -> Exception:
        return StoreError(f"{self.path}: cannot open results store ({exc})")

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, check_same_thread=False)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            # Results are history, not the delivery queue: NORMAL is durable enough and
            # keeps each write off the SD card's slow fsync path.
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute(f"PRAGMA journal_size_limit={_WAL_LIMIT_BYTES}")
            db.executescript(_SCHEMA)
            # Walks the strides table: a damaged file is found now, not mid-session.
            db.execute("SELECT COUNT(*), MAX(id) FROM strides").fetchone()
            self._migrate_summaries(db)
            self._prune_locked(db)
        except BaseException:
            db.close()
            raise
        return db

    def _salvage(self, aside: Path) -> str:
        """Copy every row the corrupt file still gives into the fresh one."""
        assert self._db is not None
        copied, partial = {}, []
        for table, columns in _TABLE_COLUMNS.items():
            rows, complete = salvage_rows(aside, table, columns)
            if not complete:
                partial.append(table)
            try:
                with self._db:
                    self._db.executemany(
                        f"INSERT OR IGNORE INTO {table} ({', '.join(columns)}) "
                        f"VALUES ({', '.join('?' * len(columns))})",
                        rows,
                    )
                copied[table] = len(rows)
            except sqlite3.Error as failed:
                self._degrade(f"cannot write what was salvaged: {failed}")
                break
        try:
            self._migrate_summaries(self._db)
        except (sqlite3.Error, StoreError) as failed:
            log.warning("results store %s: salvaged summaries: %s", self.path, failed)
        counts = ", ".join(f"{n} {table}" for table, n in copied.items())
        unreadable = f"; unreadable parts in {', '.join(partial)}" if partial else ""
        return f"salvaged {counts}{unreadable}"

    @classmethod
    def from_config(cls, config: ResultsConfig, *, path: Path | None = None) -> ResultStore:
        return cls(
            path or default_results_path(config.path),
            max_age_days=config.max_age_days,
            max_strides=config.max_strides,
            keyframes_per_session=config.keyframes_per_session,
            max_megabytes=config.max_megabytes,
            min_free_megabytes=config.min_free_megabytes,
        )

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()

    def problems(self) -> list[str]:
        """What is degraded now (empty when all is well), as lines for the device status."""
        with self._lock:
            found = []
            if self._fault:
                found.append(
                    f"results store: history paused ({self._fault}); "
                    f"{self.not_kept} result(s) not kept"
                )
            if self.recovered:
                found.append(f"results store: {self.recovered}")
            return found

    def _migrate_summaries(self, db: sqlite3.Connection) -> None:
        """Rewrite the summaries of a file from before ``SUMMARY_FORM_VERSION``, at once."""
        (version,) = db.execute("PRAGMA user_version").fetchone()
        if version >= SUMMARY_FORM_VERSION:
            return
        with db:
            sessions = db.execute(
                "SELECT session_id, summary FROM sessions WHERE summary IS NOT NULL"
            ).fetchall()
            for session_id, text in sessions:
                body = self._migrated("session", text, None, f"session {session_id}")
                db.execute(
                    "UPDATE sessions SET summary = ? WHERE session_id = ?", (body, session_id)
                )
            passes = db.execute("SELECT id, pass_index, summary FROM passes").fetchall()
            for row_id, pass_index, text in passes:
                body = self._migrated("pass", text, pass_index, f"passes row {row_id}")
                db.execute("UPDATE passes SET summary = ? WHERE id = ?", (body, row_id))
            db.execute(f"PRAGMA user_version = {SUMMARY_FORM_VERSION}")
        if sessions or passes:
            log.info(
                "results store %s: %d session and %d pass summaries rewritten in the current form",
                self.path,
                len(sessions),
                len(passes),
            )

    def _migrated(
        self, kind: Literal["pass", "session"], text: str, pass_index: int | None, row: str
    ) -> str:
        try:
            return migrate_summary(kind, json.loads(text), pass_index=pass_index)
        except ValueError as exc:  # json.JSONDecodeError is a ValueError too
            message = f"{self.path}: {row}: cannot read its {kind} summary ({exc})"
            raise StoreError(message) from None

    def _read_summary(
        self, kind: Literal["pass", "session"], text: str, row: str, pass_index: int | None = None
    ) -> dict[str, Any]:
        if self._old_summaries:
            text = self._migrated(kind, text, pass_index, row)
        return json.loads(text)

    # --- writing ---------------------------------------------------------------------------

    def _write(self, *statements: tuple[str, tuple[Any, ...]], counted: bool = True) -> None:
        """Statements in one transaction; ``counted`` ones are a result (the others only
        context: a session row) and bring the next look at the bounds.

        While history is paused nothing is written and the result is counted as not kept;
        a failure of the disk pauses it, a corrupt file is replaced, and only an error of
        another kind is raised (a :class:`StoreError`).
        """
        with self._lock:
            db = self._writable()
            if db is None:
                self.not_kept += counted
                return
            try:
                with db:
                    for sql, params in statements:
                        db.execute(sql, params)
            except sqlite3.Error as exc:
                if fault_of(exc) is None:
                    raise StoreError(f"{self.path}: cannot write results ({exc})") from None
                self.not_kept += counted
                self._failed(exc)
                return
            if self._fault:
                log.info("results store %s: writable again; history resumes", self.path)
                self._fault = ""
            if counted:
                self._writes += 1
                try:
                    if self._writes % _BUDGET_CHECK_EVERY == 0:
                        self._keep_to_budget(db)
                    if self._writes % 500 == 0:
                        self._prune_locked(db)
                except sqlite3.Error as exc:  # the result is kept: only the bounds wait
                    self._failed(exc)

    def _writable(self) -> sqlite3.Connection | None:
        """The connection to write on, or ``None`` while history is paused."""
        if self._db is None or self._fault:
            if self._monotonic() < self._next_retry:
                return None
            if self._db is None:
                self._open_file()
                if self._db is None:
                    return None
        free = free_bytes(self.path)
        if free is not None and free < self.min_free_bytes:
            self._degrade(
                f"{free / 1e6:.2f} MB free on the disk, below the "
                f"{self.min_free_bytes / 1e6:.2f} MB kept for the MQTT outbox",
                wait=False,
            )
            return None
        return self._db

    def start_session(self, session_id: str, *, athlete: str | None, device_id: str) -> None:
        """Note a session's start (again: keeps the first start, updates the athlete)."""
        self._write(
            (
                "INSERT INTO sessions (session_id, device_id, athlete, started) "
                "VALUES (?, ?, ?, ?) ON CONFLICT(session_id) DO UPDATE SET "
                "athlete = COALESCE(excluded.athlete, sessions.athlete)",
                (session_id, device_id, athlete, self._clock()),
            ),
            counted=False,
        )

    def record_stride(
        self,
        report: StrideReport,
        *,
        session_id: str | None,
        athlete: str | None,
        device_id: str,
    ) -> None:
        """Keep one judged stride (in the MQTT payload's JSON form)."""
        now = self._clock()
        payload = stride_payload(Envelope(device_id, "", now, session_id, athlete), report)
        insert = (
            "INSERT INTO strides (session_id, device_id, athlete, created, stride_index, "
            "foot_strike_s, grade, payload) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                session_id,
                device_id,
                athlete,
                now,
                report.stride.index,
                payload["stride"]["foot_strike_s"],
                report.grade.value,
                _body(payload),
            ),
        )
        if session_id is None:
            self._write(insert)
        else:
            self._write(self._session_row(session_id, athlete, device_id, now), insert)

    def record_alert(
        self, alert: CueAlert, *, session_id: str | None, athlete: str | None, device_id: str
    ) -> None:
        now = self._clock()
        payload = alert_payload(Envelope(device_id, "", now, session_id, athlete), alert)
        self._write(
            (
                "INSERT INTO alerts (session_id, device_id, created, payload) VALUES (?, ?, ?, ?)",
                (session_id, device_id, now, _body(payload)),
            )
        )

    def record_pass(
        self,
        summary: Summary,
        *,
        pass_index: int | None,
        session_id: str | None,
        device_id: str,
    ) -> None:
        """A pass summary (kept in the form of the MQTT ``…/pass`` payload)."""
        body = _summary_body("pass", summary_fields(summary), pass_index=pass_index)
        self._write(
            (
                "INSERT INTO passes (session_id, device_id, created, pass_index, summary) "
                "VALUES (?, ?, ?, ?, ?)",
                (session_id, device_id, self._clock(), pass_index, body),
            )
        )

    def record_session(
        self,
        summary: Summary,
        *,
        passes: int | None,
        session_id: str,
        athlete: str | None,
        device_id: str,
    ) -> None:
        """The session ended: its summary (as the ``…/session`` payload) and end time."""
        now = self._clock()
        body = _summary_body("session", summary_fields(summary), passes=passes)
        self._write(
            self._session_row(session_id, athlete, device_id, now),
            (
                "UPDATE sessions SET ended = ?, summary = ? WHERE session_id = ?",
                (now, body, session_id),
            ),
        )

    def record_keyframe(
        self,
        jpeg: bytes,
        *,
        session_id: str | None,
        device_id: str,
        stride_index: int | None,
        cue_id: str | None,
        time_s: float | None,
        verdict: str | None = None,
        message: str = "",
    ) -> None:
        """Keep a keyframe picture; only the newest ``keyframes_per_session`` stay."""
        if self.keyframes_per_session == 0:
            return
        self._write(
            (
                "INSERT INTO keyframes (session_id, device_id, created, stride_index, "
                "cue_id, verdict, message, time_s, jpeg) VALUES (?,?,?,?,?,?,?,?,?)",
                (
                    session_id,
                    device_id,
                    self._clock(),
                    stride_index,
                    cue_id,
                    verdict,
                    message,
                    time_s,
                    sqlite3.Binary(jpeg),
                ),
            ),
            (
                "DELETE FROM keyframes WHERE session_id IS ? AND id NOT IN (SELECT id "
                "FROM keyframes WHERE session_id IS ? ORDER BY id DESC LIMIT ?)",
                (session_id, session_id, self.keyframes_per_session),
            ),
        )

    @staticmethod
    def _session_row(
        session_id: str, athlete: str | None, device_id: str, now: float
    ) -> tuple[str, tuple[Any, ...]]:
        """The statement that makes sure a session has its row (first start kept)."""
        return (
            "INSERT OR IGNORE INTO sessions (session_id, device_id, athlete, started) "
            "VALUES (?, ?, ?, ?)",
            (session_id, device_id, athlete, now),
        )

    # --- bounds ----------------------------------------------------------------------------

    def _prune_locked(self, db: sqlite3.Connection) -> None:
        cutoff = self._clock() - self.max_age_s
        with db:
            for table in ("strides", "alerts", "passes", "keyframes"):
                db.execute(f"DELETE FROM {table} WHERE created < ?", (cutoff,))
            db.execute("DELETE FROM sessions WHERE COALESCE(ended, started) < ?", (cutoff,))
            (count,) = db.execute("SELECT COUNT(*) FROM strides").fetchone()
            if count > self.max_strides:
                excess = count - self.max_strides + max(1, self.max_strides // 100)
                db.execute(
                    "DELETE FROM strides WHERE id IN (SELECT id FROM strides ORDER BY id LIMIT ?)",
                    (excess,),
                )
                log.warning("results store full (%d strides): deleted the %d oldest", count, excess)

    def _used_bytes(self, db: sqlite3.Connection) -> int:
        (page_size,) = db.execute("PRAGMA page_size").fetchone()
        (pages,) = db.execute("PRAGMA page_count").fetchone()
        (free_pages,) = db.execute("PRAGMA freelist_count").fetchone()
        return int((pages - free_pages) * page_size)

    def _keep_to_budget(self, db: sqlite3.Connection) -> None:
        """Past ``max_megabytes``: delete the oldest keyframes, then the oldest strides and
        alerts, until the file holds at most 90 % of it.  Freed pages are reused by the file
        itself, so it stops growing."""
        used = self._used_bytes(db)
        if used <= self.max_bytes:
            return
        target = 0.9 * self.max_bytes
        keyframes = strides = 0
        with db:
            while used > target:
                (n,) = db.execute("SELECT COUNT(*) FROM keyframes").fetchone()
                if n:
                    batch = max(1, n // 4)
                    db.execute(
                        "DELETE FROM keyframes WHERE id IN "
                        "(SELECT id FROM keyframes ORDER BY id LIMIT ?)",
                        (batch,),
                    )
                    keyframes += batch
                else:
                    (n,) = db.execute("SELECT COUNT(*) FROM strides").fetchone()
                    if not n:
                        break
                    batch = max(10, n // 20)
                    (newest_gone,) = db.execute(
                        "SELECT MAX(created) FROM (SELECT created FROM strides ORDER BY id "
                        "LIMIT ?)",
                        (batch,),
                    ).fetchone()
                    db.execute(
                        "DELETE FROM strides WHERE id IN "
                        "(SELECT id FROM strides ORDER BY id LIMIT ?)",
                        (batch,),
                    )
                    db.execute("DELETE FROM alerts WHERE created <= ?", (newest_gone,))
                    strides += min(batch, n)
                used = self._used_bytes(db)
        log.info(
            "results store %s: over its %.1f MB budget: deleted the %d oldest keyframe(s) "
            "and %d oldest stride(s)",
            self.path,
            self.max_bytes / 1e6,
            keyframes,
            strides,
        )

    # --- reading ---------------------------------------------------------------------------

    def _query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            if self._db is None:
                raise StoreError(f"{self.path}: cannot read results ({self._fault})")
            try:
                return self._db.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise StoreError(f"{self.path}: cannot read results ({exc})") from None

    def sessions(self) -> list[SessionInfo]:
        """Every session kept, newest first."""
        rows = self._query(
            "SELECT s.session_id, s.device_id, s.athlete, s.started, s.ended, s.summary, "
            "(SELECT COUNT(*) FROM strides t WHERE t.session_id = s.session_id) "
            "FROM sessions s ORDER BY s.started DESC"
        )
        return [
            SessionInfo(
                sid,
                dev,
                athlete,
                started,
                ended,
                n,
                self._read_summary("session", summary, f"session {sid}") if summary else None,
            )
            for sid, dev, athlete, started, ended, summary, n in rows
        ]

    def session(self, session_id: str) -> SessionInfo | None:
        return next((s for s in self.sessions() if s.session_id == session_id), None)

    def strides(self, session_id: str) -> list[StoredStride]:
        """The session's strides in the order they were recorded."""
        rows = self._query(
            "SELECT device_id, athlete, created, payload FROM strides "
            "WHERE session_id = ? ORDER BY id",
            (session_id,),
        )
        return [StoredStride(d, a, c, json.loads(p)) for d, a, c, p in rows]

    def alerts(self, session_id: str) -> list[dict[str, Any]]:
        rows = self._query(
            "SELECT payload FROM alerts WHERE session_id = ? ORDER BY id", (session_id,)
        )
        return [json.loads(p) for (p,) in rows]

    def passes(self, session_id: str) -> list[dict[str, Any]]:
        rows = self._query(
            "SELECT pass_index, summary FROM passes WHERE session_id = ? ORDER BY id",
            (session_id,),
        )
        return [self._read_summary("pass", s, f"pass {i} of {session_id}", i) for i, s in rows]

    def keyframes(self, session_id: str) -> list[StoredKeyframe]:
        rows = self._query(
            "SELECT created, stride_index, cue_id, verdict, message, time_s, jpeg "
            "FROM keyframes WHERE session_id = ? ORDER BY id",
            (session_id,),
        )
        return [StoredKeyframe(c, i, cue, v, m, t, bytes(j)) for c, i, cue, v, m, t, j in rows]


class StoreSink:
    """The store behind the daemon's result-sink calls (the same ones as the MQTT publisher).

    Status is not history and is ignored.  A full disk pauses history (see
    :meth:`problems`); any other write that fails raises :class:`StoreError`, which the
    daemon's fan-out logs and counts before carrying on with the other sinks.
    """

    def __init__(self, store: ResultStore, device_id: str) -> None:
        self.store = store
        self.device_id = device_id
        self._session_id: str | None = None
        self._athlete: str | None = None

    def set_session(self, session_id: str | None, *, athlete: str | None = None) -> None:
        self._session_id, self._athlete = session_id, athlete
        if session_id is not None:
            self.store.start_session(session_id, athlete=athlete, device_id=self.device_id)

    def publish_stride(self, report: StrideReport) -> None:
        self.store.record_stride(
            report, session_id=self._session_id, athlete=self._athlete, device_id=self.device_id
        )

    def publish_alert(self, alert: CueAlert) -> None:
        self.store.record_alert(
            alert, session_id=self._session_id, athlete=self._athlete, device_id=self.device_id
        )

    def publish_pass_summary(self, summary: Summary, *, pass_index: int) -> None:
        self.store.record_pass(
            summary, pass_index=pass_index, session_id=self._session_id, device_id=self.device_id
        )

    def publish_session_summary(self, summary: Summary, *, passes: int) -> None:
        if self._session_id is None:
            return
        self.store.record_session(
            summary,
            passes=passes,
            session_id=self._session_id,
            athlete=self._athlete,
            device_id=self.device_id,
        )

    def publish_status(self, status: DeviceStatus) -> None:
        return None

    def problems(self) -> list[str]:
        return self.store.problems()

    def publish_keyframe(self, keyframe: Keyframe) -> None:
        self.store.record_keyframe(
            keyframe.jpeg,
            session_id=self._session_id,
            device_id=self.device_id,
            stride_index=keyframe.stride_index,
            cue_id=keyframe.cue_id,
            time_s=keyframe.time_s,
            verdict=keyframe.verdict,
            message=keyframe.message,
        )
