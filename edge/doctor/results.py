"""What a check found, and what kind of machine it ran on."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from edge.service.unit import UnitState

PI_MODEL_FILE = Path("/proc/device-tree/model")


class Status(StrEnum):
    OK = "ok"
    WARN = "warn"
    FAIL = "fail"
    NA = "n/a"


@dataclass(frozen=True)
class CheckResult:
    name: str
    status: Status
    detail: str
    fix: str = ""  # what to do (for warn and fail)

    def line(self) -> str:
        text = f"{self.status.value:<5} {self.name:<8} {self.detail}"
        return text + (f"  → {self.fix}" if self.fix else "")


@dataclass(frozen=True)
class Host:
    """What kind of machine this is: a Raspberry Pi (its model) or not, and the service."""

    pi_model: str | None
    unit: UnitState

    @property
    def is_pi(self) -> bool:
        return self.pi_model is not None


def pi_model(path: Path = PI_MODEL_FILE) -> str | None:
    """``"Raspberry Pi 4 Model B Rev 1.4"`` on a Pi, ``None`` elsewhere."""
    try:
        model = path.read_bytes().rstrip(b"\0").decode(errors="replace").strip()
    except OSError:
        return None
    return model if model.startswith("Raspberry Pi") else None


def ok(name: str, detail: str) -> CheckResult:
    return CheckResult(name, Status.OK, detail)
