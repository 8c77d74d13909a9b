"""The ``trackside`` command line.

The parser and the entry point.  Each sub-command is a small function (``replay.py``,
``commands.py``) that wires stages together; the stages themselves live in their own
packages.  Expected failures (:class:`~edge.errors.TracksideError`) print one
line on stderr and exit non-zero; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from edge import __version__
from edge.cli.commands import (
    cmd_bench,
    cmd_config_check,
    cmd_config_show,
    cmd_cues,
    cmd_dashboard,
    cmd_doctor,
    cmd_feedback_test,
    cmd_models_fetch,
    cmd_models_list,
    cmd_models_verify,
    cmd_report,
    cmd_run,
    cmd_sessions,
)
from edge.cli.replay import cmd_replay
from edge.config import load_config
from edge.errors import TracksideError
from edge.logs import setup_logging

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
