"""The Pi camera adapter, driven against a fake picamera2 (no Pi needed)."""

from __future__ import annotations

import sys
from itertools import islice

import numpy as np
import pytest

from edge.capture import CameraSettings, FrameSource, open_source
from edge.capture.picamera import PiCameraSource, choose_sensor_mode, yuv420_to_rgb
from edge.errors import SourceError
from edge.testing.picamera2 import (
    BOOT_OFFSET_NS,
    IMX708_MODES,
    FakeCameraFactory,
    FakeTransform,
    scene_rgb,
)


def open_fake(settings: CameraSettings | None = None, **camera_kwargs):
    factory = FakeCameraFactory(**camera_kwargs)
    source = PiCameraSource(
        settings or CameraSettings(),
        picamera2_factory=factory,
        transform_factory=lambda h, v: FakeTransform(int(h), int(v)),
    )
    return source, factory


def test_default_configuration_requests_main_lores_buffers_and_30fps() -> None:
    source, factory = open_fake()
    config = factory.camera.configuration
    assert isinstance(source, FrameSource)
    assert source.live and source.frame_count is None and source.nominal_fps == 30.0
    assert source.name == "picamera"
    assert config["main"] == {"size": (1280, 720), "format": "BGR888"}
    assert config["lores"] == {"size": (320, 180), "format": "YUV420"}
    assert config["buffer_count"] == 4
    assert config["controls"]["FrameDurationLimits"] == (33333, 33333)
    assert config["transform"] == FakeTransform(0, 0)
    # The smallest mode that covers 1280x720 and reaches 30 fps (2x2 binned, full view).
    assert config["sensor"] == {"output_size": (1536, 864), "bit_depth": 10}
    assert factory.camera.calls == ["create_video_configuration", "configure"]


def test_high_speed_configuration_flips_and_no_lores() -> None:
    settings = CameraSettings(
        width=640,
        height=480,
        fps=120,
        lores_width=0,
        lores_height=0,
        buffer_count=6,
        hflip=True,
        vflip=True,
    )
    source, factory = open_fake(settings)
    config = factory.camera.configuration
    assert config["controls"]["FrameDurationLimits"] == (8333, 8333)
    assert config["sensor"]["output_size"] == (1536, 864)  # the 120 fps mode
    assert config["lores"] is None
    assert config["buffer_count"] == 6
    assert config["transform"] == FakeTransform(1, 1)
    frame = next(source.frames())
    assert frame.inference_image is None
    assert frame.image.shape == (480, 640, 3)
    source.close()


def test_sensor_mode_choice() -> None:
    # 1920x1080 at 50 fps needs the 2304x1296 mode (the 1536x864 one would upscale).
    assert choose_sensor_mode(IMX708_MODES, 1920, 1080, 50)["size"] == (2304, 1296)
    # Full resolution is only possible slowly; at 20 fps no mode covers 4608 so fall back
    # to the largest fast mode.
    assert choose_sensor_mode(IMX708_MODES, 4608, 2592, 14)["size"] == (4608, 2592)
    assert choose_sensor_mode(IMX708_MODES, 4608, 2592, 20)["size"] == (2304, 1296)
    assert choose_sensor_mode([], 640, 480, 30) is None
    with pytest.raises(SourceError, match=r"camera.fps 240 .*120.1 fps at 1536x864"):
        choose_sensor_mode(IMX708_MODES, 640, 480, 240)


def test_fps_above_every_sensor_mode_is_a_clear_error_and_closes_the_camera() -> None:
    factory = FakeCameraFactory()
    with pytest.raises(SourceError, match="faster than any sensor mode"):
        PiCameraSource(
            CameraSettings(fps=200),
            picamera2_factory=factory,
            transform_factory=lambda h, v: FakeTransform(),
        )
    assert factory.camera.closed


def test_timestamps_come_from_sensor_timestamp_including_a_dropped_frame() -> None:
    source, factory = open_fake(dropped=frozenset({3}))
    frames = list(islice(source.frames(), 6))
    source.close()
    period_s = 33_333 * 1000 / 1e9
    # Sequence numbers 0,1,2,4,5,6: the dropped frame shows as a double gap, and the clock
    # starts at the first frame, not at the sensor's boot-time origin or the wall clock.
    expected = [k * period_s for k in (0, 1, 2, 4, 5, 6)]
    assert [f.timestamp for f in frames] == pytest.approx(expected, abs=1e-12)
    assert [f.index for f in frames] == [0, 1, 2, 3, 4, 5]
    assert [int(f.image[0, 0, 0]) for f in frames] == [0, 1, 2, 4, 5, 6]
    assert source.dropped_frames == 1
    assert factory.camera.requests[0].timestamp_ns == BOOT_OFFSET_NS


