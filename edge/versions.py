"""Is this installation the tested set of versions?

``edge/data/constraints.txt`` (and ``constraints-tflite.txt`` for the NumPy-1 environment
that tflite-runtime needs) pin the exact versions the test suite passed with.  An install
made without them (``pip install trackside``) may get newer releases; most work, but an
OpenCV point release once changed the model's input by one grey level and with it what the
pose stage found (see docs/service.md).  So a run says so when the runtime dependencies are
not ones that were tested: a warning, not a refusal.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from importlib import metadata
from importlib.resources import files

#: The runtime dependencies whose versions change results (not the dev tools).
RUNTIME_PACKAGES = (
    "numpy",
    "opencv-python-headless",
    "ai-edge-litert",
    "tflite-runtime",
    "paho-mqtt",
    "gpiozero",
)
LOCK_FILES = ("constraints.txt", "constraints-tflite.txt")

log = logging.getLogger(__name__)

_PIN = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*==\s*([^\s;#]+)")


def canonical(name: str) -> str:
    """PEP 503 name: ``Opencv_Python.Headless`` → ``opencv-python-headless``."""
    return re.sub(r"[-_.]+", "-", name).lower()


def parse_pins(text: str) -> dict[str, str]:
    """``name==version`` lines of a pip constraints file (comments and blanks skipped)."""
    pins = {}
    for line in text.splitlines():
        match = _PIN.match(line)
        if match:
            pins[canonical(match.group(1))] = match.group(2)
    return pins


def tested_versions() -> dict[str, set[str]]:
    """Every version of each package that one of the lock files pins."""
    tested: dict[str, set[str]] = {}
    for name in LOCK_FILES:
        text = files("edge").joinpath("data", name).read_text(encoding="utf-8")
        for package, version in parse_pins(text).items():
            tested.setdefault(package, set()).add(version)
    return tested


def installed_versions(packages: Iterable[str] = RUNTIME_PACKAGES) -> dict[str, str]:
    """The installed version of each of ``packages`` that is installed at all."""
    found = {}
    for package in packages:
        try:
            found[canonical(package)] = metadata.version(package)
        except metadata.PackageNotFoundError:
            continue
    return found


def untested(installed: Mapping[str, str], tested: Mapping[str, set[str]]) -> list[str]:
    """One line per installed runtime package whose version was never tested."""
    lines = []
    for package, version in sorted(installed.items()):
        known = tested.get(package)
        if known is not None and version not in known:
            lines.append(f"{package} {version} (tested: {', '.join(sorted(known))})")
    return lines


def untested_runtime_versions() -> list[str]:
    """:func:`untested` for this environment."""
    return untested(installed_versions(), tested_versions())


def warn_if_untested() -> None:
    """Log one warning naming every runtime dependency outside the tested set."""
    lines = untested_runtime_versions()
    if lines:
        log.warning(
            "untested versions installed: %s. Results may differ from what the tests check; "
            "install with scripts/setup.sh (it uses edge/data/constraints.txt) to get the "
            "tested set",
            "; ".join(lines),
        )
