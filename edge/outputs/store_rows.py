"""The results file's tables and the forms of what they hold.

Strides, alerts and summaries are kept as their MQTT payloads without the envelope
(:func:`payload_body`); :func:`migrate_summary` rewrites summaries written in the older
forms.  :class:`SessionInfo`, :class:`StoredStride` and :class:`StoredKeyframe` are what
reading the store gives.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from edge.outputs.mqtt.payloads import Envelope, summary_payload

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

SCHEMA = """
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
    jpeg BLOB NOT NULL,
    severity INTEGER
);
CREATE INDEX IF NOT EXISTS keyframes_session ON keyframes (session_id, id);
"""
#: Columns added after a table was first made: (table, column, SQL type).  Files from
#: before get them (NULL in old rows) when the daemon opens them.
ADDED_COLUMNS = (("keyframes", "severity", "INTEGER"),)


def add_missing_columns(db: Any) -> None:
    """``ALTER TABLE … ADD COLUMN`` what :data:`ADDED_COLUMNS` lists and the file lacks."""
    for table, column, sql_type in ADDED_COLUMNS:
        names = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
        if column not in names:
            db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {sql_type}")


# Every table's columns, for copying what a corrupt file still holds into a fresh one.
TABLE_COLUMNS = {
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


def payload_body(payload: Mapping[str, Any]) -> str:
    """A payload as stored: without its envelope, as JSON."""
    return json.dumps(
        {k: v for k, v in payload.items() if k not in _ENVELOPE_KEYS}, allow_nan=False
    )


_NO_ENVELOPE = Envelope(device_id="", message_id="", created_at=0.0)


def summary_body(
    kind: Literal["pass", "session"],
    fields: Mapping[str, Any],
    *,
    pass_index: int | None = None,
    passes: int | None = None,
) -> str:
    """A summary as stored: the ``…/pass`` or ``…/session`` payload without its envelope."""
    payload = summary_payload(_NO_ENVELOPE, kind, **fields, pass_index=pass_index, passes=passes)
    return payload_body(payload)


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
    return summary_body(kind, fields, pass_index=pass_index, passes=passes)


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
