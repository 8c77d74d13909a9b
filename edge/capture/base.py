"""The frame-source interface, the camera settings and the source-spec grammar.

Everything here is plain Python: the config module imports :class:`CameraSettings` from
this module, so it must never import OpenCV or picamera2.

A *frame source* is anything that yields :class:`~edge.types.Frame` objects in order, each
stamped with a time in seconds **taken from the source itself** (container presentation
time for files, sensor timestamp for the Pi camera), so a replayed clip and a live camera
look the same to the rest of the pipeline::

    from edge.capture import open_source

    with open_source("clip.mp4") as source:
        for frame in source.frames():
            print(frame.index, frame.timestamp, frame.image.shape)
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Literal, Protocol, Self, runtime_checkable

from edge.errors import SourceError
from edge.settings import Bool, Int, Number, setting
from edge.types import Frame


@dataclass(frozen=True, slots=True)
class CameraSettings:
    """How to drive a live camera (the ``[camera]`` section of the config).

    ``width`` × ``height`` is the main (full-quality) stream; ``lores_width`` ×
    ``lores_height`` is the ISP-scaled stream the pose model runs on (set both to 0 to
    disable it).  ``fps`` may reach the sensor's high-speed modes (e.g. 120 on a Camera
    Module 3).  ``buffer_count`` is how many frame buffers the driver cycles through: more
    tolerates a slower consumer, fewer keeps latency and memory low.
    """

    width: int = setting(
        1280, Int(64, 4608), "Main stream width in pixels (annotation, snapshots)."
    )
    height: int = setting(720, Int(64, 3496), "Main stream height in pixels.")
    fps: float = setting(
        30.0, Number(1, 240), "Frame rate; high-speed sensor modes reach 120 fps or more."
    )
    lores_width: int = setting(
        320,
        Int(0, 2028),
        "Width of the ISP-scaled stream the model sees (0 with lores_height = 0: no lores).",
    )
    lores_height: int = setting(180, Int(0, 1520), "Height of the ISP-scaled stream.")
    buffer_count: int = setting(
        4, Int(1, 32), "Camera buffers; more absorbs hiccups, costs memory."
    )
    hflip: bool = setting(False, Bool(), "Mirror the image horizontally (camera mounting).")
    vflip: bool = setting(False, Bool(), "Flip the image vertically.")

    @property
    def has_lores(self) -> bool:
        return self.lores_width > 0 and self.lores_height > 0


@runtime_checkable
class FrameSource(Protocol):
    """What every source offers: metadata, an ordered stream of frames, and ``close``.

    ``frame_count`` is the total for files (the container's figure, good enough for a
    progress bar; it can differ from the decoded count by a few frames) and ``None`` for
    live cameras.  ``frames()`` yields frames with ``index`` counting from 0 and strictly
    increasing ``timestamp``.  Sources are context managers: leaving the ``with`` block
    closes them.
    """

    name: str
    frame_count: int | None
    nominal_fps: float | None
    live: bool

    def frames(self) -> Iterator[Frame]: ...

    def close(self) -> None: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


class SourceBase:
    """Shared plumbing for concrete sources: context manager and iteration."""

    name: str = ""
    frame_count: int | None = None
    nominal_fps: float | None = None
    live: bool = False

    def frames(self) -> Iterator[Frame]:  # pragma: no cover - overridden
        raise NotImplementedError

    def close(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def __iter__(self) -> Iterator[Frame]:
        return self.frames()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"


SpecKind = Literal["picamera", "webcam", "file"]

_PICAMERA = re.compile(r"picamera(?::(?P<num>\S*))?")
_WEBCAM = re.compile(r"webcam:(?P<num>\S*)")
_V4L2_DEVICE = re.compile(r"/dev/video(?P<num>\d+)")


def parse_spec(spec: str | int | os.PathLike[str]) -> tuple[SpecKind, int | Path]:
    """Tell what a source spec names, without opening anything.

    * ``"picamera"`` or ``"picamera:N"`` → ``("picamera", N)`` (N defaults to 0);
    * an ``int``, ``"webcam:N"`` or ``"/dev/videoN"`` → ``("webcam", N)``;
    * anything else → ``("file", Path(spec))`` (write ``./picamera`` for a file of that name).
    """
    if isinstance(spec, bool):
        raise SourceError(f"{spec!r}: expected a clip path, webcam index or 'picamera'")
    if isinstance(spec, int):
        if spec < 0:
            raise SourceError(f"webcam:{spec}: expected a camera index >= 0")
        return "webcam", spec
    text = os.fspath(spec)
    if match := _PICAMERA.fullmatch(text):
        return "picamera", _index(match["num"], text, default=0)
    if match := _WEBCAM.fullmatch(text):
        return "webcam", _index(match["num"], text, default=None)
    if match := _V4L2_DEVICE.fullmatch(text):
        return "webcam", int(match["num"])
    return "file", Path(text)


def _index(digits: str | None, spec: str, *, default: int | None) -> int:
    if not digits and default is not None:
        return default
    if digits is None or not digits.isdigit():
        kind = spec.split(":", 1)[0]
        raise SourceError(f"{spec}: expected {kind}:N with N a camera index (0, 1, ...)")
    return int(digits)
