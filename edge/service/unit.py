"""The installed systemd unit, as ``systemctl`` reports it: is the service here, is it running?

``trackside doctor`` reports the unit's state; ``feedback test`` warns only when the service
could hold the pins; and commands run by hand (``sessions``, ``report``) find the results
where the service keeps them: systemd gives the service ``$STATE_DIRECTORY``
(``/var/lib/trackside``), a login shell does not.

``run`` defaults to :func:`subprocess.run`; tests pass a stand-in.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

SERVICE = "trackside.service"
_PROPERTIES = ("LoadState", "ActiveState", "SubState", "UnitFileState", "StateDirectory")
#: Where systemd puts a system service's ``StateDirectory=`` (systemd.exec(5)).
STATE_ROOT = "/var/lib"

Runner = Callable[..., Any]  # subprocess.run's signature


@dataclass(frozen=True)
class UnitState:
    """One unit's state; ``systemd`` is ``False`` where systemd does not run (a container)."""

    name: str
    systemd: bool
    load: str = ""  # "loaded", "not-found", "masked"...
    active: str = ""  # "active", "inactive", "failed", "activating"...
    sub: str = ""  # "running", "dead", "auto-restart"...
    enabled: str = ""  # "enabled", "disabled", "static", "" when not installed
    state_directory: str = ""  # as in the unit: "trackside"

    @property
    def installed(self) -> bool:
        return self.systemd and self.load == "loaded"

    @property
    def running(self) -> bool:
        return self.installed and self.active in ("active", "activating", "reloading")


def unit_state(name: str = SERVICE, *, run: Runner = subprocess.run) -> UnitState:
    """Ask ``systemctl show`` about ``name``; never raises (no systemd: ``systemd=False``)."""
    command = ["systemctl", "show", name, *(f"--property={p}" for p in _PROPERTIES)]
    try:
        result = run(command, capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return UnitState(name, systemd=False)
    if result.returncode != 0:  # "System has not been booted with systemd", no D-Bus...
        return UnitState(name, systemd=False)
    values = dict(line.partition("=")[::2] for line in result.stdout.splitlines() if "=" in line)
    return UnitState(
        name,
        systemd=True,
        load=values.get("LoadState", ""),
        active=values.get("ActiveState", ""),
        sub=values.get("SubState", ""),
        enabled=values.get("UnitFileState", ""),
        state_directory=values.get("StateDirectory", ""),
    )


def service_environ(environ: Mapping[str, str], unit: UnitState) -> dict[str, str]:
    """``environ`` with the installed service's ``$STATE_DIRECTORY`` when it lacks one.

    So a command run by hand on the Pi reads the results and outbox the service writes.
    """
    env = dict(environ)
    if "STATE_DIRECTORY" not in env and unit.installed and unit.state_directory:
        first = unit.state_directory.split()[0]
        env["STATE_DIRECTORY"] = f"{STATE_ROOT}/{first}"
    return env
