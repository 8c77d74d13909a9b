"""The Raspberry Pi camera through picamera2 (a thin adapter; picamera2 is imported lazily).

picamera2 comes from Raspberry Pi OS's apt repository (``sudo apt install
python3-picamera2``); a virtual environment needs ``--system-site-packages`` to see it.

The camera is configured for video with two streams from the same exposure:

* **main** at ``width`` × ``height`` — the picture that is annotated and recorded;
* **lores** at ``lores_width`` × ``lores_height`` — scaled by the ISP for free, delivered as
  :attr:`Frame.inference_image` for the pose model.  It is requested as YUV420 because
  that is the only lores format the Pi 4's ISP offers (the Pi 5 also allows RGB, but one
  format for both keeps a single tested path); converting 320×240 YUV to RGB is cheap.

Each frame comes from one ``capture_request()`` so main, lores and metadata belong to the
same exposure; its timestamp is the request's ``SensorTimestamp`` (nanoseconds, start of
exposure), in seconds since the first frame.  Every request is released before the frame
is handed on, so a slow or departing consumer never holds camera buffers.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from edge.capture.base import CameraSettings, SourceBase
from edge.errors import SourceError
from edge.types import Frame

log = logging.getLogger(__name__)

# libcamera names packed formats by their order in a little-endian 32-bit word, so in
# memory (and in numpy) picamera2's "RGB888" is B,G,R and "BGR888" is R,G,B (the
# picamera2 manual's format table says the same).  Asking for "BGR888" therefore hands us
# RGB arrays with no conversion at all; both formats are supported by the main stream on
# the Pi 4 and Pi 5 ISPs.
MAIN_FORMAT = "BGR888"
LORES_FORMAT = "YUV420"

# Sensor modes within 1% of the requested rate count as reaching it (modes report e.g.
# 120.13 or 59.9 fps).
_FPS_TOLERANCE = 0.99

INSTALL_HINT = (
    "picamera2 not available: install python3-picamera2 from Raspberry Pi OS apt "
    "(sudo apt install python3-picamera2) and create the virtual environment with "
    "--system-site-packages"
)


def _default_factory(camera_num: int) -> Any:
    try:
        from picamera2 import Picamera2
    except ImportError as exc:
        raise SourceError(INSTALL_HINT) from exc
    return Picamera2(camera_num)


def _default_transform(hflip: bool, vflip: bool) -> Any:
    try:
        from libcamera import Transform
    except ImportError as exc:
        raise SourceError(INSTALL_HINT) from exc
    return Transform(hflip=int(hflip), vflip=int(vflip))


def frame_duration_us(fps: float) -> int:
    """The frame duration picamera2's ``FrameDurationLimits`` control wants, in µs."""
    return round(1_000_000 / fps)


def choose_sensor_mode(
    modes: list[dict[str, Any]], width: int, height: int, fps: float
) -> dict[str, Any] | None:
    """Pick the sensor mode for a stream of ``width`` × ``height`` at ``fps``.

    Among the modes fast enough, prefer those at least as large as the stream (no
    upscaling), and among those the smallest (binned modes read out faster, with less
    rolling shutter).  If none is large enough, take the largest fast one.  Returns
    ``None`` when the camera lists no modes; raises SourceError when none is fast enough.
    """
    if not modes:
        return None
    fast = [m for m in modes if float(m.get("fps", 0.0)) >= fps * _FPS_TOLERANCE]
    if not fast:
        best = max(modes, key=lambda m: float(m.get("fps", 0.0)))
        raise SourceError(
            f"picamera: camera.fps {fps:g} is faster than any sensor mode (fastest "
            f"{float(best['fps']):.1f} fps at {best['size'][0]}x{best['size'][1]})"
        )
    area = lambda m: m["size"][0] * m["size"][1]  # noqa: E731
    covering = [m for m in fast if m["size"][0] >= width and m["size"][1] >= height]
    return min(covering, key=area) if covering else max(fast, key=area)


