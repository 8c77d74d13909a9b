#!/usr/bin/env python3
"""Benchmark the pose stage: pure interpreter invoke rate vs end-to-end replay rate.

The measuring loops are :mod:`edge.bench`'s, shared with ``trackside bench`` (which also
times the analysis and says what live mode can deliver); this script compares runtimes.

For each TFLite runtime importable in this Python (or ``--runtime``), on the same clip:

* **invoke**: ``interpreter.invoke()`` alone on a prepared input, repeated;
* **end-to-end**: decode (background thread) + preprocess + invoke + postprocess through
  ``edge.replay.iter_poses``, with crop tracking on as in normal use;
* their **ratio** (target: end-to-end >= 0.9x invoke on one thread).

The two are measured in alternating rounds and the best round of each is reported, so a
burst of load from something else on the machine does not land on only one of them.

``--crop-report`` instead measures what crop tracking buys on the wide trackside clip: mean
keypoint score and visible-keypoint rate (score > 0.3), with and without it.

    python scripts/bench_pose.py --threads 1 --frames 300
    python scripts/bench_pose.py --crop-report
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from edge.bench import end_to_end_seconds, first_frame, invoke_seconds  # noqa: E402
from edge.capture import open_source  # noqa: E402
from edge.errors import TracksideError  # noqa: E402
from edge.pose import DEFAULT_MODEL, PoseEstimator, available_runtimes, resolve_model_path  # noqa: E402

SHARED_MEDIA = Path(os.environ.get("TRACKSIDE_SHARED_DIR", REPO_ROOT.parent / "shared")) / "media"
DEFAULT_CLIP = SHARED_MEDIA / "movup_run_treadmill.mp4"
WIDE_CLIP = SHARED_MEDIA / "simplehrnet_running_track_wide.mp4"
VISIBLE = 0.3


def bench_invoke(estimator: PoseEstimator, clip: Path, repeats: int) -> float:
    """Seconds per pure ``invoke`` on a real, prepared frame."""
    return invoke_seconds(estimator, first_frame(lambda: open_source(clip)), repeats=repeats)[0]


def bench_end_to_end(estimator: PoseEstimator, clip: Path, frames: int) -> float:
    """Seconds per frame through decode + preprocess + invoke + postprocess."""
    return end_to_end_seconds(estimator, lambda: open_source(clip), frames=frames)[0]


def crop_report(model: Path, clip: Path, runtime: str, threads: int) -> None:
    with open_source(clip) as source:
        frames = list(source.frames())
    print(
        f"crop tracking on {clip.name}: {len(frames)} frames, {frames[0].width}x{frames[0].height}"
    )
    print(
        f"{'mode':<22}{'mean score':>12}{'visible >0.3':>14}{'legs mean':>11}{'legs visible':>14}"
        f"{'model runs/frame':>18}{'switches':>10}"
    )
    for tracking in (False, True):
        estimator = PoseEstimator(
            model, runtime=runtime, num_threads=threads, crop_tracking=tracking
        )
        scores = np.stack([estimator.estimate(frame).scores for frame in frames])
        legs = scores[:, 11:17]
        label = "crop tracking" if tracking else "letterbox (no crop)"
        # Searches for a better runner cost extra model runs, only while the lock is poor.
        print(
            f"{label:<22}{scores.mean():>12.3f}{(scores > VISIBLE).mean():>14.1%}"
            f"{legs.mean():>11.3f}{(legs > VISIBLE).mean():>14.1%}"
            f"{estimator.inferences / len(frames):>18.3f}{estimator.switches:>10}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clip", type=Path, default=None, help=f"default {DEFAULT_CLIP.name}")
    parser.add_argument("--model", default=DEFAULT_MODEL, help="manifest name or .tflite path")
    parser.add_argument("--runtime", default=None, help="only this runtime (default: every one)")
    parser.add_argument("--threads", type=int, default=1, help="interpreter threads (default 1)")
    parser.add_argument("--frames", type=int, default=300, help="frames end-to-end (default 300)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds (default 3)")
    parser.add_argument(
        "--crop-report",
        action="store_true",
        help="measure crop tracking on the wide track clip instead",
    )
    args = parser.parse_args(argv)
    try:
        model = resolve_model_path(args.model)
        runtimes = [args.runtime] if args.runtime else available_runtimes()
        if args.crop_report:
            crop_report(model, args.clip or WIDE_CLIP, runtimes[0], args.threads)
            return 0
        clip = args.clip or DEFAULT_CLIP
        print(
            f"clip {clip.name}, model {model.name}, {args.threads} thread(s), "
            f"{args.frames} frames x best of {args.rounds} rounds, numpy {np.__version__}"
        )
        print(
            f"{'runtime':<24}{'invoke ms':>10}{'invoke fps':>11}{'e2e ms':>9}{'e2e fps':>9}"
            f"{'ratio':>7}"
        )
        for runtime in runtimes:
            estimator = PoseEstimator(model, runtime=runtime, num_threads=args.threads)
            invoke = e2e = float("inf")
            for _ in range(max(1, args.rounds)):
                invoke = min(invoke, bench_invoke(estimator, clip, repeats=args.frames))
                e2e = min(e2e, bench_end_to_end(estimator, clip, args.frames))
            print(
                f"{estimator.runtime_label:<24}{invoke * 1e3:>10.2f}{1 / invoke:>11.1f}"
                f"{e2e * 1e3:>9.2f}{1 / e2e:>9.1f}{invoke / e2e:>7.2f}"
            )
    except TracksideError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
