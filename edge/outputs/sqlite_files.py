"""The device's SQLite files (MQTT outbox, results store) when the SD card misbehaves.

Three kinds of trouble are told apart, because each calls for its own answer:

* **no space** (``SQLITE_FULL``, ``ENOSPC``, an I/O error, a quota): the file is fine but
  cannot grow now; its owner keeps going in a degraded state and tries again later;
* **corrupt** (``SQLITE_CORRUPT``, ``SQLITE_NOTADB``: garbage bytes, bad pages, a truncated
  file): the file is moved aside with a timestamp (:func:`move_aside`), what can still be
  read is salvaged (:func:`salvage_rows`) and a fresh file takes its place;
* anything else (a permission, a path that is not a folder...) is the operator's to fix,
  and is raised as the owner's own :class:`~edge.errors.TracksideError`.
"""

from __future__ import annotations

import errno
import logging
import os
import sqlite3
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

# SQLite's primary result codes (https://sqlite.org/rescode.html).
_SQLITE_IOERR, _SQLITE_CORRUPT, _SQLITE_FULL, _SQLITE_NOTADB = 10, 11, 13, 26
_NO_SPACE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EROFS}
SIDE_FILES = ("-wal", "-shm", "-journal")


class Fault(StrEnum):
    NO_SPACE = "no space"
    CORRUPT = "corrupt"


def fault_of(exc: BaseException) -> Fault | None:
    """What kind of storage trouble ``exc`` is; ``None``: not one we degrade for."""
    if isinstance(exc, sqlite3.DatabaseError):
        code = (getattr(exc, "sqlite_errorcode", 0) or 0) & 0xFF
        if code in (_SQLITE_FULL, _SQLITE_IOERR):
            return Fault.NO_SPACE
        if code in (_SQLITE_CORRUPT, _SQLITE_NOTADB):
            return Fault.CORRUPT
        # Raised by the Python module itself, without a code, for a file that is not SQLite.
        text = str(exc)
        if "malformed" in text or "not a database" in text:
            return Fault.CORRUPT
        if "disk is full" in text or "disk I/O error" in text:
            return Fault.NO_SPACE
        return None
    if isinstance(exc, OSError) and exc.errno in _NO_SPACE_ERRNOS:
        return Fault.NO_SPACE
    return None


def free_bytes(path: Path) -> int | None:
    """Free space for an unprivileged writer on the file system of ``path`` (or its folder)."""
    for candidate in (path, *path.parents):
        try:
            stat = os.statvfs(candidate)
        except OSError:
            continue
        return stat.f_bavail * stat.f_frsize
    return None


def stamp(unix_time: float) -> str:
    """``20250501T093000Z``: a file-name-safe UTC time."""
    return datetime.fromtimestamp(unix_time, UTC).strftime("%Y%m%dT%H%M%SZ")


def move_aside(path: Path, *, clock: Callable[[], float] = time.time) -> Path:
    """Rename a corrupt file (and its ``-wal``/``-shm``) to ``NAME.corrupt-<UTC time>``.

    Returns the new path of the main file.  Nothing is deleted: the operator may want it.
    """
    base = path.with_name(f"{path.name}.corrupt-{stamp(clock())}")
    aside, n = base, 1
    while aside.exists():  # two in the same second
        n += 1
        aside = base.with_name(f"{base.name}-{n}")
    path.rename(aside)
    for suffix in SIDE_FILES:
        side = path.with_name(path.name + suffix)
        if side.exists():
            side.rename(aside.with_name(aside.name + suffix))
    return aside


def salvage_rows(
    path: Path, table: str, columns: Sequence[str], *, chunk: int = 512
) -> tuple[list[tuple[Any, ...]], bool]:
    """Every row of ``table`` that can still be read from a damaged file, in rowid order.

    Returns ``(rows, complete)``; ``complete`` is false when some part of the table could
    not be read.  Rows are read in rowid ranges; a range that fails is split in halves down
    to single rows, so one bad page costs only the rows on it.
    """
    _restore_length(path)
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error:
        return [], False
    select = (
        f"SELECT {', '.join(columns)} FROM {table} WHERE rowid >= ? AND rowid < ? ORDER BY rowid"
    )
    select_one = f"SELECT {', '.join(columns)} FROM {table} WHERE rowid = ?"
    rows: list[tuple[Any, ...]] = []
    complete = True
    try:
        try:
            low, high = db.execute(f"SELECT MIN(rowid), MAX(rowid) FROM {table}").fetchone()
        except sqlite3.Error:
            # The table's b-tree cannot even be walked to its ends: try the usual range.
            low, high, complete = 1, _largest_rowid_hint(db, table), False
        if low is None:
            return [], complete
        stack = [(s, min(s + chunk, high + 1)) for s in range(low, high + 1, chunk)]
        stack.reverse()
        while stack:
            start, end = stack.pop()
            try:
                if end - start == 1:  # a range scan steps onto the next page to end: not one
                    rows.extend(db.execute(select_one, (start,)).fetchall())
                else:
                    rows.extend(db.execute(select, (start, end)).fetchall())
            except sqlite3.Error:
                complete = False
                if end - start > 1:
                    middle = (start + end) // 2
                    stack += [(middle, end), (start, middle)]
    finally:
        db.close()
    return rows, complete


