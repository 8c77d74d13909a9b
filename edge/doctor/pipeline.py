"""The checks of the pipeline's own parts: the camera or source, the model, the runtime."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from edge.config import Config
from edge.doctor.results import CheckResult, Host, Status, ok
from edge.errors import TracksideError

# --- camera -------------------------------------------------------------------------------


def _mode_text(mode: Mapping[str, Any]) -> str:
    width, height = mode["size"]
    return f"{width}x{height}@{float(mode['fps']):.0f}"


def check_camera(
    config: Config,
    host: Host,
    *,
    picamera2_factory: Callable[[int], Any] | None = None,
    transform_factory: Callable[[bool, bool], Any] | None = None,
) -> CheckResult:
    """The configured source opens; for the Pi camera: its modes and the one chosen."""
    from edge.capture import open_source
    from edge.capture.base import parse_spec
    from edge.capture.picamera import PiCameraSource
    from edge.errors import SourceError

    spec = config.source.input
    kind, target = parse_spec(spec)
    if kind == "picamera" and isinstance(target, int):
        if host.unit.running:
            return ok("camera", f"{spec}: in use by the running {host.unit.name}")
        try:
            with PiCameraSource(
                config.camera,
                camera_num=target,
                picamera2_factory=picamera2_factory,
                transform_factory=transform_factory,
            ) as source:
                frame = _first_frame(source)
                modes = source.sensor_modes
                chosen = source.sensor_mode
        except SourceError as exc:
            if not host.is_pi and "picamera2 not available" in str(exc):
                return CheckResult(
                    "camera", Status.NA, "not a Raspberry Pi: the Pi camera is checked on the Pi"
                )
            return CheckResult(
                "camera",
                Status.FAIL,
                str(exc),
                "check the ribbon cable: rpicam-hello --list-cameras",
            )
        if frame is None:
            return CheckResult("camera", Status.FAIL, f"{spec}: opened but gave no frame")
        c = config.camera
        listed = ", ".join(_mode_text(m) for m in modes) or "none listed"
        picked = f"sensor mode {_mode_text(chosen)}" if chosen else "the driver's default mode"
        return ok(
            "camera",
            f"{spec}: {c.width}x{c.height} at {c.fps:g} fps from {picked}; modes: {listed}",
        )
    try:
        with open_source(spec, camera=config.camera) as source:
            frame = _first_frame(source)
    except SourceError as exc:
        return CheckResult("camera", Status.FAIL, str(exc), "check source.input")
    if frame is None:
        return CheckResult("camera", Status.FAIL, f"{spec}: opened but gave no frame")
    return ok("camera", f"{spec}: {frame.width}x{frame.height}, first frame read")


# --- model and runtime --------------------------------------------------------------------


def check_model(config: Config) -> tuple[CheckResult, Any]:
    """The model file is complete and the runtime loads it; also returns the estimator."""
    from edge.pose.models import load_manifest, resolve_model_path, spec_for_file
    from edge.pose.movenet import PoseEstimator

    pose = config.pose
    try:
        path = resolve_model_path(pose.model, model_dir=pose.model_dir or None)
        spec = spec_for_file(path, load_manifest())
        estimator = PoseEstimator(
            path,
            runtime=pose.runtime,
            num_threads=pose.num_threads,
            delegate=pose.delegate or None,
            crop_tracking=False,
        )
    except TracksideError as exc:
        fix = f"trackside models fetch {pose.model}" if "not found" in str(exc) else ""
        return CheckResult("model", Status.FAIL, str(exc), fix or "trackside models verify"), None
    checked = f"checksum matches {spec.name}" if spec else "not in the manifest (no checksum)"
    return ok("model", f"{path}: {checked}; MoveNet {estimator.variant}"), estimator


def check_runtime(
    config: Config, estimator: Any, *, measure: Callable[[Any], float] | None = None
) -> CheckResult:
    """The interpreter's speed here, and whether live mode can time a ground contact."""
    from edge.bench import GROUND_CONTACT_MS, MIN_FRAMES_PER_CONTACT, live_capacity

    if estimator is None:
        return CheckResult("runtime", Status.FAIL, "no model loaded (see the model check)")
    seconds = (measure or _measure_invoke)(estimator)
    # The camera thread decodes in parallel; pre/postprocessing adds little (trackside bench).
    live = live_capacity(seconds, math.nan, config.camera.fps)
    detail = (
        f"{estimator.runtime_label}, {config.pose.num_threads} thread(s): {seconds * 1e3:.1f} ms "
        f"a frame ({1 / seconds:.0f} fps); live mode: {live.frames_per_second:.0f} fps, "
        f"{live.frames_per_contact:.1f} frames per {GROUND_CONTACT_MS:.0f} ms contact"
    )
    if live.fine_enough:
        return ok("runtime", detail)
    detail += f" (fewer than {MIN_FRAMES_PER_CONTACT:g})"
    if live.camera_limited:  # the CPU keeps up; the camera is set too slow
        needed = MIN_FRAMES_PER_CONTACT * 1000.0 / GROUND_CONTACT_MS
        return CheckResult("runtime", Status.WARN, detail, f"raise camera.fps to {needed:.0f}+")
    if config.service.mode == "burst":
        return ok("runtime", detail + "; burst mode times every frame after the pass")
    return CheckResult(
        "runtime",
        Status.WARN,
        detail,
        'set service.mode = "burst" for accurate timing (trackside bench shows the detail)',
    )


def _measure_invoke(estimator: Any) -> float:
    """Seconds per invoke: the model's cost does not depend on what the picture shows."""
    import numpy as np

    from edge.bench import invoke_seconds
    from edge.types import Frame

    frame = Frame(np.zeros((360, 640, 3), np.uint8), 0.0, 0)
    return invoke_seconds(estimator, frame, repeats=50, budget_s=2.0)[0]


def _first_frame(source: Any) -> Any:
    frames = source.frames()
    try:
        return next(frames, None)
    finally:
        frames.close()  # stops a camera's stream
