"""Shared fixtures: where the real model, clips and lab data live.

The real data sits beside the checkout in ``../shared`` (never in the repo).  Locally a
missing data set skips the tests that need it, with the reason; under CI (``CI=true``) it is
an error, so a broken CI environment can never pass by skipping.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
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
