"""Logging to stdout, readable both in a terminal and in journald.

Under systemd (``JOURNAL_STREAM`` is set) each line starts with a ``<N>`` syslog priority
prefix, which journald turns into the entry's level, and carries no timestamp of its own
because the journal adds one.
"""

from __future__ import annotations

import logging
import os
import sys

_SYSLOG_PRIORITY = {
    logging.DEBUG: 7,
    logging.INFO: 6,
    logging.WARNING: 4,
    logging.ERROR: 3,
    logging.CRITICAL: 2,
}


class _JournalFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        priority = _SYSLOG_PRIORITY.get(record.levelno, 6)
        return f"<{priority}>{record.name}: {super().format(record)}"


def setup_logging(level: str = "info") -> None:
    """Route the ``edge`` loggers to stdout at ``level`` (idempotent)."""
    handler = logging.StreamHandler(sys.stdout)
    if os.environ.get("JOURNAL_STREAM"):
        handler.setFormatter(_JournalFormatter("%(message)s"))
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S")
        )
    root = logging.getLogger("edge")
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    root.propagate = False
