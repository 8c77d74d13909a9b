#!/usr/bin/env python3
"""Benchmark video writing: every format this machine can write, on the same frames.

For each of :func:`edge.outputs.video.available_formats` (PyAV's libx264 and VP9, OpenCV's
fallbacks), writes the first ``--frames`` frames of a clip, annotated as ``replay
--annotate`` draws them (skeleton skipped: drawing is the same for every format), and
prints milliseconds per frame to encode and the file size.

    python scripts/bench_video.py
    python scripts/bench_video.py --clip ../shared/media/movup_run_treadmill.mp4 --frames 150
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from edge.capture import open_source  # noqa: E402
from edge.outputs.video import VideoWriter, available_formats  # noqa: E402

SHARED_MEDIA = Path(os.environ.get("TRACKSIDE_SHARED_DIR", REPO_ROOT.parent / "shared")) / "media"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clip", type=Path, default=SHARED_MEDIA / "jes_woods_nike_coach_1.gif")
    parser.add_argument("--frames", type=int, default=150, help="frames at most (default 150)")
    args = parser.parse_args(argv)
    with open_source(args.clip) as source:
        frames = [f for _, f in zip(range(args.frames), source.frames(), strict=False)]
        fps = source.nominal_fps or 25.0
    size = (frames[0].width, frames[0].height)
    print(f"clip {args.clip.name}: {len(frames)} frames, {size[0]}x{size[1]}")
    print(f"{'format':<34}{'backend':>8}{'browsers':>10}{'ms/frame':>10}{'KiB':>9}")
    with tempfile.TemporaryDirectory() as tmp:
        for fmt in available_formats():
            path = Path(tmp) / f"{fmt.encoder}.{fmt.container}"
            start = time.perf_counter()
            with VideoWriter(path, fps=fps, size=size, video_format=fmt) as video:
                for frame in frames:
                    video.write(frame.image, frame.timestamp)
            per_frame = (time.perf_counter() - start) / len(frames)
            print(
                f"{fmt.describe():<34}{fmt.backend:>8}{'yes' if fmt.browser_playable else 'no':>10}"
                f"{per_frame * 1e3:>10.2f}{path.stat().st_size / 1024:>9.0f}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
