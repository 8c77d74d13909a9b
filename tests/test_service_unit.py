"""The systemd unit and the shell scripts, checked by the tools systemd and shells provide."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
UNIT = REPO / "systemd" / "trackside.service"
SCRIPTS = [REPO / "scripts" / "install-pi.sh", REPO / "scripts" / "setup.sh", REPO / ".ci" / "run"]


def unit_for_checks(tmp_path: Path) -> Path:
    # The installed binary does not exist here; everything else is checked as shipped.
    text = UNIT.read_text().replace("/opt/trackside/.venv/bin/trackside", "/bin/true")
    copy = tmp_path / "trackside.service"
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
