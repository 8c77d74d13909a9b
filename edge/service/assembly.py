"""The daemon built from the configuration: source, pose model, result sinks, LEDs, commands.

``trackside run`` is ``build_daemon(config, ...).run()``.  What is built here and how:

* the **source**: ``source.input`` (or the ``--source`` override), looped on request;
* the **pose model**: the configured MoveNet file, verified before it is loaded;
* the **result sinks**: the MQTT publisher (``[mqtt]``, started at once so undelivered
  results from before go first) and the on-device results store (``[results]``), under
  the names ``mqtt`` and ``store`` that the logs and the status use;
* the **feedback**: the LED/buzzer driver (``[feedback]``);
* **commands**: MQTT commands routed to the daemon's session requests.
"""

from __future__ import annotations

import contextlib
import signal
import socket
from collections.abc import Callable

from edge.capture import LoopedSource, open_source
from edge.capture.base import FrameSource
from edge.config import Config
from edge.outputs.feedback import FeedbackDriver
from edge.outputs.mqtt import MqttPublisher
from edge.outputs.mqtt.settings import device_id_from_hostname
from edge.outputs.pass_clips import ClipStore, PassClipRecorder
from edge.outputs.results_settings import CLIPS_DIRNAME
from edge.outputs.store import ResultStore
from edge.outputs.store_sink import StoreSink
from edge.service import preflight
from edge.service.analysis import PoseStage
from edge.service.daemon import Daemon
from edge.service.sessions import route_commands
from edge.service.sinks import ResultSink


def make_estimator(config: Config):  # -> edge.pose.PoseEstimator (imported lazily: heavy)
    """Resolve and load the configured model (the estimator verifies the file first)."""
    from edge.pose.models import resolve_model_path
    from edge.pose.movenet import PoseEstimator
    from edge.versions import warn_if_untested

    warn_if_untested()
    pose = config.pose
    path = resolve_model_path(pose.model, model_dir=pose.model_dir or None)
    return PoseEstimator(
        path,
        runtime=pose.runtime,
        num_threads=pose.num_threads,
        delegate=pose.delegate or None,
        crop_tracking=pose.crop_tracking,
        min_keypoint_score=pose.min_keypoint_score,
    )


def local_device_id(config: Config) -> str:
    """The device id when MQTT is off (the same rule as the MQTT settings)."""
    return config.mqtt.device_id or device_id_from_hostname(socket.gethostname())


class Service:
    """A built daemon and what it holds open (MQTT publisher, results store, LED driver)."""

    def __init__(self, daemon: Daemon, resources: contextlib.ExitStack) -> None:
        self.daemon = daemon
        self._resources = resources

    def run(self) -> None:
        """Run until SIGTERM/SIGINT or the end of a clip, then close what it holds.

        Call from the main thread (signal handlers).  The handlers stay until everything is
        closed, so a second SIGTERM cannot cut the MQTT publisher's last flush short.
        """
        previous = {
            s: signal.signal(s, lambda *_: self.daemon.stop())
            for s in (signal.SIGTERM, signal.SIGINT)
        }
        try:
            with self._resources:
                self.daemon.run()
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)


def build_daemon(
    config: Config,
    *,
    source: str | None = None,
    loop: bool = False,
    pace: float | None = None,
    estimator_factory: Callable[[], PoseStage] | None = None,
    origin: str = "config",
) -> Service:
    """The daemon for ``config``, ready to :meth:`~Service.run`.

    ``source`` overrides ``source.input``; ``loop`` plays a clip over and over; ``pace``
    replays a clip at that speed like a camera (``None``: every frame, as fast as
    possible).  ``estimator_factory`` defaults to the configured model.  Raises a
    :class:`~edge.errors.TracksideError` (after closing whatever it had opened) when a part
    cannot be built: a setting :mod:`edge.service.preflight` refuses (``origin`` names the
    config file in its message), a clip that is no video, a missing model...  A full disk
    or a corrupt outbox or results file is not one: the daemon starts degraded.
    """
    spec = source or config.source.input
    # The checks of `trackside config check`, before anything is opened; a clip that cannot
    # be read fails now, once, instead of being retried like an unplugged camera.
    target = preflight.mqtt_target(config, origin) if config.mqtt.enabled else None
    results_path = preflight.results_path(config, origin)
    preflight.source_file(spec, origin, "source.input" if source is None else "--source")
    if estimator_factory is None:
        preflight.model_path(config, origin)

    def open_frames() -> FrameSource:
        frames = open_source(spec, camera=config.camera)
        return LoopedSource(frames) if loop else frames

    with contextlib.ExitStack() as stack:
        sinks: dict[str, ResultSink] = {}
        publisher = None
        if target is not None:
            publisher = MqttPublisher(target)
            publisher.start()
            stack.callback(publisher.stop)
            sinks["mqtt"] = publisher
        if results_path is not None:
            store = ResultStore.from_config(config.results, path=results_path)
            stack.callback(store.close)
            device_id = publisher.target.device_id if publisher else local_device_id(config)
            sinks["store"] = StoreSink(store, device_id)
        clips = None
        if results_path is not None and config.results.clips:
            device_id = publisher.target.device_id if publisher else local_device_id(config)
            clips = PassClipRecorder(
                ClipStore(
                    results_path.parent / CLIPS_DIRNAME,
                    max_bytes=int(config.results.clips_max_megabytes * 1e6),
                    min_free_bytes=int(config.results.min_free_megabytes * 1e6),
                ),
                device_id=device_id,
                seconds=config.results.clip_seconds,
                side=config.results.clip_size,
                min_score=config.pose.min_keypoint_score,
            )
            stack.callback(clips.close)  # the last pass's clip is finished before exit
        feedback = None
        if config.feedback.enabled:
            feedback = stack.enter_context(FeedbackDriver(config.feedback))
            feedback.start()
        daemon = Daemon(
            config,
            source_factory=open_frames,
            estimator_factory=estimator_factory or (lambda: make_estimator(config)),
            sinks=sinks,
            feedback=feedback,
            pace=pace,
            clips=clips,
        )
        if publisher is not None:
            route_commands(publisher.commands, daemon.sessions)
        return Service(daemon, stack.pop_all())
