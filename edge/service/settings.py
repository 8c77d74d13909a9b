"""The ``[service]`` section: how the live daemon runs."""

from __future__ import annotations

from dataclasses import dataclass

from edge.settings import Choice, Number, setting

MODES = ("live", "burst")


@dataclass(frozen=True)
class ServiceConfig:
    mode: str = setting(
        "live",
        Choice(MODES),
        '"live": analyse the newest frame, instant LED feedback.  "burst": also keep every '
        "frame of a pass and analyse them all after it, for accurate timing on a slow CPU.",
    )
    burst_max_megabytes: float = setting(
        256.0,
        Number(8, 4096),
        "Memory for the frames of one pass in burst mode; the oldest are dropped beyond it.",
    )
    status_interval: float = setting(
        5.0, Number(0.5, 300), "Seconds between health messages (MQTT status, systemd STATUS)."
    )
    source_retry_max: float = setting(
        30.0, Number(1, 600), "Longest wait, in seconds, between attempts to reopen a camera."
    )
