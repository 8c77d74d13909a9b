"""Video files, animated GIFs and webcams, read through OpenCV.

Timestamps come from the source:

* **Files** use the container's presentation timestamp, which OpenCV's FFmpeg backend
  reports as ``CAP_PROP_POS_MSEC`` right after ``read()`` (relative to the stream's start
  time, so the first frame is usually 0).  Variable GIF frame delays are preserved.  If a
  file's timestamps are broken (NaN or not increasing) the source warns once and continues
  at ``1 / nominal_fps`` per frame from the last good timestamp.
* **Webcams** are the one exception: OpenCV has no reliable sensor time across backends.
  V4L2 reports the driver's buffer timestamp as ``CAP_PROP_POS_MSEC``, which is used while
  it is positive and increasing; otherwise the source falls back to ``time.monotonic()``
  taken right after ``grab()`` (the closest moment to capture we can observe).

OpenCV decodes to BGR; every frame is converted to RGB once, in place.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from edge.capture.base import CameraSettings, SourceBase
from edge.errors import SourceError
from edge.nativelog import native_stderr_to
from edge.types import Frame

log = logging.getLogger(__name__)

DECODE_THREADS = 1

#: Frame rate assumed when a file's timestamps are broken *and* it declares no frame rate.
FALLBACK_FPS = 30.0

# Container frame counts are often estimates (movup_run_treadmill.mp4 announces 541 and
# decodes 538), so only a clearly larger shortfall is reported as a truncated file.
_COUNT_SLACK_FRAMES = 3
_COUNT_SLACK_FRACTION = 0.02


# Still-image formats by their first bytes: FFmpeg opens any of them as a one-frame "video",
# which is never what a user meant by a clip (a GIF, animated or not, stays a clip).
_STILL_IMAGES = (
    (b"\x89PNG\r\n\x1a\n", "a PNG"),
    (b"\xff\xd8\xff", "a JPEG"),
    (b"BM", "a BMP"),
    (b"II*\x00", "a TIFF"),
    (b"MM\x00*", "a TIFF"),
)


_MJPEG_PROBE_BYTES = 4 << 20  # a still JPEG is smaller; a bare MJPEG stream has its 2nd here


def still_image_kind(path: Path) -> str | None:
    """``"a PNG"`` etc. when the file is a still image whatever its name, else ``None``.

    A bare MJPEG stream starts like a JPEG too: it is told apart by a second picture
    following the first (end-of-image marker, then start-of-image).
    """
    try:
        with path.open("rb") as f:
            head = f.read(_MJPEG_PROBE_BYTES)
    except OSError:
        return None
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "a WebP"
    kind = next((kind for magic, kind in _STILL_IMAGES if head.startswith(magic)), None)
    if kind == "a JPEG" and b"\xff\xd9\xff\xd8" in head:
        return None
    return kind


def bgr_to_rgb(image: np.ndarray) -> np.ndarray:
    """Swap OpenCV's BGR to RGB in place (one pass, no new allocation) and return it."""
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB, dst=image)


class PtsTimeline:
    """Turns a file's presentation timestamps into strictly increasing seconds.

    Feed it every frame's index and ``CAP_PROP_POS_MSEC``.  While the timestamps are finite
    and increasing they are used as they are.  At the first broken one it warns once and
    from then on counts ``1 / fps`` per frame from the last good timestamp, so the result
    stays increasing and stays close to where the file would have been.
    """

    def __init__(self, fps: float | None, name: str) -> None:
        self.fps = fps if fps and math.isfinite(fps) and fps > 0 else FALLBACK_FPS
        self.name = name
        self.broken = False
        self._anchor_index = 0
        self._anchor_time = 0.0
        self._last_ms: float | None = None

    def timestamp(self, index: int, pts_ms: float) -> float:
        if not self.broken:
            if (
                math.isfinite(pts_ms)
                and pts_ms >= 0
                and (self._last_ms is None or pts_ms > self._last_ms)
            ):
                self._last_ms = pts_ms
                self._anchor_index, self._anchor_time = index, pts_ms / 1000.0
                return self._anchor_time
            self.broken = True
            log.warning(
                "%s: broken presentation timestamp at frame %d (%r ms after %r ms); "
                "continuing at 1/%.3g s per frame",
                self.name,
                index,
                pts_ms,
                self._last_ms,
                self.fps,
            )
            if self._last_ms is None:  # broken from the first frame: plain index / fps
                self._anchor_index, self._anchor_time = 0, 0.0
                return index / self.fps
        return self._anchor_time + (index - self._anchor_index) / self.fps


