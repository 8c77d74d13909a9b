"""The code style the project adopted (ruff lint and format), checked like any other test."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
RUFF = shutil.which("ruff") or str(Path(sys.executable).parent / "ruff")
MYPY = Path(sys.executable).parent / "mypy"


@pytest.mark.skipif(not Path(RUFF).exists(), reason="ruff not installed (pip install -e .[dev])")
@pytest.mark.parametrize("command", [["check"], ["format", "--check"]], ids=["lint", "format"])
def test_ruff(command):
    result = subprocess.run(
        [RUFF, *command, "."], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]


@pytest.mark.skipif(not MYPY.exists(), reason="mypy not installed (pip install -e .[dev])")
def test_mypy_finds_no_type_error_in_the_package():
    # The package ships py.typed: its annotations are a promise to users, checked here with
    # the [tool.mypy] settings of pyproject.toml.
    result = subprocess.run(
        [str(MYPY), "edge"], cwd=REPO, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


# The pure stages: functions over numpy arrays and plain data (docs/architecture.md).  These
# are the imports that would bring I/O, clocks or the layers above into them.
PURE_STAGES = ("edge/gait", "edge/cues")
FORBIDDEN_IN_PURE = (
    "edge.outputs", "edge.service", "edge.dashboard", "edge.config", "edge.cli",
    "edge.capture", "edge.pose", "edge.analysis", "edge.testing",
    "time", "datetime", "socket", "threading", "subprocess", "sqlite3", "logging",
    "paho", "gpiozero", "cv2", "picamera2",
)  # fmt: skip


def _imported_modules(path: Path) -> set[str]:
    import ast

    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _is_under(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


@pytest.mark.parametrize("stage", PURE_STAGES)
def test_pure_stages_import_no_io_clock_or_upper_layer(stage):
    offences = [
        f"{path.relative_to(REPO)} imports {module}"
        for path in sorted((REPO / stage).rglob("*.py"))
        for module in sorted(_imported_modules(path))
        if any(_is_under(module, banned) for banned in FORBIDDEN_IN_PURE)
    ]
    assert not offences, "\n".join(offences)


def test_nothing_in_the_product_imports_the_test_doubles():
    offences = [
        f"{path.relative_to(REPO)} imports {module}"
        for path in sorted((REPO / "edge").rglob("*.py"))
        if "testing" not in path.relative_to(REPO / "edge").parts
        for module in _imported_modules(path)
        if _is_under(module, "edge.testing")
    ]
    assert not offences, "\n".join(offences)


# The dashboard runs on its own (``trackside dashboard``, possibly on another machine): it
# reads the broker and the results files, and must not depend on the daemon or the layers
# that assemble it (the config of every section, the CLI).
ABOVE_THE_DASHBOARD = ("edge.service", "edge.cli", "edge.config", "edge.analysis", "edge.pose")


def test_the_dashboard_does_not_import_the_daemon_or_the_layers_above_it():
    offences = [
        f"{path.relative_to(REPO)} imports {module}"
        for path in sorted((REPO / "edge" / "dashboard").rglob("*.py"))
        for module in sorted(_imported_modules(path))
        if any(_is_under(module, above) for above in ABOVE_THE_DASHBOARD)
    ]
    assert not offences, "\n".join(offences)
