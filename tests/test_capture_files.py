"""Video files, GIFs and webcams through OpenCV, source specs, and paced replay.

Real-clip facts asserted here were measured with OpenCV 5.0 (FFmpeg backend) and agree with
the hand labels' ``time_s`` (labels/README.md): GIF times are the sums of earlier frame
delays; MP4 times are the container pts, except that OpenCV counts from the stream's start
time, so ``movup_run_treadmill.mp4`` (first pts 0.04 s) reads 0.04 s earlier than its labels.
"""

from __future__ import annotations

import csv
import logging
import math
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageSequence

from edge.capture import (
    CameraSettings,
    FrameSource,
    VideoFileSource,
    WebcamSource,
    open_source,
    paced,
    parse_spec,
)
from edge.capture.opencv import PtsTimeline
from edge.errors import SourceError
from edge.types import Frame

CLIP_FRAME_COUNTS = {
    "jes_woods_nike_coach_1.gif": 90,
    "eliud_kipchoge_sub2_marathon.gif": 45,
    "movup_run_treadmill.mp4": 538,
    "sports2d_demo3_running_side.mp4": 47,
    "simplehrnet_running_track_wide.mp4": 185,
}
GIFS = ["jes_woods_nike_coach_1.gif", "eliud_kipchoge_sub2_marathon.gif"]


@dataclass
class Scan:
    """What one full pass over a clip produced (timestamps only; images are large)."""

    frame_count: int | None
    nominal_fps: float | None
    timestamps: list[float] = field(default_factory=list)
    indices: list[int] = field(default_factory=list)


_scans: dict[Path, Scan] = {}


def scan(path: Path) -> Scan:
    if path not in _scans:
        with open_source(path) as source:
            result = Scan(source.frame_count, source.nominal_fps)
            for frame in source.frames():
                assert frame.image.dtype == np.uint8 and frame.image.ndim == 3
                result.timestamps.append(frame.timestamp)
                result.indices.append(frame.index)
        _scans[path] = result
    return _scans[path]


def label_times(labels_dir: Path, clip: str) -> dict[int, float]:
    with (labels_dir / f"{Path(clip).stem}.events.csv").open() as f:
        return {int(row["frame"]): float(row["time_s"]) for row in csv.DictReader(f)}


# --- real clips ------------------------------------------------------------------------------


@pytest.mark.media
@pytest.mark.parametrize(("clip", "count"), CLIP_FRAME_COUNTS.items())
def test_real_clips_decode_every_frame_in_order(media_dir: Path, clip: str, count: int) -> None:
    result = scan(media_dir / clip)
    assert len(result.timestamps) == count
    assert result.indices == list(range(count))
    assert result.timestamps[0] == 0.0
    assert all(b > a for a, b in pairwise(result.timestamps))
    # The container's count is for a progress bar: exact here except movup, whose container
    # announces 541 for 538 decodable frames.
    assert result.frame_count is not None and abs(result.frame_count - count) <= 3


@pytest.mark.media
@pytest.mark.parametrize("clip", GIFS)
def test_gif_timestamps_are_the_sums_of_frame_delays(
    media_dir: Path, labels_dir: Path, clip: str
) -> None:
    with Image.open(media_dir / clip) as gif:
        delays_ms = [page.info["duration"] for page in ImageSequence.Iterator(gif)]
    expected = np.concatenate([[0.0], np.cumsum(delays_ms[:-1]) / 1000.0])
    timestamps = scan(media_dir / clip).timestamps
    assert len(set(delays_ms)) > 1  # the delays really vary, so this checks something
    assert timestamps == pytest.approx(expected.tolist(), abs=1e-9)
    for frame, time_s in label_times(labels_dir, clip).items():
        assert timestamps[frame] == pytest.approx(time_s, abs=1e-9), f"frame {frame}"


