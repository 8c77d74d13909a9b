"""Frame sources: video files, GIFs, webcams and the Raspberry Pi camera, behind one interface.

:func:`open_source` turns a spec into a :class:`FrameSource`:

* ``"picamera"`` / ``"picamera:N"`` → :class:`~edge.capture.picamera.PiCameraSource`
* an ``int``, ``"webcam:N"`` or ``"/dev/videoN"`` → :class:`~edge.capture.opencv.WebcamSource`
* anything else is a path → :class:`~edge.capture.opencv.VideoFileSource`

Importing this package loads neither OpenCV nor picamera2; the concrete sources are
imported on first use.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edge.capture.base import CameraSettings, FrameSource, SourceBase, parse_spec
from edge.capture.pacing import LoopedSource, paced

if TYPE_CHECKING:
    from edge.capture.opencv import VideoFileSource, WebcamSource
    from edge.capture.picamera import PiCameraSource

__all__ = [
    "CameraSettings",
    "FrameSource",
    "LoopedSource",
    "PiCameraSource",
    "SourceBase",
    "VideoFileSource",
    "WebcamSource",
    "open_source",
    "paced",
    "parse_spec",
]


def open_source(
    spec: str | int | os.PathLike[str], *, camera: CameraSettings | None = None
) -> FrameSource:
    """Open the source ``spec`` names (see the module docstring).

    ``camera`` configures live cameras (defaults apply to the Pi camera when omitted) and is
    ignored for files.  Raises :class:`~edge.errors.SourceError` with the spec and what was
    expected when the source cannot be opened.
    """
    kind, target = parse_spec(spec)
    if isinstance(target, Path):
        from edge.capture.opencv import VideoFileSource

        return VideoFileSource(target)
    if kind == "picamera":
        from edge.capture.picamera import PiCameraSource

        return PiCameraSource(camera or CameraSettings(), camera_num=target)
    from edge.capture.opencv import WebcamSource

    return WebcamSource(target, camera)


def __getattr__(name: str) -> Any:
    if name in ("VideoFileSource", "WebcamSource"):
        from edge.capture import opencv

        return getattr(opencv, name)
    if name == "PiCameraSource":
        from edge.capture import picamera

        return picamera.PiCameraSource
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
