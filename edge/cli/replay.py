"""``trackside replay``: a clip through the pose stage, its strides judged, optionally drawn."""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from pathlib import Path

from edge.cli.common import config_from
from edge.errors import TracksideError
from edge.text import plural


class Progress:
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
        self._draw(done, self.total, now)

    def finish(self, done: int) -> None:
        """The last line: what was really decoded (a container's frame count is an estimate)."""
        if self.enabled:
            self._draw(done, done, time.monotonic())
            sys.stderr.write("\n")
            self.enabled = False

    def _draw(self, done: int, total: int | None, now: float) -> None:
        rate = done / max(now - self.started, 1e-9)
        if total:
            filled = int(30 * min(done, total) / total)
            bar = "#" * filled + "." * (30 - filled)
            sys.stderr.write(f"\r[{bar}] {done}/{total} frames  {rate:5.1f} fps\x1b[K")
        else:
            sys.stderr.write(f"\r{done} frames  {rate:5.1f} fps\x1b[K")
        sys.stderr.flush()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.enabled:  # interrupted or failed: keep what was drawn
            sys.stderr.write("\n")


def cmd_replay(args: argparse.Namespace) -> int:
    import numpy as np

    from edge.analysis import judge_poses
    from edge.capture import open_source
    from edge.outputs.video import check_video_path
    from edge.recording import RecordingWriter
    from edge.replay import ReplayStats, iter_poses
    from edge.service.assembly import make_estimator

    config = config_from(args)
    clip = Path(args.clip)
    out_path = Path(args.out) if args.out else Path(f"{clip.stem}.keypoints.jsonl")
    if args.annotate:
        check_video_path(args.annotate)  # before minutes of work, not after
    min_score = config.pose.min_keypoint_score
    stats = ReplayStats(min_score=min_score)
    poses = []

    with open_source(clip) as source, contextlib.ExitStack() as outputs:
        estimator = make_estimator(config)  # after the clip opened: a bad clip fails fast
        started = time.monotonic()
        recording: RecordingWriter | None = None
        fps = source.nominal_fps or 25.0
        total = source.frame_count
        if args.max_frames:
            total = min(total, args.max_frames) if total else args.max_frames
        progress = outputs.enter_context(Progress(total, enabled=not args.quiet))
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
            recording.write(pose)
            stats.add(pose)
            poses.append(pose)
            progress.update(stats.frames)
            if args.max_frames and stats.frames >= args.max_frames:
                break
        progress.finish(stats.frames)

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
    print(f"wrote      {out_path}")
    if not (args.strides or args.annotate):
        return 0
    judged = judge_poses(
        np.array([p.timestamp for p in poses]),
        np.stack([p.keypoints for p in poses]),
        config.cues,
        config.athletes,
    )
    if args.annotate:
        write_annotated(clip, Path(args.annotate), poses, judged.reports, fps, min_score)
    if args.strides:
        print_strides(judged)
    return 0


def write_annotated(clip: Path, path: Path, poses: list, reports: list, fps: float, min_score):
    """Decode the clip again and draw each frame's pose and its stride's verdicts on it."""
    from edge.capture import open_source
    from edge.outputs.annotate import draw_pose, draw_stride, stride_at
    from edge.outputs.video import VideoWriter

    started = time.perf_counter()
    by_index = {p.frame_index: p for p in poses}
    with open_source(clip) as source, contextlib.ExitStack() as stack:
        video: VideoWriter | None = None
        for frame in source.frames():
            pose = by_index.get(frame.index)
            if pose is None:
                if frame.index > poses[-1].frame_index:
                    break  # --max-frames stopped the pose pass here
                continue
            if video is None:
                size = (frame.width, frame.height)
                video = stack.enter_context(VideoWriter(path, fps=fps, size=size))
            image = draw_pose(frame.image, pose, min_score=min_score)
            report = stride_at(reports, frame.timestamp)
            if report is not None:
                image = draw_stride(image, report)
            video.write(image, frame.timestamp)
    if video is None:
        raise TracksideError(f"{clip}: no frame to annotate on the second read")
    per_frame = (time.perf_counter() - started) / max(video.frames, 1)
    print(
        f"wrote      {path}: {video.format.describe()} ({video.format.backend}), "
        f"{video.frames} frames, {per_frame * 1e3:.1f} ms a frame to decode, draw and encode"
    )


def print_strides(judged) -> None:  # edge.analysis.JudgedRecording
    """The per-stride verdict table of ``replay --strides``."""
    import numpy as np

    from edge.cues.catalogue import CATALOGUE
    from edge.cues.summary import summarize
    from edge.cues.table import format_stride_table, format_summary, unjudged_reasons

    cadence = judged.analysis.cadence
    contacts = [
        r.stride.ground_contact_ms for r in judged.reports if r.stride.ground_contact_ms is not None
    ]
    line = f"\n{plural(len(judged.reports), 'stride')}"
    if np.isfinite(cadence.value):
        line += f", cadence {cadence.value:.1f} {cadence.unit}"
    if contacts:
        line += f", median ground contact {float(np.median(contacts)):.0f} ms"
    print(line + "\n")
    if judged.reports:
        print(format_stride_table(judged.reports))
        print()
        reasons = unjudged_reasons(judged.reports, CATALOGUE)
        print(format_summary(summarize(judged.reports), reasons=reasons))
