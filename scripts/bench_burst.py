"""Live, live with in-between tracking, and rolling burst mode on a slow device, against
the hand-made foot-strike labels.

A Raspberry Pi 4 runs MoveNet Lightning at about 10 frames per second.  This emulates that
on the real clips: the model can only start a new inference every 1/rate seconds and then
takes the newest frame (exactly what the daemon's one-slot hand-off does).

* **sparse** — only the inferred frames reach the streaming engine (live without tracking);
* **live** — the daemon's live path: the frames in between are tracked from the last
  inference with optical flow (:class:`edge.pose.inbetween.InBetweenPoses`), every frame
  reaches the streaming engine, which is flushed at the end;
* **burst** — every frame inferred, the pass analysed in rolling windows
  (:class:`edge.service.burst.BurstWorker`, window 5 s, overlap 2 s) with the delay from a
  stride's end to its publication (source time);
* **stream@full** / **batch@full** — every frame inferred, streaming vs whole-clip batch.

Each schedule is run from ``--phases`` starting frames and pooled.  Also prints the extra
tracking cost per tracked frame (ms, this machine) and a Pi 4 estimate.

    python scripts/bench_burst.py [--rate 10] [--phases 3] [--clips movup_run_treadmill.mp4 ...]
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))

from validate_gait import ClipScore, read_labels, score_clip  # noqa: E402

from edge.capture import open_source  # noqa: E402
from edge.config import Config  # noqa: E402
from edge.gait.batch import analyse_arrays  # noqa: E402
from edge.gait.streaming import GaitTracker  # noqa: E402
from edge.gait.timing import overall_cadence  # noqa: E402
from edge.pose.inbetween import InBetweenPoses  # noqa: E402
from edge.pose.models import resolve_model_path  # noqa: E402
from edge.pose.movenet import PoseEstimator  # noqa: E402
from edge.service.burst import BurstWorker  # noqa: E402
from edge.service.sinks import FanOut  # noqa: E402
from edge.service.status import Stats  # noqa: E402
from edge.types import EventKind, Frame, GaitEvent, Pose, Step  # noqa: E402

SHARED = REPO.parent / "shared"
CLIPS = [
    "movup_run_treadmill.mp4",
    "sports2d_demo3_running_side.mp4",
    "jes_woods_nike_coach_1.gif",
    "eliud_kipchoge_sub2_marathon.gif",
    "simplehrnet_running_track_wide.mp4",
]
# Pi 4 / this machine for SIMD image code (docs/live-timing-notes.md: MoveNet 95 ms on a
# Pi 4 against 4.7-5.1 ms here is >= 19x; scalar sysbench 1.5x; LK flow taken as 10-20x).
PI4_FACTOR = (10.0, 20.0)


def live_schedule(timestamps: list[float], period: float) -> list[int]:
    """Frames a live pipeline analyses when each inference takes ``period`` seconds.

    When the interpreter becomes free it takes the newest frame that has arrived (older
    ones were overwritten), or waits for the next one.
    """
    chosen: list[int] = []
    busy_until = -math.inf
    waiting: int | None = None  # newest frame that arrived while busy
    for i, t in enumerate(timestamps):
        while True:
            if t <= busy_until:
                waiting = i
                break
            if waiting is not None:  # free before frame i: start on the waiting frame
                chosen.append(waiting)
                busy_until += period
                waiting = None
                continue
            chosen.append(i)
            busy_until = t + period
            break
    if waiting is not None:
        chosen.append(waiting)
    return chosen


class Published:
    def __init__(self, clock):
        self.clock = clock
        self.strides: list = []

    def publish_stride(self, report):
        self.strides.append((report, self.clock()))

    def publish_pass_summary(self, summary, *, pass_index):
        pass


def stream(poses: list[Pose]) -> tuple[list[GaitEvent], list[Step]]:
    tracker = GaitTracker(stride_metrics=False)
    updates = [tracker.push(p) for p in poses] + [tracker.flush()]
    return [e for u in updates for e in u.events], [s for u in updates for s in u.steps]


def live_with_tracking(
    frames: list[Frame], chosen: set[int], model: Path, cost_ms: list[float]
) -> list[Pose]:
    """The daemon's live path: inferred frames seed, the frames after them are tracked."""
    estimator = PoseEstimator(model, num_threads=2)
    inbetween = InBetweenPoses()
    poses = []
    for frame in frames:
        if frame.index in chosen:
            pose = estimator.estimate(frame)
            inbetween.seed(frame, pose)
        else:
            started = time.perf_counter()
            tracked = inbetween.track(frame)
            if tracked is None:
                continue
            cost_ms.append(1000 * (time.perf_counter() - started))
            pose = tracked
        poses.append(pose)
    return poses


def rolling_burst(frames: list[Frame], model: Path) -> tuple[list, list[float]]:
    """Every frame through :class:`BurstWorker`'s rolling windows, run in step."""
    now = [0.0]
    sink = Published(lambda: now[0])
    config = Config()
    config = replace(config, service=replace(config.service, mode="burst"))
    worker = BurstWorker(
        config, lambda: PoseEstimator(model, num_threads=2), FanOut({"b": sink}), Stats()
    )
    estimator = worker.estimator_factory()
    start = frames[0].timestamp
    for frame in frames:
        now[0] = frame.timestamp
        worker.buffer(frame)
        worker.pass_progress(1, start, frame.timestamp)
        while worker.queue_depth:
            worker._analyse(estimator, worker._jobs.get_nowait())
    worker.pass_ended(1, start)
    now[0] = math.inf  # the pass's end: not a delay of the rolling windows
    worker._analyse(estimator, worker._jobs.get_nowait())
    strides = [r.stride for r, _ in sink.strides]
    delays = [at - r.stride.next_foot_strike.time for r, at in sink.strides if at < math.inf]
    return strides, delays


