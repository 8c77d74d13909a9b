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
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from edge.cues.summary import Summary
from edge.outputs.mqtt.payloads import (
    Envelope,
    alert_payload,
    stride_payload,
    summary_fields,
)
from edge.outputs.results_settings import RESULTS_FILENAME, ResultsConfig, default_results_path
from edge.outputs.sqlite_files import HealingFile, fault_of, free_bytes, salvage_rows
from edge.outputs.store_bounds import keep_to_budget, prune
from edge.outputs.store_read import StoreError, StoreReading
from edge.outputs.store_rows import (
    SCHEMA,
    SUMMARY_FORM_VERSION,
    TABLE_COLUMNS,
    SessionInfo,
    StoredKeyframe,
    StoredStride,
    add_missing_columns,
    migrate_summary,
    payload_body,
    summary_body,
)
from edge.types import CueAlert, StrideReport

__all__ = [
    "RESULTS_FILENAME",
    "ResultStore",
    "ResultsConfig",
    "SessionInfo",
    "StoreError",
    "StoredKeyframe",
    "StoredStride",
    "default_results_path",
    "migrate_summary",
]

log = logging.getLogger(__name__)

RETRY_INTERVAL_S = 30.0  # a store that could not write tries again after this long
_BUDGET_CHECK_EVERY = 50  # writes between two looks at the file's size
_WAL_LIMIT_BYTES = 4 << 20  # the WAL is truncated back to this after a checkpoint


class ResultStore(StoreReading, HealingFile):
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
            db.executescript(SCHEMA)
            add_missing_columns(db)
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
        for table, columns in TABLE_COLUMNS.items():
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
                payload_body(payload),
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
                (session_id, device_id, now, payload_body(payload)),
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
        body = summary_body("pass", summary_fields(summary), pass_index=pass_index)
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
        body = summary_body("session", summary_fields(summary), passes=passes)
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
        severity: int | None = None,
    ) -> None:
        """Keep a keyframe picture.  A session keeps ``keyframes_per_session`` of them: the
        worst strides' (highest ``severity``: faults weigh 3, warnings 1) in the larger
        half, the best strides' (lowest) in the rest, newest first among equals.  A picture
        of unknown severity (``None``) counts as a warning."""
        if self.keyframes_per_session == 0:
            return
        worst = (self.keyframes_per_session + 1) // 2
        best = self.keyframes_per_session - worst
        worst_ids = (
            "SELECT id FROM keyframes WHERE session_id IS ? "
            "ORDER BY COALESCE(severity, 1) DESC, id DESC LIMIT ?"
        )
        best_ids = (
            f"SELECT id FROM keyframes WHERE session_id IS ? AND id NOT IN ({worst_ids}) "
            "ORDER BY COALESCE(severity, 1) ASC, id DESC LIMIT ?"
        )
        self._write(
            (
                "INSERT INTO keyframes (session_id, device_id, created, stride_index, "
                "cue_id, verdict, message, time_s, jpeg, severity) VALUES (?,?,?,?,?,?,?,?,?,?)",
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
                    severity,
                ),
            ),
            (
                f"DELETE FROM keyframes WHERE session_id IS ? AND id NOT IN ({worst_ids}) "
                f"AND id NOT IN ({best_ids})",
                (session_id, session_id, worst, session_id, session_id, worst, best),
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

    # --- bounds (edge.outputs.store_bounds) ----------------------------------------------

    def _prune_locked(self, db: sqlite3.Connection) -> None:
        prune(db, cutoff=self._clock() - self.max_age_s, max_strides=self.max_strides)

    def _keep_to_budget(self, db: sqlite3.Connection) -> None:
        keep_to_budget(db, self.max_bytes, self.path)