@pytest.mark.media
@pytest.mark.parametrize(
    ("clip", "label_offset_s"),
    [
        ("sports2d_demo3_running_side.mp4", 0.0),
        ("simplehrnet_running_track_wide.mp4", 0.0),
        ("movup_run_treadmill.mp4", 0.04),  # ffmpeg's first pts; OpenCV starts at 0
    ],
)
def test_mp4_timestamps_match_the_labelled_pts(
    media_dir: Path, labels_dir: Path, clip: str, label_offset_s: float
) -> None:
    timestamps = scan(media_dir / clip).timestamps
    labels = label_times(labels_dir, clip)
    assert len(labels) >= 6
    for frame, time_s in labels.items():
        assert timestamps[frame] + label_offset_s == pytest.approx(time_s, abs=1e-6), frame


@pytest.mark.media
def test_frames_are_rgb(media_dir: Path) -> None:
    path = media_dir / "simplehrnet_running_track_wide.mp4"
    with open_source(path) as source:
        image = next(source.frames()).image
    assert image.shape == (720, 1680, 3) and image.flags.c_contiguous
    track = image[560:630, 200:1500].reshape(-1, 3).mean(axis=0)  # red running track
    sky = image[100:250, 200:1500].reshape(-1, 3).mean(axis=0)  # blue sky
    assert track[0] > track[2] + 40
    assert sky[2] > sky[0] + 40
    capture = cv2.VideoCapture(str(path))
    _, bgr = capture.read()
    capture.release()
    assert np.array_equal(image, bgr[..., ::-1])


@pytest.mark.media
def test_frames_restarts_from_the_beginning(media_dir: Path) -> None:
    with open_source(media_dir / "eliud_kipchoge_sub2_marathon.gif") as source:
        assert isinstance(source, FrameSource) and not source.live
        assert source.name == "eliud_kipchoge_sub2_marathon.gif"
        first = next(source.frames())
        again = [f for _, f in zip(range(3), source.frames(), strict=False)]
    assert [f.index for f in again] == [0, 1, 2]
    assert np.array_equal(first.image, again[0].image)
    with pytest.raises(ValueError, match="closed"):
        next(source.frames())


# --- synthetic files -------------------------------------------------------------------------


def test_gif_with_variable_delays_keeps_them(tmp_path: Path) -> None:
    delays_ms = [50, 120, 30, 200, 70, 90]
    pages = [Image.fromarray(np.full((24, 32, 3), 40 * i, np.uint8)) for i in range(6)]
    path = tmp_path / "variable.gif"
    pages[0].save(path, save_all=True, append_images=pages[1:], duration=delays_ms, loop=0)
    with open_source(path) as source:
        frames = list(source.frames())
    assert [f.timestamp for f in frames] == pytest.approx(
        [0.0, 0.05, 0.17, 0.2, 0.4, 0.47], abs=1e-9
    )
    assert [int(f.image[0, 0, 0]) for f in frames] == [0, 40, 80, 120, 160, 200]


def write_clip(path: Path, frames: int = 8, fps: float = 12.5) -> None:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (64, 48))
    for i in range(frames):
        writer.write(np.full((48, 64, 3), 25 * i, np.uint8))
    writer.release()


def raw_pts_ms(path: Path) -> list[float]:
    capture = cv2.VideoCapture(str(path))
    times = []
    while capture.read()[0]:
        times.append(capture.get(cv2.CAP_PROP_POS_MSEC))
    capture.release()
    return times