def _restore_length(path: Path) -> None:
    """Extend a truncated file (sparsely, with zeros) to the size its header states.

    SQLite refuses every query on a file shorter than its header says; with the missing
    tail read as zeros, only the pages that were cut off are unreadable.
    """
    try:
        with path.open("r+b") as f:
            header = f.read(100)
            if len(header) < 100 or not header.startswith(b"SQLite format 3\0"):
                return
            page_size = int.from_bytes(header[16:18], "big")
            page_size = 65536 if page_size == 1 else page_size
            pages = int.from_bytes(header[28:32], "big")
            expected = page_size * pages
            size = f.seek(0, os.SEEK_END)
            if 0 < size < expected:
                f.truncate(expected)
    except OSError:
        pass


def _largest_rowid_hint(db: sqlite3.Connection, table: str) -> int:
    """The largest rowid AUTOINCREMENT handed out (kept in its own small table), else 0."""
    try:
        row = db.execute("SELECT seq FROM sqlite_sequence WHERE name = ?", (table,)).fetchone()
    except sqlite3.Error:
        return 0
    return int(row[0]) if row else 0


class HealingFile:
    """The life of one SQLite file that must never stop its owner: open or create it, and
    when the disk fails or the file is damaged, degrade or replace it as the module says.

    A subclass gives :meth:`_connect` (open and check the file), :meth:`_salvage` (take
    what a corrupt file moved aside still holds; returns what it did, for the status),
    :meth:`_unusable` (the error for a location that can never work) and ``what``/
    ``while_degraded`` for the log.  Callers hold their own lock around every method.
    """

    what = "SQLite file"
    while_degraded = "carrying on without it"
    retry_interval_s = 30.0

    def __init__(
        self,
        path: Path,
        *,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path = path
        self._clock = clock
        self._monotonic = monotonic
        self._db: sqlite3.Connection | None = None
        self._fault = ""  # why the file is not usable now ("" while it is)
        self._next_retry = 0.0
        self.recovered = ""  # what was done about a corrupt file, for the status

    def _connect(self) -> sqlite3.Connection:
        raise NotImplementedError

    def _salvage(self, aside: Path) -> str:
        raise NotImplementedError

    def _unusable(self, exc: BaseException) -> Exception:
        raise NotImplementedError

    def _open_file(self) -> None:
        """Open (or create) the file; a full disk degrades, a corrupt file is replaced."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = self._connect()
        except (OSError, sqlite3.Error) as exc:
            self._db = None
            if fault_of(exc) is None:
                raise self._unusable(exc) from None
            self._failed(exc)
            return
        if self._fault:
            log.info("%s %s: writable again", self.what, self.path)
        self._fault = ""

    def _failed(self, exc: BaseException) -> None:
        """A statement on the file failed with a storage fault: replace it or degrade."""
        if fault_of(exc) is Fault.CORRUPT:
            self._recover_corrupt(exc)
        else:
            self._degrade(f"{fault_of(exc) or 'error'}: {exc}")

    def _recover_corrupt(self, exc: BaseException) -> None:
        """Move the corrupt file aside, start a fresh one, salvage what the old one holds."""
        if self._db is not None:
            self._db.close()
            self._db = None
        try:
            aside = move_aside(self.path, clock=self._clock)
            self._db = self._connect()
        except (OSError, sqlite3.Error) as failed:
            self._db = None
            self._degrade(f"cannot replace the corrupt file: {fault_of(failed)}: {failed}")
            return
        self._fault = ""
        self.recovered = f"corrupt file moved aside to {aside.name}; " + self._salvage(aside)
        log.error("%s %s: %s (%s)", self.what, self.path, self.recovered, exc)

    def _degrade(self, reason: str, *, wait: bool = True) -> None:
        """The file takes nothing now: say so once; try again after ``retry_interval_s``
        (``wait``), or at the next write (a cheap check such as free space)."""
        if not self._fault:
            log.error("%s %s: %s; %s", self.what, self.path, reason, self.while_degraded)
        self._fault = reason
        self._next_retry = self._monotonic() + (self.retry_interval_s if wait else 0.0)
