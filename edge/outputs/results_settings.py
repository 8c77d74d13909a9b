"""Where the results store lives and how much it keeps (the ``[results]`` section)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from edge.settings import Bool, Int, Number, Text, setting, state_file

RESULTS_FILENAME = "results.sqlite3"


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
