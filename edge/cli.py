"""The ``trackside`` command line.

Each sub-command is a small function that wires stages together; the stages themselves live
in their own packages.  Expected failures (:class:`~edge.errors.TracksideError`) print one
line on stderr and exit non-zero; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from edge import __version__
from edge.config import Config, dump_config, load_config
from edge.errors import ConfigError, TracksideError
from edge.logs import setup_logging
from edge.text import plural

# --- helpers -------------------------------------------------------------------------------


def _config_from(args: argparse.Namespace) -> Config:
    config = load_config(args.config)
    pose_overrides = {
        key: value
        for key, value in {
            "model": getattr(args, "model", None),
            "runtime": getattr(args, "runtime", None),
            "num_threads": getattr(args, "threads", None),
            "delegate": getattr(args, "delegate", None),
        }.items()
        if value is not None
    }
    if getattr(args, "no_crop", False):
        pose_overrides["crop_tracking"] = False
    if pose_overrides:
        config = dataclasses.replace(
            config, pose=dataclasses.replace(config.pose, **pose_overrides)
        )
    return config


class _Progress:
    """A one-line progress bar on stderr, drawn only when stderr is a terminal."""

    def __init__(self, total: int | None, *, enabled: bool):
        self.total = total
        self.enabled = enabled and sys.stderr.isatty()
        self.started = time.monotonic()
        self._last_draw = 0.0

    def update(self, done: int) -> None:
        now = time.monotonic()
        if not self.enabled or now - self._last_draw < 0.1:
            return
        self._last_draw = now
        self._draw(done, self.total, now)

    def finish(self, done: int) -> None:
        """The last line: what was really decoded (a container's frame count is an estimate)."""
        if self.enabled:
            self._draw(done, done, time.monotonic())
            sys.stderr.write("\n")
            self.enabled = False

    def _draw(self, done: int, total: int | None, now: float) -> None:
        rate = done / max(now - self.started, 1e-9)
        if total:
            filled = int(30 * min(done, total) / total)
            bar = "#" * filled + "." * (30 - filled)
            sys.stderr.write(f"\r[{bar}] {done}/{total} frames  {rate:5.1f} fps\x1b[K")
        else:
            sys.stderr.write(f"\r{done} frames  {rate:5.1f} fps\x1b[K")
        sys.stderr.flush()

    def __enter__(self) -> _Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.enabled:  # interrupted or failed: keep what was drawn
            sys.stderr.write("\n")


# --- commands ------------------------------------------------------------------------------


def cmd_config_check(args: argparse.Namespace) -> int:
    from edge.service.preflight import check_everything

    problems = check_everything(load_config(args.file), str(args.file))
    for problem in problems:
        print(f"trackside: error: {problem}", file=sys.stderr)
    if problems:
        return ConfigError.exit_code
    print(f"{args.file}: OK")
    return 0


def cmd_config_show(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    origin = str(config.path) if config.path else "built-in defaults"
    print(f"# Effective Trackside configuration (from {origin})")
    print(dump_config(config, with_docs=not args.bare), end="")
    return 0


def cmd_replay(args: argparse.Namespace) -> int:
    import numpy as np

    from edge.analysis import judge_poses
    from edge.capture import open_source
    from edge.outputs.video import check_video_path
    from edge.recording import RecordingWriter
    from edge.replay import ReplayStats, iter_poses
    from edge.service.assembly import make_estimator

    config = _config_from(args)
    clip = Path(args.clip)
    out_path = Path(args.out) if args.out else Path(f"{clip.stem}.keypoints.jsonl")
    if args.annotate:
        check_video_path(args.annotate)  # before minutes of work, not after
    min_score = config.pose.min_keypoint_score
    stats = ReplayStats(min_score=min_score)
    poses = []

    with open_source(clip) as source, contextlib.ExitStack() as outputs:
        estimator = make_estimator(config)  # after the clip opened: a bad clip fails fast
        started = time.monotonic()
        recording: RecordingWriter | None = None
        fps = source.nominal_fps or 25.0
        total = source.frame_count
        if args.max_frames:
            total = min(total, args.max_frames) if total else args.max_frames
        progress = outputs.enter_context(_Progress(total, enabled=not args.quiet))
        for frame, pose in iter_poses(source, estimator):
            if recording is None:  # the header needs the first frame's size
                recording = outputs.enter_context(
                    RecordingWriter(
                        out_path,
                        source=str(clip),
                        image_size=(frame.width, frame.height),
                        model=Path(estimator.model_path).name,
                        runtime=estimator.runtime_label,
                        crop_tracking=config.pose.crop_tracking,
                    )
                )
            recording.write(pose)
            stats.add(pose)
            poses.append(pose)
            progress.update(stats.frames)
            if args.max_frames and stats.frames >= args.max_frames:
                break
        progress.finish(stats.frames)

    elapsed = time.monotonic() - started
    if stats.frames == 0:
        raise TracksideError(f"{clip}: the clip yielded no frames")
    crop = "on" if config.pose.crop_tracking else "off"
    print(f"clip       {clip}: {stats.frames} frames, {stats.clip_seconds:.2f} s of video")
    print(
        f"model      {Path(estimator.model_path).name} via {estimator.runtime_label}, "
        f"{config.pose.num_threads} thread(s), crop tracking {crop}"
    )
    print(
        f"keypoints  mean score {stats.mean_score:.3f}; {100 * stats.visible_rate:.1f}% "
        f"visible (score >= {min_score:g}); crop used on {stats.cropped_frames} frames"
    )
    print(f"speed      {stats.frames / elapsed:.1f} frames/s end to end ({elapsed:.2f} s)")
    print(f"wrote      {out_path}")
    if not (args.strides or args.annotate):
        return 0
    judged = judge_poses(
        np.array([p.timestamp for p in poses]),
        np.stack([p.keypoints for p in poses]),
        config.cues,
        config.athletes,
    )
    if args.annotate:
        _write_annotated(clip, Path(args.annotate), poses, judged.reports, fps, min_score)
    if args.strides:
        _print_strides(judged)
    return 0


def _write_annotated(clip: Path, path: Path, poses: list, reports: list, fps: float, min_score):
    """Decode the clip again and draw each frame's pose and its stride's verdicts on it."""
    from edge.capture import open_source
    from edge.outputs.annotate import draw_pose, draw_stride, stride_at
    from edge.outputs.video import VideoWriter

    started = time.perf_counter()
    by_index = {p.frame_index: p for p in poses}
    with open_source(clip) as source, contextlib.ExitStack() as stack:
        video: VideoWriter | None = None
        for frame in source.frames():
            pose = by_index.get(frame.index)
            if pose is None:
                if frame.index > poses[-1].frame_index:
                    break  # --max-frames stopped the pose pass here
                continue
            if video is None:
                size = (frame.width, frame.height)
                video = stack.enter_context(VideoWriter(path, fps=fps, size=size))
            image = draw_pose(frame.image, pose, min_score=min_score)
            report = stride_at(reports, frame.timestamp)
            if report is not None:
                image = draw_stride(image, report)
            video.write(image, frame.timestamp)
    if video is None:
        raise TracksideError(f"{clip}: no frame to annotate on the second read")
    per_frame = (time.perf_counter() - started) / max(video.frames, 1)
    print(
        f"wrote      {path}: {video.format.describe()} ({video.format.backend}), "
        f"{video.frames} frames, {per_frame * 1e3:.1f} ms a frame to decode, draw and encode"
    )


def _print_strides(judged) -> None:  # edge.analysis.JudgedRecording
    """The per-stride verdict table of ``replay --strides``."""
    import numpy as np

    from edge.cues.catalogue import CATALOGUE
    from edge.cues.summary import summarize
    from edge.cues.table import format_stride_table, format_summary, unjudged_reasons

    cadence = judged.analysis.cadence
    contacts = [
        r.stride.ground_contact_ms for r in judged.reports if r.stride.ground_contact_ms is not None
    ]
    line = f"\n{plural(len(judged.reports), 'stride')}"
    if np.isfinite(cadence.value):
        line += f", cadence {cadence.value:.1f} {cadence.unit}"
    if contacts:
        line += f", median ground contact {float(np.median(contacts)):.0f} ms"
    print(line + "\n")
    if judged.reports:
        print(format_stride_table(judged.reports))
        print()
        reasons = unjudged_reasons(judged.reports, CATALOGUE)
        print(format_summary(summarize(judged.reports), reasons=reasons))


def cmd_models_list(args: argparse.Namespace) -> int:
    from edge.pose.models import load_manifest

    for spec in load_manifest().values():
        print(f"{spec.name:28} {spec.input_size}x{spec.input_size} {spec.dtype:8} {spec.filename}")
    return 0


def cmd_models_fetch(args: argparse.Namespace) -> int:
    from edge.pose.models import fetch_model, load_manifest

    manifest = load_manifest()
    names = args.names or ["movenet_lightning_int8"]
    for name in names:
        if name not in manifest:
            raise ConfigError(f"unknown model {name!r} (expected one of: {', '.join(manifest)})")
    if args.mirror:
        # An offline mirror (USB stick, shared folder) holds the files under their official
        # names; they are verified against the manifest exactly like a download.
        mirror = Path(args.mirror).resolve()
        if not mirror.is_dir():
            raise ConfigError(f"--from {args.mirror}: not a directory")
        manifest = {
            name: dataclasses.replace(spec, url=(mirror / spec.filename).as_uri())
            for name, spec in manifest.items()
        }
    for name in names:
        path = fetch_model(name, Path(args.dir), manifest=manifest, force=args.force)
        print(f"{name}: {path} (verified)")
    return 0


def cmd_models_verify(args: argparse.Namespace) -> int:
    """The file checks, then the real test: the configured runtime loads it as MoveNet."""
    from edge.pose.models import load_manifest, resolve_model_path, spec_for_file, verify_model_file
    from edge.pose.movenet import PoseEstimator

    config = _config_from(args)
    model = args.model or config.pose.model
    path = resolve_model_path(model, model_dir=config.pose.model_dir or None)
    spec = spec_for_file(path, load_manifest())
    verify_model_file(path, spec)
    estimator = PoseEstimator(
        path, runtime=config.pose.runtime, num_threads=1, delegate=config.pose.delegate or None
    )
    checked = f"checksum matches {spec.name}" if spec else "not in the manifest: no checksum"
    size = estimator.input_size
    print(
        f"{path}: OK ({checked}; {estimator.runtime_label} loads it as MoveNet "
        f"{estimator.variant}, {size}x{size} input)"
    )
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    """The daemon: what the systemd service runs."""
    from edge.service.assembly import build_daemon

    config = _config_from(args)
    if args.mode:
        config = dataclasses.replace(
            config, service=dataclasses.replace(config.service, mode=args.mode)
        )
    pace = args.speed if args.speed else (1.0 if args.realtime else None)
    origin = str(config.path) if config.path else "config"
    build_daemon(config, source=args.source, loop=args.loop, pace=pace, origin=origin).run()
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    """Pose and analysis speed here, and what live mode can deliver (about 20 s)."""
    from edge.bench import format_bench, run_bench
    from edge.capture import FrameSource, open_source
    from edge.service.assembly import make_estimator

    config = _config_from(args)
    spec = args.clip or config.source.input

    def open_clip() -> FrameSource:
        return open_source(spec, camera=config.camera)

    try:
        probe = open_clip()  # a bad source fails before the model loads
    except TracksideError as exc:
        hint = "" if args.clip else " (or measure on a recorded clip: trackside bench --clip CLIP)"
        raise type(exc)(f"{exc}{hint}") from None
    with probe:
        live_source = probe.live
        fps = config.camera.fps if live_source else (probe.nominal_fps or config.camera.fps)
    estimator = make_estimator(config)
    if live_source:
        print(f"reading frames from {spec}: point it at a runner for a meaningful analysis cost")
    report = run_bench(
        config,
        estimator,
        open_clip,
        source_name=str(spec),
        camera_fps=fps,
        frames=args.frames,
        budget_s=args.seconds,
    )
    print(format_bench(report))
    return 0


def cmd_doctor(args: argparse.Namespace) -> int:
    """Every check of :mod:`edge.doctor`, one line each; exit 1 if any failed."""
    import os

    from edge.doctor import CheckResult, Host, Status, pi_model, run_checks
    from edge.service.unit import service_environ, unit_state

    host = Host(pi_model(), unit_state())
    machine = host.pi_model or "not a Raspberry Pi: checks that need one say n/a"
    try:
        config = load_config(args.config)
    except TracksideError as exc:
        print(CheckResult("config", Status.FAIL, str(exc), "trackside config check FILE").line())
        return 1
    origin = str(config.path) if config.path else "built-in defaults (no config file)"
    print(f"trackside doctor: {machine}; config {origin}")
    environ = service_environ(os.environ, host.unit)
    results = run_checks(config, host, environ=environ)
    for result in results:
        print(result.line())
    counts = {s: sum(r.status is s for r in results) for s in Status}
    print(
        f"{counts[Status.FAIL]} failed, {counts[Status.WARN]} warnings, "
        f"{counts[Status.OK]} ok, {counts[Status.NA]} not applicable here"
    )
    return 1 if counts[Status.FAIL] else 0


def cmd_cues(args: argparse.Namespace) -> int:
    import shutil

    from edge.cues.docs import render_markdown, render_text

    if args.markdown:
        print(render_markdown(), end="")
    else:
        print(render_text(width=min(shutil.get_terminal_size().columns, 100) - 1), end="")
    return 0


def cmd_dashboard(args: argparse.Namespace) -> int:
    from edge.dashboard import build_dashboard, run_dashboard

    config = load_config(args.config)
    dashboard = build_dashboard(
        config.dashboard,
        config.mqtt,
        config.results,
        tuple(a.name for a in config.athletes),
        heights={a.name: a.height_cm for a in config.athletes if a.height_cm},
        origin=str(config.path) if config.path else "config",
    )
    run_dashboard(dashboard)
    return 0


def _results_as_the_service_keeps_them(config: Config):  # -> ResultsConfig
    """The results settings with the path the installed service writes (see unit.py)."""
    import os

    from edge.outputs.store import default_results_path
    from edge.service.unit import service_environ, unit_state

    environ = service_environ(os.environ, unit_state())
    path = default_results_path(config.results.path, environ)
    return dataclasses.replace(config.results, path=str(path))


def cmd_report(args: argparse.Namespace) -> int:
    from edge.outputs.report import run_report

    results = _results_as_the_service_keeps_them(load_config(args.config))
    for path in run_report(results, args.session, args.out, args.csv):
        print(f"wrote {path}")
    return 0


def cmd_sessions(args: argparse.Namespace) -> int:
    from edge.outputs.sessions_list import format_sessions, session_lines
    from edge.outputs.store import ResultStore

    results = _results_as_the_service_keeps_them(load_config(args.config))
    store = ResultStore(results.path, readonly=True)
    try:
        lines = session_lines(store)
    finally:
        store.close()
    if not lines:
        print(f"no session recorded in {store.path} yet")
        return 0
    shown = lines if args.all else lines[: args.limit]
    print(format_sessions(shown))
    older = len(lines) - len(shown)
    more = f"; {plural(older, 'older session')} not shown (--all)" if older else ""
    print(f"\n{plural(len(lines), 'session')} in {store.path}{more}")
    print(f"latest: {lines[0].info.session_id} (trackside report, without a session, reports it)")
    return 0


def cmd_feedback_test(args: argparse.Namespace) -> int:
    from edge.outputs.feedback import run_feedback_test
    from edge.outputs.feedback.driver import FeedbackError

    feedback = load_config(args.config).feedback
    if args.mock:
        feedback = dataclasses.replace(feedback, pin_factory="mock")
        print("simulated pins (--mock): nothing is wired; each step is printed as it runs")
    else:
        from edge.service.unit import unit_state

        unit = unit_state()
        if unit.running:
            print(
                f"{unit.name} is running and holds the pins: stop it first "
                "(sudo systemctl stop trackside), then start it again after the test."
            )
    try:
        run_feedback_test(feedback, clock=time.monotonic, sleep=time.sleep, out=sys.stdout)
    except FeedbackError as exc:
        if args.mock or feedback.pin_factory != "auto":
            raise
        raise FeedbackError(f"{exc}; a dry run here: trackside feedback test --mock") from None
    return 0


# --- parser --------------------------------------------------------------------------------


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _add_pose_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("pose stage (override the config file)")
    group.add_argument("--model", help="model name from models/manifest.toml or a .tflite path")
    group.add_argument(
        "--runtime", choices=("auto", "ai-edge-litert", "tflite-runtime", "tensorflow")
    )
    group.add_argument("--threads", type=int, metavar="N", help="interpreter threads")
    group.add_argument("--delegate", metavar="LIB", help="TFLite delegate library to load")
    group.add_argument("--no-crop", action="store_true", help="disable crop-region tracking")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="trackside",
        description="Running-form analyser: camera → MoveNet pose → gait → cues → outputs.",
    )
    parser.add_argument("--version", action="version", version=f"trackside {__version__}")
    parser.add_argument("--config", metavar="FILE", help="config file (default: $TRACKSIDE_CONFIG)")
    parser.add_argument(
        "--log-level", choices=("debug", "info", "warning", "error"), help="override logging.level"
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    config = commands.add_parser("config", help="check or show the configuration")
    config_commands = config.add_subparsers(dest="config_command", metavar="ACTION", required=True)
    check = config_commands.add_parser("check", help="validate a config file")
    check.add_argument("file", help="the TOML file to check")
    # It checks the file it is given: the configured one ($TRACKSIDE_CONFIG) must not matter.
    check.set_defaults(func=cmd_config_check, reads_configured_file=False)
    show = config_commands.add_parser("show", help="print the effective config, defaults filled in")
    show.add_argument("--bare", action="store_true", help="omit the explanatory comments")
    show.set_defaults(func=cmd_config_show)

    replay = commands.add_parser("replay", help="run a clip through the pose stage")
    replay.add_argument("clip", help="video file or GIF")
    replay.add_argument(
        "--out", metavar="FILE", help="keypoints JSON Lines (default: CLIP.keypoints.jsonl)"
    )
    replay.add_argument(
        "--annotate",
        metavar="OUT.mp4",
        help="also write the clip with the pose and each stride's verdicts (.mp4 or .webm)",
    )
    replay.add_argument(
        "--max-frames", type=_positive_int, metavar="N", help="stop after N frames (N >= 1)"
    )
    replay.add_argument("--quiet", action="store_true", help="no progress bar")
    replay.add_argument(
        "--strides", action="store_true", help="also print every stride's metrics and verdicts"
    )
    _add_pose_options(replay)
    replay.set_defaults(func=cmd_replay)

    models = commands.add_parser("models", help="list, fetch or verify model files")
    model_commands = models.add_subparsers(dest="models_command", metavar="ACTION", required=True)
    model_commands.add_parser("list", help="models in the manifest").set_defaults(
        func=cmd_models_list
    )
    fetch = model_commands.add_parser("fetch", help="download official models and verify them")
    fetch.add_argument("names", nargs="*", help="model names (default: movenet_lightning_int8)")
    fetch.add_argument("--dir", default="models", help="destination directory (default: models)")
    fetch.add_argument(
        "--force", action="store_true", help="download even if a verified file exists"
    )
    fetch.add_argument(
        "--from", dest="mirror", metavar="DIR", help="copy from a local folder instead of the URL"
    )
    fetch.set_defaults(func=cmd_models_fetch)
    verify = model_commands.add_parser("verify", help="check the configured model file")
    verify.add_argument("model", nargs="?", help="model name or path (default: from config)")
    verify.set_defaults(func=cmd_models_verify)

    run = commands.add_parser("run", help="the live daemon (what the systemd service runs)")
    run.add_argument("--source", help='override source.input: "picamera", "webcam:0", a clip')
    run.add_argument(
        "--realtime", action="store_true", help="pace a clip at its own speed, like a camera"
    )
    run.add_argument(
        "--speed", type=float, metavar="X", help="like --realtime, at X times real speed"
    )
    run.add_argument("--loop", action="store_true", help="play a clip over and over")
    run.add_argument("--mode", choices=("live", "burst"), help="override service.mode")
    _add_pose_options(run)
    run.set_defaults(func=cmd_run)

    doctor = commands.add_parser(
        "doctor", help="check this machine: camera, model, broker, pins, disk, clock, service"
    )
    doctor.set_defaults(func=cmd_doctor, reads_configured_file=False)

    bench = commands.add_parser(
        "bench", help="pose and analysis speed here, and what live mode can deliver"
    )
    bench.add_argument(
        "--clip", metavar="CLIP", help="clip or camera to read (default: source.input)"
    )
    bench.add_argument(
        "--frames", type=_positive_int, default=300, metavar="N", help="frames at most (300)"
    )
    bench.add_argument(
        "--seconds", type=float, default=20.0, metavar="S", help="time budget (default 20 s)"
    )
    _add_pose_options(bench)
    bench.set_defaults(func=cmd_bench)

    cues = commands.add_parser("cues", help="the coaching cues, their metrics and thresholds")
    cues.add_argument(
        "--markdown", action="store_true", help="print Markdown (docs/cues.md) instead of text"
    )
    cues.set_defaults(func=cmd_cues)

    dashboard = commands.add_parser("dashboard", help="the coaches' live web page")
    dashboard.set_defaults(func=cmd_dashboard)

    report = commands.add_parser("report", help="a session's HTML report and CSV export")
    report.add_argument(
        "session", nargs="?", help="session id (default: the latest; see `trackside sessions`)"
    )
    report.add_argument("--out", metavar="FILE", help="HTML report (default: report-SESSION.html)")
    report.add_argument("--csv", metavar="FILE", help="also write every stride as CSV")
    report.set_defaults(func=cmd_report)

    sessions = commands.add_parser("sessions", help="the sessions kept on this device")
    sessions.add_argument(
        "--limit", type=_positive_int, default=20, metavar="N", help="newest N (default 20)"
    )
    sessions.add_argument("--all", action="store_true", help="every session kept")
    sessions.set_defaults(func=cmd_sessions)

    feedback = commands.add_parser("feedback", help="LEDs and buzzer")
    feedback_commands = feedback.add_subparsers(
        dest="feedback_command", metavar="ACTION", required=True
    )
    feedback_test = feedback_commands.add_parser(
        "test", help="walk through every light and buzzer pattern on the configured pins"
    )
    feedback_test.add_argument(
        "--mock", action="store_true", help="simulated pins: a dry run on any machine"
    )
    feedback_test.set_defaults(func=cmd_feedback_test)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        level = args.log_level or (
            load_config(args.config).logging.level
            if getattr(args, "reads_configured_file", True)
            else "info"
        )
        setup_logging(level)
        return int(args.func(args) or 0)
    except TracksideError as exc:
        print(f"trackside: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("trackside: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into e.g. `head`, which stopped reading
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141  # what a shell reports for SIGPIPE