class VideoFileSource(SourceBase):
    """A video file or animated GIF, decoded by OpenCV (FFmpeg backend).

    Opening checks that the file exists, that OpenCV can open it and that it yields at
    least one frame, so a bad clip fails here with a :class:`~edge.errors.SourceError`
    rather than half-way through a run.  Each call to :meth:`frames` starts from the
    beginning of the file.  A decode error in the middle ends the stream with a warning;
    the frames already yielded stand.
    """

    live = False

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.name = self.path.name
        if not self.path.exists():
            raise SourceError(f"{self.path}: no such file")
        if self.path.is_dir():
            raise SourceError(f"{self.path}: is a directory, expected a video file or GIF")
        still = still_image_kind(self.path)
        if still:
            raise SourceError(
                f"{self.path}: is {still} still image, not a video (expected a video file "
                "or an animated GIF)"
            )
        self._closed = False
        self._capture, first = self._open()
        # The first frame is decoded on opening (to fail early); frames() hands it out once.
        self._first: tuple[np.ndarray, float] | None = first
        self.frame_count = _positive_int(self._capture.get(cv2.CAP_PROP_FRAME_COUNT))
        self.nominal_fps = _positive_float(self._capture.get(cv2.CAP_PROP_FPS))

    def _open(self) -> tuple[Any, tuple[np.ndarray, float]]:
        with native_stderr_to(log):  # FFmpeg's own complaints go to the debug log
            # One decoder thread: decoding (~3 ms a frame here) stays on one core and never
            # competes with the interpreter, which is the slower stage (measured: end-to-end
            # replay 10.9 ms/frame vs 13.0 with FFmpeg's default thread count, on 2 cores).
            capture = cv2.VideoCapture(
                str(self.path), cv2.CAP_FFMPEG, [cv2.CAP_PROP_N_THREADS, DECODE_THREADS]
            )
            ok, image = capture.read() if capture.isOpened() else (False, None)
        if not capture.isOpened():
            capture.release()
            raise SourceError(
                f"{self.path}: cannot open as a video (expected a video file or GIF that "
                "FFmpeg can decode; is it corrupt or truncated?)"
            )
        if not ok or image is None:
            capture.release()
            raise SourceError(
                f"{self.path}: no frame could be decoded (expected a video file or GIF; "
                "is it corrupt or truncated?)"
            )
        return capture, (image, capture.get(cv2.CAP_PROP_POS_MSEC))

    def frames(self) -> Iterator[Frame]:
        """Yield every frame from the start: RGB, container timestamps, index from 0."""
        if self._closed:
            raise ValueError(f"{self.name}: source is closed")
        if self._first is None:  # a previous pass advanced the capture: start again
            self._capture.release()
            self._capture, self._first = self._open()
        capture, (image, pts_ms) = self._capture, self._first
        self._first = None
        timeline = PtsTimeline(self.nominal_fps, self.name)
        index = 0
        while True:
            timestamp = timeline.timestamp(index, pts_ms)
            yield Frame(image=bgr_to_rgb(image), timestamp=timestamp, index=index)
            index += 1
            try:
                ok, image = capture.read()
            except cv2.error as exc:
                log.warning(
                    "%s: read error after %d frames (%s); stream ends", self.name, index, exc
                )
                return
            if not ok or image is None:
                self._report_early_end(index)
                return
            pts_ms = capture.get(cv2.CAP_PROP_POS_MSEC)

    def _report_early_end(self, decoded: int) -> None:
        if self._closed or self.frame_count is None:
            return
        slack = max(_COUNT_SLACK_FRAMES, _COUNT_SLACK_FRACTION * self.frame_count)
        if self.frame_count - decoded > slack:
            log.warning(
                "%s: stream ended after %d of the %d frames the container announces; "
                "the file may be truncated or corrupt",
                self.name,
                decoded,
                self.frame_count,
            )

    def close(self) -> None:
        self._closed = True
        self._capture.release()


CaptureFactory = Callable[[int], Any]


