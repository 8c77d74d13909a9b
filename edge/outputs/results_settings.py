"""Where the results store lives and how much it keeps (the ``[results]`` section)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from edge.settings import Bool, Int, Number, Text, setting, state_file

RESULTS_FILENAME = "results.sqlite3"
CLIPS_DIRNAME = "clips"  # the pass clips' folder, beside the results file


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
        "History and pass clips pause while the disk has less free than this (old clips "
        "are deleted first): the MQTT outbox keeps it.",
    )
    clips: bool = setting(
        True,
        Bool(),
        "Keep a video clip of each pass (skeleton and verdicts drawn) in clips/ beside the file.",
    )
    clip_seconds: float = setting(
        8.0, Number(1, 60), "Longest clip, in seconds: a longer pass keeps its last seconds."
    )
    clip_size: int = setting(
        360, Int(160, 1280), "Longer side of the clips in pixels (the other follows)."
    )
    clips_max_megabytes: float = setting(
        500.0, Number(1, 1_000_000), "Disk budget of the clips folder; the oldest clips go first."
    )


def default_results_path(configured: str, environ: Mapping[str, str] | None = None) -> Path:
    """The configured path, else under systemd's ``$STATE_DIRECTORY``, else ``./state``."""
    return state_file(configured, RESULTS_FILENAME, os.environ if environ is None else environ)
