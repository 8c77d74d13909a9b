"""Live vs burst mode on a slow device, against the hand-made foot-strike labels.

A Raspberry Pi 4 runs MoveNet Lightning at about 10 frames per second.  This emulates that
on the real clips: in **live** mode the analysis can only start a new inference every
1/rate seconds and then takes the newest frame (exactly what the daemon's one-slot hand-off
does), so most frames are never seen; in **burst** mode every buffered frame is analysed
after the pass with the batch engine.  Both use the real model; only the schedule differs.

    python scripts/bench_burst.py [--rate 10] [--clips movup_run_treadmill.mp4 ...]
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))

from validate_gait import read_labels, score_clip  # noqa: E402

from edge.capture import open_source  # noqa: E402
from edge.gait.batch import analyse_arrays  # noqa: E402
from edge.gait.streaming import GaitTracker  # noqa: E402
from edge.gait.timing import overall_cadence  # noqa: E402
from edge.pose.models import resolve_model_path  # noqa: E402
from edge.pose.movenet import PoseEstimator  # noqa: E402
from edge.types import EventKind  # noqa: E402

SHARED = REPO.parent / "shared"
CLIPS = [
    "movup_run_treadmill.mp4",
    "sports2d_demo3_running_side.mp4",
    "jes_woods_nike_coach_1.gif",
    "eliud_kipchoge_sub2_marathon.gif",
]


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


def row(label: str, score, cadence: float, labelled: float, period: float) -> str:
    errors = [abs(e) for e in score.frame_errors]
    median = statistics.median(errors) if errors else math.nan
    cad = 100 * (cadence - labelled) / labelled if labelled else math.nan
    return (
        f"  {label:6} FS precision {score.precision:4.2f} recall {score.recall:4.2f}  "
        f"median |error| {median:3.1f} frames ({1000 * median * period:4.0f} ms)  "
        f"cadence {cadence:6.1f} ({cad:+5.1f}% vs labels)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=10.0, help="emulated inferences/s")
    parser.add_argument("--clips", nargs="*", default=CLIPS)
    args = parser.parse_args()
    model = resolve_model_path("movenet_lightning_int8")

    print(
        f"slow-device emulation: one inference every {1000 / args.rate:.0f} ms "
        f"({args.rate:g} fps); model {model.name}"
    )
    for name in args.clips:
        clip = SHARED / "media" / name
        labels = read_labels(SHARED / "media" / "labels" / f"{Path(name).stem}.events.csv")
        with open_source(clip) as source:
            timestamps = [f.timestamp for f in source.frames()]
        chosen = set(live_schedule(timestamps, 1.0 / args.rate))
        every = PoseEstimator(model, num_threads=2)
        live_estimator = PoseEstimator(model, num_threads=2)
        tracker = GaitTracker()
        t_all, kp_all, live_events, live_steps = [], [], [], []
        with open_source(clip) as source:
            for frame in source.frames():
                pose = every.estimate(frame)
                t_all.append(pose.timestamp)
                kp_all.append(pose.keypoints)
                if frame.index in chosen:
                    update = tracker.push(live_estimator.estimate(frame))
                    live_events += update.events
                    live_steps += update.steps
        t = np.asarray(t_all)
        frames = np.arange(len(t))
        burst = analyse_arrays(t, np.stack(kp_all))
        stem = Path(name).stem
        live_score = score_clip(stem, frames, t, live_events, labels, EventKind.FOOT_STRIKE)
        burst_score = score_clip(stem, frames, t, burst.events, labels, EventKind.FOOT_STRIKE)
        period = float(np.median(np.diff(t)))
        print(
            f"{name}: {len(t)} frames at {1 / period:.1f} fps; live analysed {len(chosen)} "
            f"({100 * len(chosen) / len(t):.0f}%), dropped {len(t) - len(chosen)}; "
            f"{live_score.labels} labelled strikes, labelled cadence "
            f"{live_score.labelled_cadence:.1f} steps/min"
        )
        print(
            row(
                "live",
                live_score,
                overall_cadence(live_steps).value,
                live_score.labelled_cadence,
                period,
            )
        )
        print(
            row(
                "burst",
                burst_score,
                overall_cadence(burst.steps).value,
                burst_score.labelled_cadence,
                period,
            )
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