class PiCameraSource(SourceBase):
    """A Raspberry Pi camera (CSI) driven by picamera2.

    ``picamera2_factory(camera_num)`` returns a ``Picamera2``-like object and
    ``transform_factory(hflip, vflip)`` a ``libcamera.Transform``; both default to the real
    libraries and exist so tests can pass fakes.  Opening configures the camera; it starts
    streaming when :meth:`frames` is iterated and stops when that iteration ends.
    """

    live = True
    frame_count: int | None = None  # live: no end, so no total

    def __init__(
        self,
        settings: CameraSettings,
        camera_num: int = 0,
        *,
        picamera2_factory: Callable[[int], Any] | None = None,
        transform_factory: Callable[[bool, bool], Any] | None = None,
    ) -> None:
        self.settings = settings
        self.camera_num = camera_num
        self.name = "picamera" if camera_num == 0 else f"picamera:{camera_num}"
        self.nominal_fps = float(settings.fps)
        self.dropped_frames = 0
        self._running = False
        self._closed = False
        _check_sizes(settings)
        factory = picamera2_factory or _default_factory
        make_transform = transform_factory or _default_transform
        try:
            self._camera = factory(camera_num)
        except SourceError:
            raise
        except IndexError as exc:
            raise SourceError(
                f"{self.name}: no camera attached at index {camera_num} (check the ribbon "
                f"cable and `rpicam-hello --list-cameras`)"
            ) from exc
        except RuntimeError as exc:
            raise SourceError(f"{self.name}: cannot open camera: {exc}") from exc
        try:
            self.sensor_modes: list[dict[str, Any]] = list(self._camera.sensor_modes)
            self.sensor_mode = choose_sensor_mode(
                self.sensor_modes, settings.width, settings.height, settings.fps
            )
            self.configuration = self._camera.create_video_configuration(
                **self._configuration_request(make_transform)
            )
            self._camera.configure(self.configuration)
        except SourceError:
            self._camera.close()
            raise
        except (RuntimeError, ValueError) as exc:
            self._camera.close()
            raise SourceError(f"{self.name}: cannot configure camera: {exc}") from exc

    def _configuration_request(self, make_transform: Callable[[bool, bool], Any]) -> dict:
        s = self.settings
        duration = frame_duration_us(s.fps)
        request: dict[str, Any] = {
            "main": {"size": (s.width, s.height), "format": MAIN_FORMAT},
            "lores": (
                {"size": (s.lores_width, s.lores_height), "format": LORES_FORMAT}
                if s.has_lores
                else None
            ),
            "buffer_count": s.buffer_count,
            # Equal min and max pin the frame rate; the sensor mode chosen can sustain it.
            "controls": {"FrameDurationLimits": (duration, duration)},
            "transform": make_transform(s.hflip, s.vflip),
        }
        if self.sensor_mode is not None:
            request["sensor"] = {
                "output_size": tuple(self.sensor_mode["size"]),
                "bit_depth": self.sensor_mode["bit_depth"],
            }
        return request

    def frames(self) -> Iterator[Frame]:
        """Start the camera and yield frames until the consumer stops (then stop it)."""
        if self._closed:
            raise ValueError(f"{self.name}: source is closed")
        period_ns = 1e9 / self.settings.fps
        self._camera.start()
        self._running = True
        first_ns: int | None = None
        last_ns: int | None = None
        index = 0
        try:
            while True:
                try:
                    request = self._camera.capture_request()
                except RuntimeError as exc:
                    raise SourceError(f"{self.name}: camera stopped delivering: {exc}") from exc
                try:
                    main = request.make_array("main")
                    lores = request.make_array("lores") if self.settings.has_lores else None
                    sensor_ns = int(request.get_metadata()["SensorTimestamp"])
                finally:
                    request.release()
                if first_ns is None:
                    first_ns = sensor_ns
                elif last_ns is not None and sensor_ns <= last_ns:
                    log.warning("%s: sensor timestamp went backwards; frame skipped", self.name)
                    continue
                elif last_ns is not None and sensor_ns - last_ns > 1.5 * period_ns:
                    self.dropped_frames += round((sensor_ns - last_ns) / period_ns) - 1
                last_ns = sensor_ns
                yield Frame(
                    image=main,
                    timestamp=(sensor_ns - first_ns) / 1e9,
                    index=index,
                    inference_image=None
                    if lores is None
                    else yuv420_to_rgb(
                        lores, self.settings.lores_width, self.settings.lores_height
                    ),
                )
                index += 1
        finally:
            self._stop()

    def _stop(self) -> None:
        if self._running:
            self._running = False
            self._camera.stop()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._stop()
        self._camera.close()


def yuv420_to_rgb(array: np.ndarray, width: int, height: int) -> np.ndarray:
    """Convert picamera2's YUV420 array ((height*3/2) × stride) to height × width × 3 RGB.

    The rows may be padded to a stride wider than ``width``; converting at the stride width
    keeps the U and V planes aligned, and the padding columns are then cut off.
    """
    import cv2  # OpenCV is a runtime dependency; imported here to keep module import light

    rows, stride = array.shape[:2]
    if rows != height * 3 // 2 or stride < width:
        raise ValueError(f"lores YUV420 array of shape {array.shape} does not fit {width}x{height}")
    rgb = cv2.cvtColor(array, cv2.COLOR_YUV2RGB_I420)
    return rgb if stride == width else np.ascontiguousarray(rgb[:, :width])


def _check_sizes(s: CameraSettings) -> None:
    if s.fps <= 0 or not math.isfinite(s.fps):
        raise SourceError(f"picamera: camera.fps must be a positive number, got {s.fps!r}")
    if s.has_lores and (s.lores_width > s.width or s.lores_height > s.height):
        raise SourceError(
            f"picamera: camera.lores_width x lores_height ({s.lores_width}x{s.lores_height}) "
            f"must not exceed camera.width x height ({s.width}x{s.height})"
        )
