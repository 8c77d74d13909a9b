#!/usr/bin/env python3
"""Benchmark pass clips: what one pass on video costs on this machine.

Runs MoveNet and the gait and cue pipeline over the first ``--seconds`` of a real clip
(as the daemon does), then, as :class:`edge.outputs.pass_clips.PassClipRecorder` does,
times the small copy the analysis thread keeps of each frame and the worker's drawing and
encoding of the whole pass, for each clip width and each encoder this machine has.  Prints
milliseconds per frame, seconds per pass, and kilobytes per second of clip.

    python scripts/bench_pass_clip.py
    python scripts/bench_pass_clip.py --clip ../shared/media/movup_run_treadmill.mp4 --seconds 8
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

import numpy as np  # noqa: E402

from edge.analysis import judge_poses  # noqa: E402
from edge.capture import open_source  # noqa: E402
from edge.cues.settings import CuesConfig  # noqa: E402
from edge.outputs import pass_clips  # noqa: E402
from edge.outputs.annotate import draw_pose, draw_stride, stride_at  # noqa: E402
from edge.outputs.video import VideoWriter, available_formats  # noqa: E402
from edge.pose.models import resolve_model_path  # noqa: E402
from edge.pose.movenet import PoseEstimator  # noqa: E402
from edge.replay import iter_poses  # noqa: E402

SHARED = Path(os.environ.get("TRACKSIDE_SHARED_DIR", REPO_ROOT.parent / "shared"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clip", type=Path, default=SHARED / "media" / "movup_run_treadmill.mp4")
    parser.add_argument("--seconds", type=float, default=8.0, help="pass length (default 8)")
    parser.add_argument("--sides", default="360,480", help="clip sizes (longer side, px)")
    parser.add_argument("--repeat", type=int, default=3, help="encodes per setting (median)")
    args = parser.parse_args(argv)
    model = resolve_model_path(
        "movenet_lightning_int8", model_dir=os.environ.get("TRACKSIDE_MODEL_DIR")
    )
    estimator = PoseEstimator(model, num_threads=2)
    frames, poses = [], []
    with open_source(args.clip) as source:
        for frame, pose in iter_poses(source, estimator):
            if pose.timestamp > args.seconds:
                break
            frames.append(frame.image)
            poses.append(pose)
    t = np.array([p.timestamp for p in poses])
    reports = judge_poses(t, np.stack([p.keypoints for p in poses]), CuesConfig()).reports
    h, w = frames[0].shape[:2]
    span = poses[-1].timestamp - poses[0].timestamp
    print(
        f"clip {args.clip.name}: {len(frames)} analysed frames over {span:.1f} s "
        f"({w}x{h}), {len(reports)} strides"
    )
    for side in (int(x) for x in args.sides.split(",")):
        started = time.perf_counter()
        small = [pass_clips.small_copy(f, p, side) for f, p in zip(frames, poses, strict=True)]
        copy_ms = 1000 * (time.perf_counter() - started) / len(frames)
        started = time.perf_counter()
        drawn = []
        for image, pose in small:
            out = draw_pose(image, pose)
            report = stride_at(reports, pose.timestamp)
            drawn.append(draw_stride(out, report) if report is not None else out)
        draw_ms = 1000 * (time.perf_counter() - started) / len(frames)
        memory_mb = sum(i.nbytes for i, _ in small) / 1e6
        size = (drawn[0].shape[1], drawn[0].shape[0])
        print(
            f"\n{size[0]}x{size[1]}: analysis thread copy {copy_ms:.2f} ms/frame; "
            f"pass held in memory {memory_mb:.1f} MB; overlay {draw_ms:.2f} ms/frame"
        )
        for fmt in [f for f in available_formats() if f.browser_playable]:
            times, sizes = [], []
            for _ in range(args.repeat):
                with tempfile.TemporaryDirectory() as tmp:
                    path = Path(tmp) / f"pass.{fmt.container}"
                    started = time.perf_counter()
                    with VideoWriter(
                        path, fps=len(frames) / span, size=size, video_format=fmt
                    ) as v:
                        for image, (_, pose) in zip(drawn, small, strict=True):
                            v.write(image, pose.timestamp)
                    times.append(time.perf_counter() - started)
                    sizes.append(path.stat().st_size)
            encode = statistics.median(times)
            per_pass = encode + draw_ms * len(frames) / 1000
            print(
                f"  {fmt.describe():<40} encode {1000 * encode / len(frames):5.2f} ms/frame; "
                f"pass (draw + encode) {per_pass:5.2f} s = {per_pass / span:.2f} s per s of "
                f"clip; {sizes[0] / 1024 / span:6.1f} KiB per s of clip"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
