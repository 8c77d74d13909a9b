"""The dashboard's systemd unit, checked by systemd's own tools."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

UNIT = Path(__file__).resolve().parent.parent / "systemd" / "trackside-dashboard.service"
needs_systemd = pytest.mark.skipif(
    not shutil.which("systemd-analyze"), reason="systemd-analyze not installed"
)


def _copy(tmp_path: Path) -> Path:
    # The installed binary does not exist here; everything else is checked as shipped.
    copy = tmp_path / "trackside-dashboard.service"
    copy.write_text(UNIT.read_text().replace("/opt/trackside/.venv/bin/trackside", "/bin/true"))
    return copy


@needs_systemd
def test_unit_verifies_cleanly(tmp_path):
    result = subprocess.run(
        ["systemd-analyze", "verify", str(_copy(tmp_path))],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr


@needs_systemd
def test_unit_is_tightly_sandboxed(tmp_path):
    result = subprocess.run(
        ["systemd-analyze", "security", "--offline=true", str(_copy(tmp_path))],
        capture_output=True,
        text=True,
        timeout=60,
    )
    match = re.search(
        r"Overall exposure level for trackside-dashboard.service: ([\d.]+)", result.stdout
    )
    assert match, result.stdout[-500:] + result.stderr
    assert float(match.group(1)) <= 2.0


def test_unit_runs_the_dashboard_without_devices():
    text = UNIT.read_text()
    assert " dashboard\n" in text and "PrivateDevices=yes" in text
    assert "DeviceAllow" not in text and "SupplementaryGroups" not in text
