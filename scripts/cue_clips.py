"""Cue verdicts on the real clips: per-cue summary and alert flips per minute.

Runs each clip through the real model, the streaming gait engine and the cue evaluator
exactly as the live daemon does (every frame, no pacing), and prints what a coach would
have seen: the share of each verdict per cue (ok, warn, fault, unknown, information only,
unreliable) and how often alerts changed.

    python scripts/cue_clips.py [CLIP ...]
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from edge.analysis import RunAnalyzer  # noqa: E402
from edge.capture import open_source  # noqa: E402
from edge.config import Config  # noqa: E402
from edge.cues.table import format_summary  # noqa: E402
from edge.pose.models import resolve_model_path  # noqa: E402
from edge.pose.movenet import PoseEstimator  # noqa: E402
from edge.replay import iter_poses  # noqa: E402

MEDIA = REPO.parent / "shared" / "media"


def main(argv: list[str]) -> int:
    clips = [Path(a) for a in argv] or sorted(
        p for p in MEDIA.iterdir() if p.suffix in {".mp4", ".gif"}
    )
    model = resolve_model_path("movenet_lightning_int8")
    for clip in clips:
        analyzer = RunAnalyzer(Config().cues)
        estimator = PoseEstimator(model, num_threads=2)
        alerts, first, last = [], None, None
        with open_source(clip) as source:
            for _, pose in iter_poses(source, estimator):
                first = pose.timestamp if first is None else first
                last = pose.timestamp
                alerts += analyzer.push(pose).alerts
        minutes = (last - first) / 60 if last is not None and first is not None else 0.0
        summary = analyzer.session_summary.summary()
        rate = len(alerts) / minutes if minutes else float("nan")
        raised = sum(a.active for a in alerts)
        print(
            f"== {clip.name}: {summary.strides} strides in {60 * minutes:.1f} s; "
            f"{len(alerts)} alert changes ({raised} raised) = {rate:.1f} per minute"
        )
        if summary.strides:
            print(format_summary(summary))
        print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