def test_broken_container_timestamps_fall_back_to_frame_rate(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # An MP4 whose sample-duration table (stts) says every frame lasts 0 ticks, as a
    # broken muxer might write it.  FFmpeg then reports a pts that jumps back to 0.
    path = tmp_path / "zero_durations.mp4"
    write_clip(path)
    data = bytearray(path.read_bytes())
    stts = data.index(b"stts")
    (entries,) = struct.unpack_from(">I", data, stts + 8)
    for k in range(entries):
        struct.pack_into(">I", data, stts + 16 + 8 * k, 0)
    path.write_bytes(bytes(data))
    raw = raw_pts_ms(path)
    broken_at = next(i for i in range(1, len(raw)) if not raw[i] > raw[i - 1])  # precondition

    with caplog.at_level(logging.WARNING), open_source(path) as source:
        fps = source.nominal_fps
        timestamps = [f.timestamp for f in source.frames()]
    assert fps is not None
    assert len(timestamps) == len(raw) == 8
    assert timestamps[:broken_at] == [ms / 1000 for ms in raw[:broken_at]]
    last_good = raw[broken_at - 1] / 1000
    expected_rest = [last_good + k / fps for k in range(1, len(raw) - broken_at + 1)]
    assert timestamps[broken_at:] == pytest.approx(expected_rest, abs=1e-9)
    assert all(b > a for a, b in pairwise(timestamps))
    warnings = [r for r in caplog.records if "broken presentation timestamp" in r.message]
    assert len(warnings) == 1 and "zero_durations.mp4" in warnings[0].message


@pytest.mark.parametrize(
    ("pts_ms", "expected"),
    [
        ([0, 40, 80, 120], [0, 0.04, 0.08, 0.12]),  # healthy
        ([0, 40, 40, 40, 200], [0, 0.04, 0.14, 0.24, 0.34]),  # repeats: warn, 10 fps on
        ([0, 40, math.nan, 120], [0, 0.04, 0.14, 0.24]),  # NaN: never trusted again
        ([math.nan, math.nan, math.nan], [0, 0.1, 0.2]),  # broken from the start
        ([0, 40, 20, 60], [0, 0.04, 0.14, 0.24]),  # goes backwards
    ],
)
def test_pts_timeline(pts_ms: list[float], expected: list[float]) -> None:
    timeline = PtsTimeline(10.0, "test")
    result = [timeline.timestamp(i, pts) for i, pts in enumerate(pts_ms)]
    assert result == pytest.approx(expected, abs=1e-12)


def test_stream_without_frame_count_reports_none(tmp_path: Path) -> None:
    path = tmp_path / "raw.mjpeg"  # a bare MJPEG stream: no container, no count
    path.write_bytes(b"".join(
        cv2.imencode(".jpg", np.full((16, 16, 3), 60 * i, np.uint8))[1].tobytes()
        for i in range(3)
    ))  # fmt: skip
    with open_source(path) as source:
        assert source.frame_count is None
        assert len(list(source.frames())) == 3


# --- bad files -------------------------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.mp4"
    with pytest.raises(SourceError, match=r"nope\.mp4: no such file$"):
        open_source(missing)


def test_directory_is_not_a_clip(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="is a directory, expected a video file or GIF"):
        open_source(tmp_path)


def test_text_file_named_mp4(tmp_path: Path) -> None:
    path = tmp_path / "notes.mp4"
    path.write_text("this is not a video\n")
    with pytest.raises(SourceError, match=r"notes\.mp4: cannot open as a video \(expected a"):
        open_source(path)


@pytest.mark.media
def test_truncated_clips_are_clear_errors(media_dir: Path, tmp_path: Path) -> None:
    # simplehrnet keeps its index (moov) at the end: half the file cannot even be opened.
    data = (media_dir / "simplehrnet_running_track_wide.mp4").read_bytes()
    half = tmp_path / "half.mp4"
    half.write_bytes(data[: len(data) // 2])
    with pytest.raises(SourceError, match=r"half\.mp4: cannot open as a video"):
        open_source(half)
    # sports2d keeps its index first: cut just after it, it opens but has no picture data.
    data = (media_dir / "sports2d_demo3_running_side.mp4").read_bytes()
    header_only = tmp_path / "header_only.mp4"
    header_only.write_bytes(data[: data.index(b"mdat") + 200])
    with pytest.raises(SourceError, match=r"header_only\.mp4: no frame could be decoded"):
        open_source(header_only)


@pytest.mark.media
def test_truncated_in_the_middle_keeps_the_frames_read(
    media_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    original = media_dir / "sports2d_demo3_running_side.mp4"
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(original.read_bytes()[:40_000])
    with caplog.at_level(logging.WARNING), open_source(cut) as source:
        frames = [(f.image.copy(), f.timestamp) for f in source.frames()]
    assert 5 <= len(frames) < 47
    with open_source(original) as source:
        for (image, timestamp), full in zip(frames, source.frames(), strict=False):
            assert timestamp == full.timestamp
            assert np.array_equal(image, full.image)
    assert any(
        f"stream ended after {len(frames)} of the 47 frames" in r.message for r in caplog.records
    )


# --- webcams ---------------------------------------------------------------------------------


def test_webcam_that_does_not_open_is_named() -> None:
    with pytest.raises(SourceError, match=r"webcam:97: cannot open camera"):
        open_source("webcam:97")
    with pytest.raises(SourceError, match=r"webcam:98: cannot open camera"):
        open_source("/dev/video98")


class FakeCapture:
    """A cv2.VideoCapture stand-in that plays a list of (driver pts in ms) values."""

    def __init__(self, pts_ms: list[float], *, opened: bool = True) -> None:
        self.pts_ms = pts_ms
        self.opened = opened
        self.position = -1
        self.settings: dict[int, float] = {}
        self.released = False

    def isOpened(self) -> bool:  # OpenCV's method name
        return self.opened

    def set(self, prop: int, value: float) -> bool:
        self.settings[prop] = value
        return True

    def get(self, prop: int) -> float:
        if prop == cv2.CAP_PROP_POS_MSEC:
            return self.pts_ms[self.position]
        return {cv2.CAP_PROP_FPS: 0.0}.get(prop, 0.0)

    def grab(self) -> bool:
        self.position += 1
        return self.position < len(self.pts_ms)

    def retrieve(self) -> tuple[bool, np.ndarray]:
        image = np.zeros((4, 6, 3), np.uint8)
        image[:, :3] = (255, 0, 0)  # blue on the left in BGR
        return True, image

    def release(self) -> None:
        self.released = True


class FakeClock:
    def __init__(self, start: float = 1000.0, step: float = 0.0) -> None:
        self.now = start
        self.step = step

    def __call__(self) -> float:
        self.now += self.step
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds > 0
        self.now += seconds


def webcam(pts_ms: list[float], clock: FakeClock, settings: CameraSettings | None = None):
    capture = FakeCapture(pts_ms)
    source = WebcamSource(3, settings, capture_factory=lambda index: capture, clock=clock)
    return source, capture


def test_webcam_uses_driver_timestamps_when_they_increase(
    caplog: pytest.LogCaptureFixture,
) -> None:
    source, _ = webcam([5000.0, 5033.0, 5070.0], FakeClock(step=1.0))
    frames = list(source.frames())
    assert [f.timestamp for f in frames] == pytest.approx([0.0, 0.033, 0.070])
    assert source.live and source.frame_count is None and source.name == "webcam:3"
    assert tuple(frames[0].image[0, 0]) == (0, 0, 255)  # converted to RGB
    assert "stopped delivering after 3 frames" in caplog.text


def test_webcam_without_driver_timestamps_uses_the_grab_clock() -> None:
    source, _ = webcam([0.0, 0.0, 0.0], FakeClock(step=0.05))
    assert [f.timestamp for f in source.frames()] == pytest.approx([0.0, 0.05, 0.1])


def test_webcam_switches_clocks_once_and_stays_increasing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    source, _ = webcam([100.0, 140.0, 140.0, 0.0, 900.0], FakeClock(step=0.02))
    timestamps = [f.timestamp for f in source.frames()]
    # Driver time for the first two, then the grab clock continues from there; the driver
    # time is not trusted again even when it later looks plausible (900 ms).
    assert timestamps == pytest.approx([0.0, 0.04, 0.06, 0.08, 0.10])
    assert caplog.text.count("driver timestamps stopped increasing") == 1


def test_webcam_settings_and_flips() -> None:
    settings = CameraSettings(width=640, height=480, fps=60, hflip=True)
    source, capture = webcam([10.0], FakeClock(), settings)
    assert capture.settings[cv2.CAP_PROP_FRAME_WIDTH] == 640
    assert capture.settings[cv2.CAP_PROP_FRAME_HEIGHT] == 480
    assert capture.settings[cv2.CAP_PROP_FPS] == 60
    assert source.nominal_fps == 60  # the fake reports 0: fall back to the request
    frame = next(source.frames())
    # Blue was on the left; mirrored it is on the right.
    assert tuple(frame.image[0, 0]) == (0, 0, 0) and tuple(frame.image[0, 5]) == (0, 0, 255)
    source.close()
    assert capture.released


def test_webcam_that_delivers_nothing() -> None:
    source, _ = webcam([], FakeClock())
    with pytest.raises(SourceError, match="webcam:3: camera opened but delivered no frame"):
        next(source.frames())


# --- specs -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("picamera", ("picamera", 0)),
        ("picamera:1", ("picamera", 1)),
        (0, ("webcam", 0)),
        ("webcam:2", ("webcam", 2)),
        ("/dev/video4", ("webcam", 4)),
        ("clips/run.mov", ("file", Path("clips/run.mov"))),
        (Path("a.gif"), ("file", Path("a.gif"))),
        ("./picamera", ("file", Path("picamera"))),
    ],
)
def test_parse_spec(spec, expected) -> None:
    assert parse_spec(spec) == expected


@pytest.mark.parametrize("spec", ["webcam:", "webcam:x", "picamera:one", -1])
def test_parse_spec_rejects_malformed_indices(spec) -> None:
    with pytest.raises(SourceError, match="expected"):
        parse_spec(spec)


def test_open_source_dispatches_files(tmp_path: Path) -> None:
    path = tmp_path / "one.gif"
    Image.new("RGB", (8, 8), (10, 20, 30)).save(path)
    source = open_source(str(path))
    assert isinstance(source, VideoFileSource)
    with source:
        (frame,) = source.frames()
    assert tuple(frame.image[0, 0]) == (10, 20, 30)


# --- pacing ----------------------------------------------------------------------------------


def frames_at(*times: float) -> list[Frame]:
    return [Frame(np.zeros((2, 2, 3), np.uint8), t, i) for i, t in enumerate(times)]


def test_paced_yields_no_frame_before_its_time() -> None:
    clock = FakeClock(start=50.0)
    yielded_at = []
    for frame in paced(frames_at(10.0, 10.05, 10.17, 10.2), clock=clock, sleep=clock.sleep):
        yielded_at.append((frame.timestamp - 10.0, clock.now - 50.0))
    for due, at in yielded_at:
        assert at == pytest.approx(due, abs=1e-9)


def test_paced_does_not_wait_for_late_frames_and_honours_speed() -> None:
    clock = FakeClock(start=0.0)
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        clock.sleep(seconds)

    stream: Iterator[Frame] = paced(
        frames_at(0.0, 0.2, 0.4, 1.0), speed=2.0, clock=clock, sleep=sleep
    )
    next(stream)
    next(stream)  # due at 0.1 (0.2 s at double speed)
    clock.now += 0.5  # the consumer takes 0.5 s: frame 0.4 (due 0.2) is late
    next(stream)
    next(stream)  # due at 0.5, now is 0.6: no wait either
    assert sleeps == pytest.approx([0.1])


def test_paced_reads_a_frame_source_and_rejects_bad_speed(tmp_path: Path) -> None:
    path = tmp_path / "two.gif"
    pages = [Image.new("RGB", (4, 4), (i * 100, 0, 0)) for i in range(2)]
    pages[0].save(path, save_all=True, append_images=pages[1:], duration=[300, 300])
    clock = FakeClock()
    with open_source(path) as source:
        assert [f.index for f in paced(source, clock=clock, sleep=clock.sleep)] == [0, 1]
    assert clock.now == pytest.approx(1000.3)
    with pytest.raises(ValueError, match="speed must be positive"):
        next(paced([], speed=0))
