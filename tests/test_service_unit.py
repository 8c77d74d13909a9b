"""The systemd unit and the shell scripts, checked by the tools systemd and shells provide."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
UNIT = REPO / "systemd" / "trackside.service"
DASHBOARD_UNIT = REPO / "systemd" / "trackside-dashboard.service"
SCRIPTS = [REPO / "scripts" / "install-pi.sh", REPO / "scripts" / "setup.sh", REPO / ".ci" / "run"]


def unit_for_checks(tmp_path: Path, unit: Path = UNIT) -> Path:
    # The installed binary does not exist here; everything else is checked as shipped.
    text = unit.read_text().replace("/opt/trackside/.venv/bin/trackside", "/bin/true")
    copy = tmp_path / unit.name
    copy.write_text(text)
    return copy


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze not installed")
def test_unit_verifies_cleanly(tmp_path):
    result = subprocess.run(
        ["systemd-analyze", "verify", str(unit_for_checks(tmp_path))],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze not installed")
def test_unit_sandboxing_exposure_stays_low(tmp_path):
    result = subprocess.run(
        ["systemd-analyze", "security", "--offline=true", str(unit_for_checks(tmp_path))],
        capture_output=True,
        text=True,
        timeout=60,
    )
    match = re.search(r"Overall exposure level for trackside.service: ([\d.]+)", result.stdout)
    assert match, result.stdout[-500:] + result.stderr
    assert float(match.group(1)) <= 2.0


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze not installed")
@pytest.mark.parametrize("unit", [UNIT, DASHBOARD_UNIT], ids=lambda p: p.name)
def test_a_unit_that_keeps_failing_stops_restarting(tmp_path, unit):
    """Issue 12, finding 1: Restart=on-failure with no start limit looped forever."""
    text = unit.read_text()
    unit_section = text.split("[Service]")[0]
    assert "Restart=on-failure" in text
    # In [Unit] (systemd ignores them in [Service] since v230): at most 5 starts in 10 min.
    interval = re.search(r"^StartLimitIntervalSec=(\d+)$", unit_section, re.M)
    burst = re.search(r"^StartLimitBurst=(\d+)$", unit_section, re.M)
    assert interval and burst, "no start limit in [Unit]"
    restart_sec = int(re.search(r"^RestartSec=(\d+)$", text, re.M).group(1))
    # The limit must bite: the burst of restarts fits well inside the interval.
    assert int(burst.group(1)) * restart_sec < int(interval.group(1))
    shown = subprocess.run(
        ["systemd-analyze", "verify", str(unit_for_checks(tmp_path, unit))],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "StartLimit" not in shown.stderr, shown.stderr


def test_unit_keeps_the_promises_the_daemon_relies_on():
    text = UNIT.read_text()
    for line in (
        "Type=notify",
        "WatchdogSec=",
        "Restart=on-failure",
        "StateDirectory=trackside",
        "SupplementaryGroups=video gpio",
        "ProtectSystem=strict",
        "NoNewPrivileges=yes",
    ):
        assert line in text


@pytest.mark.skipif(not shutil.which("shellcheck"), reason="shellcheck not installed")
@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_shell_scripts_pass_shellcheck(script):
    result = subprocess.run(["shellcheck", str(script)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout
