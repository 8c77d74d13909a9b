"""The results file's bounds: age, stride count and disk budget (see edge.outputs.store)."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

log = logging.getLogger("edge.outputs.store")


def prune(db: sqlite3.Connection, *, cutoff: float, max_strides: int) -> None:
    """Delete what is older than ``cutoff`` (Unix time), then the oldest strides past
    ``max_strides`` (and 1 % more, so the next strides do not each delete one)."""
    with db:
        for table in ("strides", "alerts", "passes", "keyframes"):
            db.execute(f"DELETE FROM {table} WHERE created < ?", (cutoff,))
        db.execute("DELETE FROM sessions WHERE COALESCE(ended, started) < ?", (cutoff,))
        (count,) = db.execute("SELECT COUNT(*) FROM strides").fetchone()
        if count > max_strides:
            excess = count - max_strides + max(1, max_strides // 100)
            db.execute(
                "DELETE FROM strides WHERE id IN (SELECT id FROM strides ORDER BY id LIMIT ?)",
                (excess,),
            )
            log.warning("results store full (%d strides): deleted the %d oldest", count, excess)


def used_bytes(db: sqlite3.Connection) -> int:
    """Bytes of the file's pages in use (free pages are reused by the file itself)."""
    (page_size,) = db.execute("PRAGMA page_size").fetchone()
    (pages,) = db.execute("PRAGMA page_count").fetchone()
    (free_pages,) = db.execute("PRAGMA freelist_count").fetchone()
    return int((pages - free_pages) * page_size)


def keep_to_budget(db: sqlite3.Connection, max_bytes: int, path: Path) -> None:
    """Past ``max_megabytes``: delete the oldest keyframes, then the oldest strides and
    alerts, until the file holds at most 90 % of it.  Freed pages are reused by the file
    itself, so it stops growing."""
    used = used_bytes(db)
    if used <= max_bytes:
        return
    target = 0.9 * max_bytes
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
                    "SELECT MAX(created) FROM (SELECT created FROM strides ORDER BY id LIMIT ?)",
                    (batch,),
                ).fetchone()
                db.execute(
                    "DELETE FROM strides WHERE id IN (SELECT id FROM strides ORDER BY id LIMIT ?)",
                    (batch,),
                )
                db.execute("DELETE FROM alerts WHERE created <= ?", (newest_gone,))
                strides += min(batch, n)
            used = used_bytes(db)
    log.info(
        "results store %s: over its %.1f MB budget: deleted the %d oldest keyframe(s) "
        "and %d oldest stride(s)",
        path,
        max_bytes / 1e6,
        keyframes,
        strides,
    )