def test_main_is_rgb_and_lores_is_rgb_inference_image_with_stride_removed() -> None:
    # 300 px is not a multiple of the 64-byte stride, so the padding must be cut off.
    source, _ = open_fake(CameraSettings(lores_width=300, lores_height=240))
    frame = next(source.frames())
    source.close()
    assert frame.image.shape == (720, 1280, 3) and frame.image.dtype == np.uint8
    assert np.array_equal(frame.image, scene_rgb(1280, 720, 0))
    lores = frame.inference_image
    assert lores is not None and lores.shape == (240, 300, 3) and lores.dtype == np.uint8
    red, green, blue = lores[120, 50], lores[120, 150], lores[120, 250]
    assert red[0] > 180 and red[2] < 60  # R high, B low: RGB order, not BGR
    assert green[1] > 160 and green[0] < 70
    assert blue[2] > 170 and blue[0] < 70
    # YUV 4:2:0 round trip is lossy only by chroma subsampling and rounding.
    interior = np.s_[8:-8, np.r_[8:92, 108:192, 208:292]]
    difference = lores.astype(int)[interior] - scene_rgb(300, 240, 0).astype(int)[interior]
    assert np.abs(difference).max() <= 6


def test_rgb888_memory_order_is_bgr_in_the_fake_like_on_the_pi() -> None:
    # Guards the reason MAIN_FORMAT is "BGR888": the fake must model the byte order.
    _, factory = open_fake()
    camera = factory.camera
    camera.configuration["main"]["format"] = "RGB888"
    camera.start()
    request = camera.capture_request()
    array = request.make_array("main")
    request.release()
    assert tuple(array[5, 5]) == (20, 30, 220)  # B, G, R of the red third


def test_every_request_is_released_even_when_the_consumer_stops_early() -> None:
    source, factory = open_fake()
    with source:
        for frame in source.frames():
            if frame.index == 2:
                break
    camera = factory.camera
    assert len(camera.requests) == 3
    assert all(r.released for r in camera.requests)
    assert camera.calls[-2:] == ["stop", "close"]
    assert camera.closed and not camera.started


def test_requests_are_released_when_reading_fails_and_the_camera_is_stopped() -> None:
    source, factory = open_fake(fail_capture_at=2)
    frames = source.frames()
    assert [f.index for f in islice(frames, 2)] == [0, 1]
    with pytest.raises(SourceError, match="picamera: camera stopped delivering: camera timed out"):
        next(frames)
    camera = factory.camera
    assert camera.released == 2 and not camera.started
    source.close()
    assert camera.closed and camera.calls.count("stop") == 1


def test_frames_can_run_twice_and_close_is_idempotent() -> None:
    source, factory = open_fake()
    first = [f.timestamp for f in islice(source.frames(), 2)]
    second = [f.timestamp for f in islice(source.frames(), 2)]
    assert first == second == pytest.approx([0.0, 0.033333])  # each run starts at 0
    assert factory.camera.calls.count("start") == 2
    source.close()
    source.close()
    assert factory.camera.calls.count("close") == 1
    with pytest.raises(ValueError, match="closed"):
        next(source.frames())


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (IndexError("list index out of range"), r"picamera: no camera attached at index 0"),
        (RuntimeError("Device or resource busy"), r"picamera: cannot open camera: Device or"),
    ],
)
def test_factory_errors_become_source_errors(error: BaseException, message: str) -> None:
    with pytest.raises(SourceError, match=message):
        PiCameraSource(CameraSettings(), picamera2_factory=FakeCameraFactory(error=error))


def test_missing_picamera2_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "picamera2", None)  # import fails as on a laptop
    with pytest.raises(SourceError, match=r"picamera2 not available: install python3-picamera2"):
        open_source("picamera")


def test_lores_larger_than_main_is_rejected() -> None:
    with pytest.raises(SourceError, match=r"lores_width x lores_height \(640x480\)"):
        open_fake(CameraSettings(width=320, height=240, lores_width=640, lores_height=480))


def test_yuv420_to_rgb_rejects_a_wrong_shape() -> None:
    with pytest.raises(ValueError, match="does not fit 320x240"):
        yuv420_to_rgb(np.zeros((240, 320), np.uint8), 320, 240)
