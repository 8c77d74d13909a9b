"""The other sub-commands: each a small function that wires stages together and prints."""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

from edge.cli.common import config_from, results_as_the_service_keeps_them
from edge.config import dump_config, load_config
from edge.errors import ConfigError, TracksideError
from edge.text import plural


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

    config = config_from(args)
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

    config = config_from(args)
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

    config = config_from(args)
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


def cmd_report(args: argparse.Namespace) -> int:
    from edge.outputs.report import run_report

    results = results_as_the_service_keeps_them(load_config(args.config))
    for path in run_report(results, args.session, args.out, args.csv):
        print(f"wrote {path}")
    return 0


def cmd_sessions(args: argparse.Namespace) -> int:
    from edge.outputs.sessions_list import format_sessions, session_lines
    from edge.outputs.store import ResultStore

    results = results_as_the_service_keeps_them(load_config(args.config))
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
