"""The daemon in-process: watchdog, camera retries, bad frames, LEDs on real footage."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from gpiozero.pins.mock import MockFactory

from edge.config import Config
from edge.errors import SourceError
from edge.outputs.feedback import FeedbackDriver
from edge.outputs.feedback.settings import FeedbackConfig
from edge.service.daemon import Daemon
from edge.service.notify import SystemdNotifier
from edge.types import Frame, Pose


class FakeSource:
    """A camera-like source: ``count`` frames, optionally failing after ``fail_after``."""

    name = "fake"
    frame_count = None
    nominal_fps = 30.0

    def __init__(
        self, count: int, *, live: bool = True, fail_after: int | None = None, start: float = 0.0
    ):
        self.count, self.live, self.fail_after, self.start = count, live, fail_after, start
        self.closed = False

    def frames(self):
        for i in range(self.count):
            if self.fail_after is not None and i == self.fail_after:
                raise SourceError("camera unplugged")
            yield Frame(np.zeros((48, 64, 3), np.uint8), self.start + i / 30, i)

    def close(self):
        self.closed = True

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# A runner standing side-on (x, y in a 64×48 image, score): head, arms, hips, knees, ankles.
STANDING = np.array(
    [
        [32, 6, 0.9],
        [33, 5, 0.9],
        [33, 5, 0.9],
        [31, 5, 0.9],
        [31, 5, 0.9],
        [31, 12, 0.9],
        [31, 12, 0.9],
        [32, 19, 0.9],
        [32, 19, 0.9],
        [34, 25, 0.9],
        [34, 25, 0.9],
        [31, 25, 0.9],
        [31, 25, 0.9],
        [32, 35, 0.9],
        [31, 35, 0.9],
        [31, 45, 0.9],
        [30, 45, 0.9],
    ],
    np.float32,
)


class FakeEstimator:
    """Returns a confident pose; can raise on chosen frames or stall on demand."""

    def __init__(self, *, fail_on: set[int] = frozenset()):
        self.fail_on = fail_on
        self.stall = threading.Event()
        self.stalled = threading.Event()
        self.release = threading.Event()
        self.seen: list[float] = []

    def estimate(self, frame: Frame) -> Pose:
        if self.stall.is_set():
            self.stalled.set()
            self.release.wait(30)
        if frame.index in self.fail_on:
            raise RuntimeError("interpreter hiccup")
        self.seen.append(frame.timestamp)
        return Pose(frame.timestamp, frame.index, STANDING.copy(), (64, 48))

    def reset_tracking(self):
        pass


def quiet_config() -> Config:
    config = Config()
    return replace(
        config,
        mqtt=replace(config.mqtt, enabled=False),
        feedback=replace(config.feedback, enabled=False),
        presence=replace(config.presence, idle_fps=60.0),  # analyse every fake frame
        # a session from the start, so every stride is judged (the LEDs, alerts, store)
        service=replace(config.service, auto_session="always"),
    )


@pytest.fixture
def notify_socket(tmp_path):
    path = tmp_path / "notify.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    server.bind(str(path))
    yield path, server
    server.close()


def receive(server: socket.socket, timeout: float) -> list[bytes]:
    """Every datagram that arrives within ``timeout`` seconds."""
    messages, deadline = [], time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        server.settimeout(left)
        try:
            messages.append(server.recv(4096))
        except TimeoutError:
            break
    return messages


def receive_until(server: socket.socket, predicate, timeout: float = 10.0) -> list[bytes]:
    messages, deadline = [], time.monotonic() + timeout
    while not predicate(messages):
        left = deadline - time.monotonic()
        assert left > 0, f"condition not met in {timeout} s; got {messages[-5:]}"
        server.settimeout(left)
        messages.append(server.recv(4096))
    return messages


def test_watchdog_is_fed_while_frames_flow_and_stops_when_the_pipeline_stalls(notify_socket):
    path, server = notify_socket
    estimator = FakeEstimator()
    notifier = SystemdNotifier(str(path), watchdog_usec="200000")  # 0.2 s
    daemon = Daemon(
        quiet_config(),
        source_factory=lambda: FakeSource(10**9),
        estimator_factory=lambda: estimator,
        notifier=notifier,
        pace=1.0,  # like a camera: 30 frames per second
    )
    runner = threading.Thread(target=daemon.run)
    runner.start()
    try:
        first = receive_until(server, lambda m: m.count(b"WATCHDOG=1") >= 3)
        assert first[0].startswith(b"READY=1")
        estimator.stall.set()
        assert estimator.stalled.wait(10)
        receive(server, 0.25)  # pings already in flight when the stall began
        during = receive(server, 1.0)  # five watchdog periods
        assert b"WATCHDOG=1" not in during
    finally:
        daemon.stop()
        estimator.release.set()
        runner.join(10)
    assert not runner.is_alive()
    assert b"STOPPING=1\nSTATUS=stopping" in receive(server, 0.2) + during


def test_a_camera_that_fails_mid_run_is_reopened_and_nothing_is_lost():
    opened: list[FakeSource] = []

    def open_camera():
        # First camera dies after 5 frames; the second delivers 5 and the clip ends.
        source = (
            FakeSource(50, live=True, fail_after=5)
            if not opened
            else FakeSource(5, live=False, start=10.0)
        )
        opened.append(source)
        return source

    estimator = FakeEstimator()
    daemon = Daemon(quiet_config(), source_factory=open_camera, estimator_factory=lambda: estimator)
    runner = threading.Thread(target=daemon.run)
    runner.start()
    runner.join(20)
    assert not runner.is_alive()
    assert len(opened) == 2 and all(s.closed for s in opened)
    assert daemon.stats.source_failures == 1
    assert estimator.seen == [i / 30 for i in range(5)] + [10.0 + i / 30 for i in range(5)]


def test_an_inference_error_skips_one_frame_only():
    estimator = FakeEstimator(fail_on={3, 7})
    daemon = Daemon(
        quiet_config(),
        source_factory=lambda: FakeSource(20, live=False),
        estimator_factory=lambda: estimator,
    )
    daemon.run()
    assert daemon.stats.inference_errors == 2
    assert len(estimator.seen) == 18


def test_a_camera_that_cannot_open_is_retried_with_backoff_and_the_watchdog_still_fed(
    notify_socket,
):
    path, server = notify_socket
    attempts: list[float] = []

    def broken():
        attempts.append(time.monotonic())
        raise SourceError("picamera: no camera attached")

    daemon = Daemon(
        quiet_config(),
        source_factory=broken,
        estimator_factory=FakeEstimator,
        notifier=SystemdNotifier(str(path), watchdog_usec="400000"),
    )
    runner = threading.Thread(target=daemon.run)
    runner.start()
    try:
        # Knowingly waiting for a camera is not a hang: systemd must not restart us for it.
        messages = receive_until(
            server, lambda m: len(attempts) >= 3 and m.count(b"WATCHDOG=1") >= 5, timeout=15
        )
    finally:
        daemon.stop()
        runner.join(5)
    assert not runner.is_alive()
    assert any(m.startswith(b"STATUS=degraded: cannot open source") for m in messages)
    gaps = np.diff(attempts[:3])
    assert gaps[1] > 1.5 * gaps[0]  # 1 s, then 2 s: exponential backoff


def test_leds_follow_the_strides_of_a_real_clip(media_dir: Path, lightning_model: Path):
    from edge.capture import open_source
    from edge.pose.movenet import PoseEstimator

    factory = MockFactory()
    feedback = FeedbackDriver(FeedbackConfig(pin_factory="mock"), pin_factory=factory)
    lit: dict[str, int] = {"green": 0, "amber": 0, "red": 0}
    reports = []

    class CountingFeedback:
        def on_stride(self, report):
            reports.append(report)
            feedback.on_stride(report)
            output = feedback.tick(time.monotonic())
            shown = {colour for colour in lit if feedback.leds[colour].value}
            assert len(shown) <= 1, shown  # one traffic-light colour at a time
            if not report.grade.judged and not feedback.plan.alerts:
                assert not shown, report.grade  # an unjudged stride says nothing
            for colour in shown:
                lit[colour] += 1
            assert output is not None

        def on_alert(self, alert):
            feedback.on_alert(alert)

    config = quiet_config()
    daemon = Daemon(
        config,
        source_factory=lambda: open_source(media_dir / "movup_run_treadmill.mp4"),
        estimator_factory=lambda: PoseEstimator(lightning_model, num_threads=2),
        feedback=CountingFeedback(),
    )
    daemon.run()
    feedback.close()
    assert daemon.stats.strides == len(reports) >= 10
    # Every judged stride lit a colour (or an alert held one), except the first ones while
    # the stride light's hysteresis waits for hold_strides strides that agree.
    judged = [r for r in reports if r.grade.judged]
    assert sum(lit.values()) >= len(judged) - (FeedbackConfig().hold_strides - 1) > 0
    for pin in (17, 27, 22):
        assert factory.pin(pin).state == 0  # all off after close()


class RecordingSink:
    """Collects what the daemon publishes (the MQTT publisher's interface)."""

    def __init__(self):
        self.strides, self.alerts, self.passes, self.sessions, self.statuses = [], [], [], [], []
        self.keyframes = []
        self.session = None

    def set_session(self, session_id, *, athlete=None):
        self.session = session_id

    def publish_stride(self, report):
        self.strides.append(report)
        return str(len(self.strides))

    def publish_alert(self, alert):
        self.alerts.append(alert)
        return "a"

    def publish_pass_summary(self, summary, *, pass_index):
        self.passes.append((summary, pass_index))
        return "p"

    def publish_session_summary(self, summary, *, passes):
        self.sessions.append((summary, passes))
        return "s"

    def publish_status(self, status):
        self.statuses.append(status)

    def publish_keyframe(self, keyframe):
        self.keyframes.append(keyframe)
        return "k"


class EmptyScene(FakeEstimator):
    """Nobody in view: every keypoint scores low."""

    def estimate(self, frame):
        pose = super().estimate(frame)
        pose.keypoints[:, 2] = 0.1
        return pose


def test_an_empty_scene_is_analysed_only_at_the_idle_rate():
    estimator = EmptyScene()
    config = quiet_config()
    config = replace(config, presence=replace(config.presence, idle_fps=2.0))
    daemon = Daemon(
        config,
        source_factory=lambda: FakeSource(300, live=False),
        estimator_factory=lambda: estimator,
    )
    daemon.run()
    # 300 still frames at 30 fps = 10 s of source time: about 2 inferences per second.
    assert 19 <= len(estimator.seen) <= 22
    assert daemon.stats.passes == 0 and daemon.stats.strides == 0


def test_burst_mode_publishes_the_after_pass_analysis_of_every_frame(
    media_dir: Path, lightning_model: Path
):
    from edge.capture import open_source
    from edge.pose.movenet import PoseEstimator

    config = quiet_config()
    config = replace(config, service=replace(config.service, mode="burst"))
    sink = RecordingSink()
    daemon = Daemon(
        config,
        source_factory=lambda: open_source(media_dir / "sports2d_demo3_running_side.mp4"),
        estimator_factory=lambda: PoseEstimator(lightning_model, num_threads=2),
        sinks={"recording": sink},
    )
    daemon.run()
    # Live strides only drive the LEDs; what is published comes from the burst analysis,
    # which the batch engine decides after the pass (no emission time).
    assert sink.strides, "the burst analysis found no stride"
    assert all(r.stride.emitted_at is None for r in sink.strides)
    assert sink.passes and sink.passes[0][1] == 1  # (summary, pass index)
    assert sink.passes[0][0].strides == len(sink.strides)
    assert sink.sessions and sink.sessions[-1][0].strides == len(sink.strides)
    assert sink.sessions[-1][1] == 1  # (summary, passes)
    assert daemon.stats.burst_frames_dropped == 0


def test_a_failing_result_sink_neither_stops_the_analysis_nor_the_other_sinks(
    tmp_path: Path, media_dir: Path, lightning_model: Path, caplog
):
    from edge.capture import open_source
    from edge.outputs.store import ResultStore
    from edge.outputs.store_sink import StoreSink
    from edge.pose.movenet import PoseEstimator

    store = ResultStore(tmp_path / "results.sqlite3")
    broken = ResultStore(tmp_path / "broken.sqlite3")
    broken.close()  # every write to it fails, like a results disk gone read-only
    sink = RecordingSink()
    daemon = Daemon(
        quiet_config(),
        source_factory=lambda: open_source(media_dir / "movup_run_treadmill.mp4"),
        estimator_factory=lambda: PoseEstimator(lightning_model, num_threads=2),
        sinks={
            "recording": sink,
            "broken": StoreSink(broken, "pi"),
            "store": StoreSink(store, "pi"),
        },
    )
    daemon.run()
    try:
        session_id = store.sessions()[0].session_id
        assert daemon.stats.strides == len(sink.strides) == len(store.strides(session_id)) >= 10
        assert store.session(session_id).summary["strides"] == daemon.stats.strides
    finally:
        store.close()
    failed = daemon.results.failures()["broken"]
    assert failed >= daemon.stats.strides + 2  # each stride, the session start and summary
    assert sink.statuses[-1].detail == f"result sink failures: broken {failed}"
    assert "result sink broken: publish_stride failed: StoreError" in caplog.text


def test_keyframe_copies_are_small_and_keep_the_pose_on_the_runner():
    from edge.service.keyframes import keyframe_copy

    image = np.zeros((720, 1280, 3), np.uint8)
    image[100:110, 200:210] = 255  # a bright marker where a keypoint is
    kp = np.zeros((17, 3), np.float32)
    kp[0] = (205, 105, 0.9)
    small, pose = keyframe_copy(Frame(image, 1.0, 7), Pose(1.0, 7, kp, (1280, 720)))
    assert small.shape == (360, 640, 3) and pose.image_size == (640, 360)
    x, y = pose.keypoints[0, :2]
    assert small[round(y), round(x)].min() > 200  # still on the marker
    assert kp[0, 0] == 205  # the original pose is untouched
    tiny = np.zeros((293, 520, 3), np.uint8)
    same, _ = keyframe_copy(Frame(tiny, 0.0, 0), Pose(0.0, 0, kp, (520, 293)))
    assert same is tiny  # small frames are kept as they are


def test_a_runner_in_view_from_the_first_frame_is_analysed_from_the_first_frame(
    media_dir: Path, lightning_model: Path, caplog
):
    """jes_woods_nike_coach_1.gif shows the runner from frame 0 on a still background."""
    import logging

    from edge.capture import open_source
    from edge.pose.movenet import PoseEstimator

    clip = media_dir / "jes_woods_nike_coach_1.gif"
    with open_source(clip) as source:
        timestamps = [frame.timestamp for frame in source.frames()]
    estimator = PoseEstimator(lightning_model, num_threads=2)
    analysed: list[float] = []

    class Counting:
        def estimate(self, frame):
            analysed.append(frame.timestamp)
            return estimator.estimate(frame)

        def reset_tracking(self):
            estimator.reset_tracking()

    config = Config()  # the default presence settings: 2 model runs a second while idle
    config = replace(
        config,
        mqtt=replace(config.mqtt, enabled=False),
        feedback=replace(config.feedback, enabled=False),
    )
    daemon = Daemon(
        config,
        source_factory=lambda: open_source(clip),
        estimator_factory=lambda: Counting(),
    )
    with caplog.at_level(logging.INFO, logger="edge.service.analysis"):
        daemon.run()
    assert analysed == timestamps  # no frame skipped at the idle rate
    assert f"runner in view at {timestamps[0]:.2f} s" in caplog.text
    assert daemon.stats.passes == 1


def test_live_and_batch_agree_on_the_strides_of_a_clip_in_view_from_the_start(
    media_dir: Path, lightning_model: Path
):
    """`trackside run` (every frame, as fast as possible) against `replay --strides`."""
    from edge.analysis import judge_poses
    from edge.capture import open_source
    from edge.pose.movenet import PoseEstimator

    estimator = PoseEstimator(lightning_model, num_threads=2)
    poses: list[Pose] = []

    class Recording:
        def estimate(self, frame):
            poses.append(estimator.estimate(frame))
            return poses[-1]

        def reset_tracking(self):
            estimator.reset_tracking()

    sink = RecordingSink()
    daemon = Daemon(
        replace(Config(), mqtt=replace(Config().mqtt, enabled=False)),
        source_factory=lambda: open_source(media_dir / "jes_woods_nike_coach_1.gif"),
        estimator_factory=lambda: Recording(),
        sinks={"recording": sink},
    )
    daemon.run()
    t = np.array([p.timestamp for p in poses])
    batch = judge_poses(t, np.stack([p.keypoints for p in poses]), Config().cues)
    assert len(batch.reports) >= 8
    assert abs(len(sink.strides) - len(batch.reports)) <= 1
