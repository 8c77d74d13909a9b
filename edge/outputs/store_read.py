"""Reading the results store: sessions, strides, alerts, passes, keyframes."""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path
from typing import Any, Literal

from edge.errors import TracksideError
from edge.outputs.store_rows import SessionInfo, StoredKeyframe, StoredStride


class StoreError(TracksideError):
    """The results file cannot be opened or written (permissions, disk full, not SQLite)."""


class StoreReading:
    """The reading half of :class:`~edge.outputs.store.ResultStore` (which sets the
    attributes below and :meth:`_read_summary`)."""

    path: Path
    _lock: threading.Lock
    _db: sqlite3.Connection | None
    _fault: str

    def _read_summary(
        self, kind: Literal["pass", "session"], text: str, row: str, pass_index: int | None = None
    ) -> dict[str, Any]:
        raise NotImplementedError

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
