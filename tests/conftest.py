"""Shared fixtures: where the real model, clips and lab data live.

The real data sits beside the checkout in ``../shared`` (never in the repo).  Locally a
missing data set skips the tests that need it, with the reason; under CI (``CI=true``) it is
an error, so a broken CI environment can never pass by skipping.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from edge.testing.mosquitto import Broker

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DIR = Path(os.environ.get("TRACKSIDE_SHARED_DIR", REPO_ROOT.parent / "shared"))
LIGHTNING_INT8 = "lite-model_movenet_singlepose_lightning_tflite_int8_4.tflite"


def _require(path: Path, what: str) -> Path:
    if path.exists():
        return path
    message = f"{what} not found at {path}"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    return _require(SHARED_DIR, "shared data directory")


@pytest.fixture(scope="session")
def media_dir() -> Path:
    return _require(SHARED_DIR / "media", "real running clips")


@pytest.fixture(scope="session")
def labels_dir() -> Path:
    return _require(SHARED_DIR / "media" / "labels", "hand-made gait labels")


@pytest.fixture(scope="session")
def groundtruth_dir() -> Path:
    return _require(SHARED_DIR / "groundtruth", "lab ground-truth data")


@pytest.fixture(scope="session")
def model_dir() -> Path:
    directory = Path(os.environ.get("TRACKSIDE_MODEL_DIR", SHARED_DIR / "models"))
    return _require(directory, "model directory (set TRACKSIDE_MODEL_DIR)")


@pytest.fixture(scope="session")
def lightning_model(model_dir: Path) -> Path:
    return _require(model_dir / LIGHTNING_INT8, "MoveNet Lightning int8 model")


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    """A real Mosquitto on a free loopback port, for this test only."""
    b = Broker(tmp_path / "broker")
    b.start()
    yield b
    b.stop()


class SmallDisk:
    """A real tmpfs of a few hundred KB: a full disk without root tricks on the real one."""

    def __init__(self, path: Path, size_kb: int) -> None:
        self.path = path
        self.size_kb = size_kb

    def resize(self, size_kb: int) -> None:
        """Give the disk more (space returns) or less room, keeping its files."""
        subprocess.run(
            ["mount", "-o", f"remount,size={size_kb}k", str(self.path)],
            check=True,
            capture_output=True,
            timeout=30,
        )
        self.size_kb = size_kb

    def fill(self, leave_bytes: int = 0) -> Path:
        """Write a ballast file until at most ``leave_bytes`` are free; returns it."""
        ballast = self.path / "ballast"
        with ballast.open("ab") as out:
            while True:
                stat = os.statvfs(self.path)
                free = stat.f_bavail * stat.f_frsize
                if free <= leave_bytes:
                    break
                try:
                    out.write(b"\0" * min(4096, free - leave_bytes))
                    out.flush()
                except OSError:
                    break
        return ballast


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Callable[[int], SmallDisk]]:
    """``small_disk(256)`` mounts a 256 KB tmpfs (needs root, as CI has); unmounted after."""
    mounted: list[Path] = []

    def mount(size_kb: int) -> SmallDisk:
        path = tmp_path / f"disk{len(mounted)}"
        path.mkdir()
        result = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size_kb}k", "tmpfs", str(path)],
            capture_output=True,
            text=True,
            timeout=30,
        )
        if result.returncode != 0:
            message = f"cannot mount a tmpfs (root needed): {result.stderr.strip()}"
            if os.environ.get("CI"):
                pytest.fail(message)
            pytest.skip(message)
        mounted.append(path)
        return SmallDisk(path, size_kb)

    yield mount
    for path in reversed(mounted):
        subprocess.run(["umount", "-l", str(path)], capture_output=True, timeout=30)
