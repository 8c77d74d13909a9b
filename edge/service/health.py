"""Device health for the status topic: CPU temperature and firmware throttling flags.

Both come from files a Raspberry Pi kernel exposes; elsewhere they are simply ``None``.
"""

from __future__ import annotations

from pathlib import Path

THERMAL_ZONE = Path("/sys/class/thermal/thermal_zone0/temp")
# The firmware's get_throttled bits, exported by the raspberrypi-hwmon / firmware driver.
THROTTLED = Path("/sys/devices/platform/soc/soc:firmware/get_throttled")

_THROTTLE_BITS = {
    0: "under-voltage",
    1: "arm frequency capped",
    2: "throttled",
    3: "soft temperature limit",
}


def cpu_temperature(path: Path = THERMAL_ZONE) -> float | None:
    """CPU temperature in °C, or ``None`` where the kernel does not report it."""
    try:
        return int(path.read_text().strip()) / 1000.0
    except (OSError, ValueError):
        return None


def throttling(path: Path = THROTTLED) -> list[str] | None:
    """The throttling conditions active now (empty when none), ``None`` off a Pi."""
    try:
        bits = int(path.read_text().strip(), 16)
    except (OSError, ValueError):
        return None
    return [name for bit, name in _THROTTLE_BITS.items() if bits & (1 << bit)]
