"""The tested set of versions: lock files that parse, an environment that matches them, and a
clear warning when it does not."""

from __future__ import annotations

import logging
import os

import pytest

from edge import versions


def test_pins_parse_with_comments_markers_and_odd_names():
    text = (
        "# header\nOpenCV_Python.Headless==5.1.0.95  # comment\n"
        "numpy==2.4.6 ; python_version>'3'\n\n"
    )
    assert versions.parse_pins(text) == {"opencv-python-headless": "5.1.0.95", "numpy": "2.4.6"}


def test_lock_files_pin_every_runtime_dependency():
    tested = versions.tested_versions()
    for package in versions.RUNTIME_PACKAGES:
        assert tested.get(package), f"{package} is pinned in no lock file"
    assert len(tested["numpy"]) == 2  # NumPy 2 beside LiteRT, NumPy 1 beside tflite-runtime


def test_untested_names_the_package_its_version_and_the_tested_ones():
    tested = {"numpy": {"2.4.6", "1.26.4"}, "paho-mqtt": {"2.2.0"}}
    installed = {"numpy": "2.5.0", "paho-mqtt": "2.2.0", "somethingelse": "1.0"}
    assert versions.untested(installed, tested) == ["numpy 2.5.0 (tested: 1.26.4, 2.4.6)"]


@pytest.mark.skipif(
    os.environ.get("TRACKSIDE_ALLOW_UNTESTED_VERSIONS") == "1",
    reason="scripts/drift.sh runs the suite on the newest versions on purpose",
)
def test_this_environment_is_the_tested_set():
    """CI installs with the lock: a mismatch means the lock and the install disagree."""
    assert versions.untested_runtime_versions() == []


def test_untested_versions_are_warned_about_once_with_the_fix(monkeypatch, caplog):
    monkeypatch.setattr(versions, "installed_versions", lambda: {"opencv-python-headless": "9.9.9"})
    with caplog.at_level(logging.WARNING, logger="edge.versions"):
        versions.warn_if_untested()
    [record] = caplog.records
    assert "opencv-python-headless 9.9.9" in record.getMessage()
    assert "scripts/setup.sh" in record.getMessage()
    caplog.clear()
    monkeypatch.setattr(versions, "installed_versions", lambda: {"numpy": "2.4.6"})
    with caplog.at_level(logging.WARNING, logger="edge.versions"):
        versions.warn_if_untested()
    assert caplog.records == []
