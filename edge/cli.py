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
        rate = done / max(now - self.started, 1e-9)
        if self.total:
            filled = int(30 * min(done, self.total) / self.total)
            bar = "#" * filled + "." * (30 - filled)
            sys.stderr.write(f"\r[{bar}] {done}/{self.total} frames  {rate:5.1f} fps")
        else:
            sys.stderr.write(f"\r{done} frames  {rate:5.1f} fps")
        sys.stderr.flush()

    def __enter__(self) -> _Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.enabled:
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
    from edge.capture import open_source
    from edge.outputs.annotate import AnnotatedVideoWriter, draw_pose
    from edge.recording import RecordingWriter
    from edge.replay import ReplayStats, iter_poses
    from edge.service.assembly import make_estimator

    config = _config_from(args)
    clip = Path(args.clip)
    out_path = Path(args.out) if args.out else Path(f"{clip.stem}.keypoints.jsonl")
    min_score = config.pose.min_keypoint_score
    stats = ReplayStats(min_score=min_score)
    times: list[float] = []
    keypoints: list = []

    with open_source(clip) as source, contextlib.ExitStack() as outputs:
        estimator = make_estimator(config)  # after the clip opened: a bad clip fails fast
        started = time.monotonic()
        recording: RecordingWriter | None = None
        video: AnnotatedVideoWriter | None = None
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
                if args.annotate:
                    video = outputs.enter_context(
                        AnnotatedVideoWriter(
                            args.annotate,
                            fps=source.nominal_fps or 25.0,
                            size=(frame.width, frame.height),
                        )
                    )
            recording.write(pose)
            if video is not None:
                video.write(draw_pose(frame.image, pose, min_score=min_score))
            stats.add(pose)
            if args.strides:
                times.append(pose.timestamp)
                keypoints.append(pose.keypoints)
            progress.update(stats.frames)
            if args.max_frames and stats.frames >= args.max_frames:
                break

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
    print(f"wrote      {out_path}" + (f" and {args.annotate}" if args.annotate else ""))
    if args.strides:
        _print_strides(config, times, keypoints)
    return 0


def _print_strides(config: Config, times: list[float], keypoints: list) -> None:
    """The per-stride verdict table of ``replay --strides``."""
    import numpy as np

    from edge.analysis import judge_poses
    from edge.cues.summary import summarize
    from edge.cues.table import format_stride_table, format_summary

    judged = judge_poses(np.asarray(times), np.stack(keypoints), config.cues, config.athletes)
    cadence = judged.analysis.cadence
    print(f"\n{len(judged.reports)} strides, cadence {cadence.value:.1f} {cadence.unit}\n")
    if judged.reports:
        print(format_stride_table(judged.reports))
        print()
        print(format_summary(summarize(judged.reports)))


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
    from edge.pose.models import load_manifest, resolve_model_path, spec_for_file, verify_model_file

    config = _config_from(args)
    model = args.model or config.pose.model
    path = resolve_model_path(model, model_dir=config.pose.model_dir or None)
    spec = spec_for_file(path, load_manifest())
    verify_model_file(path, spec)
    checked = f"checksum matches {spec.name}" if spec else "TFLite format only: not in the manifest"
    print(f"{path}: OK ({checked})")
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


def cmd_cues(args: argparse.Namespace) -> int:
    from edge.cues.docs import render_markdown

    print(render_markdown(), end="")
    return 0


def cmd_dashboard(args: argparse.Namespace) -> int:
    from edge.dashboard import build_dashboard, run_dashboard

    config = load_config(args.config)
    dashboard = build_dashboard(
        config.dashboard,
        config.mqtt,
        config.results,
        tuple(a.name for a in config.athletes),
        origin=str(config.path) if config.path else "config",
    )
    run_dashboard(dashboard)
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from edge.outputs.report import run_report

    run_report(load_config(args.config).results, args.session, args.out, args.csv)
    return 0


def cmd_feedback_test(args: argparse.Namespace) -> int:
    from edge.outputs.feedback import run_feedback_test

    config = load_config(args.config)
    print(
        "Stop the service first (sudo systemctl stop trackside): two programs cannot "
        "drive the same pins."
    )
    run_feedback_test(config.feedback, clock=time.monotonic, sleep=time.sleep, out=sys.stdout)
    return 0


# --- parser --------------------------------------------------------------------------------


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
    replay.add_argument("--annotate", metavar="OUT.mp4", help="also write an annotated video")
    replay.add_argument("--max-frames", type=int, metavar="N", help="stop after N frames")
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

    cues = commands.add_parser("cues", help="the coaching cues, their metrics and thresholds")
    cues.set_defaults(func=cmd_cues)

    dashboard = commands.add_parser("dashboard", help="the coaches' live web page")
    dashboard.set_defaults(func=cmd_dashboard)

    report = commands.add_parser("report", help="a session's HTML report and CSV export")
    report.add_argument("session", help="session id (see the dashboard or MQTT payloads)")
    report.add_argument("--out", metavar="FILE", help="HTML report (default: report-SESSION.html)")
    report.add_argument("--csv", metavar="FILE", help="also write every stride as CSV")
    report.set_defaults(func=cmd_report)

    feedback = commands.add_parser("feedback", help="LEDs and buzzer")
    feedback_commands = feedback.add_subparsers(
        dest="feedback_command", metavar="ACTION", required=True
    )
    feedback_commands.add_parser(
        "test", help="walk through every light and buzzer pattern on the configured pins"
    ).set_defaults(func=cmd_feedback_test)
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