class WebcamSource(SourceBase):
    """A USB/V4L2 webcam by index, through OpenCV.

    ``settings`` requests a resolution and frame rate (the camera picks the nearest it
    supports) and flips; the lores stream of :class:`~edge.capture.base.CameraSettings` is
    a Pi-camera feature and is not emulated here.  ``capture_factory`` and ``clock`` exist
    so tests can stand in for a camera.
    """

    live = True
    frame_count: int | None = None  # live: no end, so no total

    def __init__(
        self,
        index: int,
        settings: CameraSettings | None = None,
        *,
        capture_factory: CaptureFactory | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.index = index
        self.name = f"webcam:{index}"
        self.settings = settings
        self._clock = clock
        factory = capture_factory or cv2.VideoCapture
        self._capture = factory(index)
        if not self._capture.isOpened():
            self._capture.release()
            raise SourceError(
                f"{self.name}: cannot open camera (expected a video device /dev/video{index} "
                "that is connected and not in use)"
            )
        if settings is not None:
            self._capture.set(cv2.CAP_PROP_FRAME_WIDTH, settings.width)
            self._capture.set(cv2.CAP_PROP_FRAME_HEIGHT, settings.height)
            self._capture.set(cv2.CAP_PROP_FPS, settings.fps)
            self._capture.set(cv2.CAP_PROP_BUFFERSIZE, settings.buffer_count)
        reported = _positive_float(self._capture.get(cv2.CAP_PROP_FPS))
        self.nominal_fps = reported or (settings.fps if settings else None)
        self._flip_code = _flip_code(settings)

    def frames(self) -> Iterator[Frame]:
        """Yield frames until the camera stops delivering (a warning says so)."""
        timestamps = _WebcamTimeline(self.name)
        index = 0
        while True:
            try:
                grabbed = self._capture.grab()
                grabbed_at = self._clock()
                ok, image = self._capture.retrieve() if grabbed else (False, None)
            except cv2.error as exc:
                ok, image = False, None
                log.warning("%s: read error: %s", self.name, exc)
            if not ok or image is None:
                if index == 0:
                    raise SourceError(f"{self.name}: camera opened but delivered no frame")
                log.warning("%s: camera stopped delivering after %d frames", self.name, index)
                return
            timestamp = timestamps.timestamp(self._capture.get(cv2.CAP_PROP_POS_MSEC), grabbed_at)
            image = bgr_to_rgb(image)
            if self._flip_code is not None:
                image = cv2.flip(image, self._flip_code)
            yield Frame(image=image, timestamp=timestamp, index=index)
            index += 1

    def close(self) -> None:
        self._capture.release()


class _WebcamTimeline:
    """Seconds since the first frame: driver timestamps while sane, else grab-time clock."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.use_driver_time = True
        self._first_ms: float | None = None
        self._last_ms = -math.inf
        self._last = -math.inf
        self._last_clock = 0.0

    def timestamp(self, driver_ms: float, clock_now: float) -> float:
        if self.use_driver_time:
            if math.isfinite(driver_ms) and driver_ms > 0 and driver_ms > self._last_ms:
                if self._first_ms is None:
                    self._first_ms = driver_ms
                self._last_ms = driver_ms
                return self._accept((driver_ms - self._first_ms) / 1000.0, clock_now)
            if self._first_ms is not None:
                log.warning(
                    "%s: driver timestamps stopped increasing; using the monotonic "
                    "clock at grab from here on",
                    self.name,
                )
            self.use_driver_time = False
        if self._last == -math.inf:
            return self._accept(0.0, clock_now)
        # Continue from the previous frame so the two clocks never mix.
        return self._accept(self._last + (clock_now - self._last_clock), clock_now)

    def _accept(self, result: float, clock_now: float) -> float:
        if result <= self._last:  # coarse clock or identical grab times
            result = math.nextafter(self._last, math.inf)
        self._last, self._last_clock = result, clock_now
        return result


def _flip_code(settings: CameraSettings | None) -> int | None:
    if settings is None or not (settings.hflip or settings.vflip):
        return None
    if settings.hflip and settings.vflip:
        return -1
    return 1 if settings.hflip else 0


def _positive_int(value: float) -> int | None:
    # A raw MJPEG stream reports a huge negative count; treat anything odd as unknown.
    return round(value) if math.isfinite(value) and value >= 1 else None


def _positive_float(value: float) -> float | None:
    return float(value) if math.isfinite(value) and value > 0 else None