def cadence_error(steps: list[Step], end: float, labelled: float) -> float:
    cadence = overall_cadence([s for s in steps if s.next_foot_strike.time <= end]).value
    return 100 * (cadence - labelled) / labelled if labelled else math.nan


def cadence_summary(errors: list[float]) -> str:
    """Mean and worst cadence error (%) over the runs that completed a step, and how many
    did not (their cadence is unknown, not wrong)."""
    known = [e for e in errors if math.isfinite(e)]
    none = (
        f" ({len(errors) - len(known)} of {len(errors)} no step)"
        if len(known) < len(errors)
        else ""
    )
    if not known:
        return f"  none{none}"
    return f"{statistics.mean(known):+5.1f}% (worst {max(known, key=abs):+5.1f}%){none}"


def pooled(scores: list[ClipScore]) -> str:
    labels = sum(s.labels for s in scores)
    hits = sum(s.hits for s in scores)
    det = sum(s.detections for s in scores)
    same = sum(s.hits_same_leg for s in scores)
    return f"P {hits / max(det, 1):.2f} R {hits / max(labels, 1):.2f} same leg {same}/{hits}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=10.0, help="emulated inferences/s")
    parser.add_argument("--phases", type=int, default=3, help="schedule starting frames")
    parser.add_argument("--clips", nargs="*", default=CLIPS)
    args = parser.parse_args()
    model = resolve_model_path("movenet_lightning_int8")
    print(
        f"slow-device emulation: one inference every {1000 / args.rate:.0f} ms "
        f"({args.rate:g}/s), {args.phases} phases; model {model.name}"
    )
    totals: dict[str, list[ClipScore]] = {}
    to_totals: dict[str, list[ClipScore]] = {}
    cost_ms: list[float] = []
    all_delays: list[float] = []
    for name in args.clips:
        clip = SHARED / "media" / name
        stem = Path(name).stem
        labels = read_labels(SHARED / "media" / "labels" / f"{stem}.events.csv")
        with open_source(clip) as source:
            frames = list(source.frames())
        t = np.array([f.timestamp for f in frames])
        index = np.array([f.index for f in frames])
        end = float(np.interp(max(x.frame for x in labels) + 1, index, t))
        every = PoseEstimator(model, num_threads=2)
        full = [every.estimate(f) for f in frames]
        batch = analyse_arrays(t, np.stack([p.keypoints for p in full]), stride_metrics=False)
        runs: dict[str, list[tuple[list[GaitEvent], list[Step]]]] = {
            "batch@full": [(batch.events, batch.steps)],
            "stream@full": [stream(full)],
            "sparse": [],
            "live": [],
        }
        for phase in range(args.phases):
            chosen = {phase + i for i in live_schedule(list(t[phase:]), 1.0 / args.rate)}
            estimator = PoseEstimator(model, num_threads=2)
            sparse = [estimator.estimate(f) for f in frames if f.index in chosen]
            runs["sparse"].append(stream(sparse))
            runs["live"].append(stream(live_with_tracking(frames, chosen, model, cost_ms)))
        strides, delays = rolling_burst(frames, model)
        all_delays += delays
        strikes = [e for s in strides for e in (s.foot_strike, s.next_foot_strike)]
        burst_events = sorted({round(e.time, 4): e for e in strikes}.values(), key=lambda e: e.time)
        burst_events += [s.toe_off for s in strides if s.toe_off is not None]
        print(f"{name}: {len(frames)} frames at {1 / float(np.median(np.diff(t))):.1f} fps")
        for design, results in runs.items():
            scores = [score_clip(stem, index, t, ev, labels) for ev, _ in results]
            tos = [score_clip(stem, index, t, ev, labels, EventKind.TOE_OFF) for ev, _ in results]
            totals.setdefault(design, []).extend(scores)
            to_totals.setdefault(design, []).extend(tos)
            cad = [cadence_error(st, end, scores[0].labelled_cadence) for _, st in results]
            print(
                f"  {design:12} FS {pooled(scores)}  TO R {pooled(tos).split('R ')[1][:4]}  "
                f"cadence {cadence_summary(cad)}"
            )
        score = score_clip(stem, index, t, burst_events, labels)
        totals.setdefault("burst", []).append(score)
        delay = f"max delay {max(delays):.1f} s" if delays else "no window before the end"
        print(f"  {'burst':12} FS {pooled([score])} (strides' strikes); {delay}")
    print("pooled over the clips:")
    for design, scores in totals.items():
        to = pooled(to_totals[design]).split("R ")[1][:4] if design in to_totals else "  - "
        print(f"  {design:12} FS {pooled(scores)}  TO R {to}")
    if cost_ms:
        med, p95 = np.median(cost_ms), np.percentile(cost_ms, 95)
        lo, hi = PI4_FACTOR
        print(
            f"in-between tracking: {len(cost_ms)} frames, median {med:.2f} ms, "
            f"p95 {p95:.2f} ms per tracked frame here; "
            f"Pi 4 estimate {lo * med:.0f}-{hi * med:.0f} ms (x{lo:g}-{hi:g})"
        )
    if all_delays:
        print(f"burst rolling windows: max delay stride end -> published {max(all_delays):.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
