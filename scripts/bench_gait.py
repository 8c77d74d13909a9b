"""Cost of the gait engine per frame, streaming and batch.

    python scripts/bench_gait.py [--seconds 30] [--fps 30 60] [--metrics]

Films the Fukuchi treadmill trial with MoveNet-like noise (edge/testing/groundtruth.py) so
the engine works on realistic input, then times ``GaitTracker.push`` frame by frame and
``analyse_arrays`` on the whole recording.  Prints milliseconds per frame and the share of
the frame interval it uses.  ``--metrics`` includes the per-stride kinematic metrics, and
also times :func:`edge.gait.metrics.stride_metrics` alone, per stride.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from edge.gait.batch import analyse_arrays
from edge.gait.metrics import stride_metrics
from edge.gait.streaming import GaitTracker
from edge.gait.track import SideViewTrack
from edge.testing.groundtruth import Spoiling, film, load_fukuchi
from edge.types import Pose, Stride

DEFAULT_ROOT = Path(__file__).resolve().parent.parent.parent / "shared" / "groundtruth"
#: Margin of track kept either side of a stride when its metrics are timed alone.
WINDOW_MARGIN_S = 0.1


def seconds_per_stride(track: SideViewTrack, strides: Sequence[Stride], repeats: int = 5) -> float:
    """Best-of-``repeats`` wall time of computing every stride's metrics, per stride.

    Includes cutting each stride's window out of ``track``.
    """
    if not strides:
        return float("nan")
    best = float("inf")
    for _ in range(max(1, repeats)):
        start = time.perf_counter()
        for stride in strides:
            window = track.window(
                stride.foot_strike.time - WINDOW_MARGIN_S,
                stride.next_foot_strike.time + WINDOW_MARGIN_S,
            )
            stride_metrics(window, stride, ())
        best = min(best, time.perf_counter() - start)
    return best / len(strides)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--groundtruth", type=Path, default=DEFAULT_ROOT)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--fps", type=float, nargs="+", default=[30, 60])
    parser.add_argument("--metrics", action="store_true", help="include stride metrics")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    if not args.groundtruth.exists():
        print(f"error: ground-truth directory not found: {args.groundtruth}", file=sys.stderr)
        return 2
    trial = load_fukuchi(args.groundtruth, "T25")
    print(f"{'fps':>4} {'engine':<10}{'ms/frame':>10}{'p99 ms':>9}{'of frame':>10}")
    for fps in args.fps:
        filmed = film(trial, fps, spoil=Spoiling(), seed=0, duration=args.seconds)
        poses = [
            Pose(float(t), i, kp, filmed.image_size)
            for i, (t, kp) in enumerate(zip(filmed.t, filmed.keypoints, strict=True))
        ]
        best_mean, best_p99 = float("inf"), float("inf")
        for _ in range(args.repeat):
            tracker = GaitTracker(stride_metrics=args.metrics)
            costs = np.empty(len(poses))
            for i, pose in enumerate(poses):
                start = time.perf_counter()
                tracker.push(pose)
                costs[i] = time.perf_counter() - start
            best_mean = min(best_mean, float(costs.mean()))
            best_p99 = min(best_p99, float(np.percentile(costs, 99)))
        share = best_mean * fps
        print(
            f"{fps:>4.0f} {'streaming':<10}{best_mean * 1000:>10.3f}{best_p99 * 1000:>9.3f}"
            f"{share:>9.1%}"
        )
        best = float("inf")
        for _ in range(args.repeat):
            start = time.perf_counter()
            result = analyse_arrays(filmed.t, filmed.keypoints, stride_metrics=args.metrics)
            best = min(best, (time.perf_counter() - start) / len(poses))
        print(f"{fps:>4.0f} {'batch':<10}{best * 1000:>10.3f}{'':>9}{best * fps:>9.1%}")
        if args.metrics:
            per_stride = seconds_per_stride(result.track, result.strides, args.repeat)
            print(f"{fps:>4.0f} {'metrics':<10}{per_stride * 1000:>10.3f} ms per stride")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
