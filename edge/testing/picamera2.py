"""A stand-in for picamera2's ``Picamera2`` with the API surface Trackside uses.

It behaves like the real thing where it matters for the adapter:

* ``create_video_configuration`` takes the real keyword arguments and returns a dict;
* ``make_array("main")`` honours libcamera's byte order ("RGB888" is B,G,R in memory,
  "BGR888" is R,G,B), ``make_array("lores")`` gives a YUV420 array of
  (height * 3 / 2) × stride with the stride padded to 64 bytes as on the Pi;
* requests must be released, and using one after release fails;
* ``SensorTimestamp`` counts in nanoseconds from an arbitrary boot-time origin at the
  configured frame duration, and can skip sequence numbers (dropped frames).

Every call is recorded in ``calls`` for the tests to inspect.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

# Camera Module 3 (IMX708) modes as picamera2 lists them.
IMX708_MODES: list[dict[str, Any]] = [
    {"format": "SRGGB10_CSI2P", "unpacked": "SRGGB10", "bit_depth": 10, "size": (1536, 864),
     "fps": 120.13, "crop_limits": (768, 432, 3072, 1728), "exposure_limits": (9, None)},
    {"format": "SRGGB10_CSI2P", "unpacked": "SRGGB10", "bit_depth": 10, "size": (2304, 1296),
     "fps": 56.03, "crop_limits": (0, 0, 4608, 2592), "exposure_limits": (13, None)},
    {"format": "SRGGB10_CSI2P", "unpacked": "SRGGB10", "bit_depth": 10, "size": (4608, 2592),
     "fps": 14.35, "crop_limits": (0, 0, 4608, 2592), "exposure_limits": (26, None)},
]  # fmt: skip

BOOT_OFFSET_NS = 987_654_321_000  # sensor clock origin: ~16 minutes after boot


@dataclass(frozen=True)
class FakeTransform:
    hflip: int = 0
    vflip: int = 0


def scene_rgb(width: int, height: int, sequence: int) -> np.ndarray:
    """The picture the fake sensor sees: red, green and blue vertical thirds.

    Pixel (0, 0) carries the sequence number so tests can tell frames apart.
    """
    image = np.zeros((height, width, 3), np.uint8)
    third = width // 3
    image[:, :third] = (220, 30, 20)
    image[:, third : 2 * third] = (30, 200, 40)
    image[:, 2 * third :] = (25, 35, 210)
    image[0, 0] = (sequence % 256, 0, 0)
    return image


class FakeRequest:
    def __init__(self, camera: FakePicamera2, sequence: int, timestamp_ns: int) -> None:
        self.camera = camera
        self.sequence = sequence
        self.timestamp_ns = timestamp_ns
        self.released = False

    def _check(self) -> None:
        if self.released:
            raise RuntimeError("request used after release")

    def make_array(self, name: str) -> np.ndarray:
        self._check()
        if self.camera.configuration is None:
            raise RuntimeError("make_array before configure")
        stream = self.camera.configuration[name]
        if stream is None:
            raise KeyError(name)
        width, height = stream["size"]
        rgb = scene_rgb(width, height, self.sequence)
        fmt = stream["format"]
        if fmt == "BGR888":
            return rgb
        if fmt == "RGB888":
            return np.ascontiguousarray(rgb[..., ::-1])
        if fmt == "YUV420":
            stride = -(-width // 64) * 64
            padded = np.zeros((height, stride, 3), np.uint8)
            padded[:, :width] = rgb
            return cv2.cvtColor(padded, cv2.COLOR_RGB2YUV_I420)
        raise ValueError(f"fake camera cannot produce {fmt}")

    def get_metadata(self) -> dict[str, Any]:
        self._check()
        return {"SensorTimestamp": self.timestamp_ns, "FrameDuration": self.camera.frame_us}

    def release(self) -> None:
        self._check()
        self.released = True
        self.camera.released += 1


class FakePicamera2:
    def __init__(
        self,
        camera_num: int = 0,
        *,
        sensor_modes: list[dict[str, Any]] | None = None,
        dropped: frozenset[int] = frozenset(),
        fail_capture_at: int | None = None,
    ) -> None:
        self.camera_num = camera_num
        self.sensor_modes = IMX708_MODES if sensor_modes is None else sensor_modes
        self.dropped = dropped
        self.fail_capture_at = fail_capture_at
        self.calls: list[str] = []
        self.configuration: dict[str, Any] | None = None
        self.started = False
        self.closed = False
        self.requests: list[FakeRequest] = []
        self.released = 0
        self.frame_us = 33_333
        self._sequence = 0

    def create_video_configuration(
        self,
        main: dict | None = None,
        lores: dict | None = None,
        raw: dict | None = None,
        transform: Any = None,
        colour_space: Any = None,
        buffer_count: int = 6,
        controls: dict | None = None,
        display: str | None = "main",
        encode: str | None = "main",
        queue: bool = True,
        sensor: dict | None = None,
        use_case: str = "video",
    ) -> dict[str, Any]:
        self.calls.append("create_video_configuration")
        return {
            "use_case": use_case,
            "main": dict(main or {}),
            "lores": None if lores is None else dict(lores),
            "buffer_count": buffer_count,
            "controls": dict(controls or {}),
            "transform": transform if transform is not None else FakeTransform(),
            "sensor": dict(sensor or {}),
        }

    def configure(self, configuration: dict[str, Any]) -> None:
        assert not self.started, "configure while running"
        self.calls.append("configure")
        self.configuration = configuration
        limits = configuration["controls"].get("FrameDurationLimits")
        if limits:
            self.frame_us = limits[0]

    def start(self) -> None:
        assert self.configuration is not None, "start before configure"
        assert not self.started, "start twice"
        self.calls.append("start")
        self.started = True

    def capture_request(self) -> FakeRequest:
        assert self.started, "capture_request while stopped"
        while self._sequence in self.dropped:
            self._sequence += 1
        if self.fail_capture_at is not None and len(self.requests) == self.fail_capture_at:
            raise RuntimeError("camera timed out")
        timestamp = BOOT_OFFSET_NS + self._sequence * self.frame_us * 1000
        request = FakeRequest(self, self._sequence, timestamp)
        self.requests.append(request)
        self._sequence += 1
        return request

    def stop(self) -> None:
        self.calls.append("stop")
        self.started = False

    def close(self) -> None:
        self.calls.append("close")
        self.closed = True


class FakeCameraFactory:
    """Callable like ``Picamera2(camera_num)``; remembers the cameras it made."""

    def __init__(self, error: BaseException | None = None, **camera_kwargs: Any) -> None:
        self.error = error
        self.camera_kwargs = camera_kwargs
        self.cameras: list[FakePicamera2] = []

    def __call__(self, camera_num: int) -> FakePicamera2:
        if self.error is not None:
            raise self.error
        camera = FakePicamera2(camera_num, **self.camera_kwargs)
        self.cameras.append(camera)
        return camera

    @property
    def camera(self) -> FakePicamera2:
        (camera,) = self.cameras
        return camera
