"""Full-rate timing from ~10 inferences/s: what the frames between two inferences are worth.

A Raspberry Pi 4 runs MoveNet Lightning int8 about 10 times a second (~95 ms per invoke)
while the camera delivers 25-60 frames.  This emulates that on the labelled real clips: the
model may only start an inference every 1/rate seconds and then takes the newest frame
(``bench_burst.live_schedule``, what the daemon's one-slot hand-off does), with the real
model and crop tracking on exactly those frames.  Then, per design, the gait engines
(batch and streaming) get:

* ``full``: MoveNet on every frame (the upper bound: what burst mode sees);
* ``sparse``: only the inferred frames (today's live mode);
* ``interp``: plus every frame in between, keypoints interpolated linearly between the two
  inferences around it (needs the next inference: +1 inference period of delay);
* ``flow``: plus every frame in between, leg keypoints carried forward from the last
  inference by optical flow (:class:`edge.pose.inbetween.InBetweenTracker`; no extra delay
  beyond the inference itself);
* ``bridge``: the flow forward from the earlier and backward from the later inference,
  blended (:func:`edge.pose.inbetween.bridge`; +1 inference period of delay);
* ``sched+flow``: ``flow``, but the schedule is steered by the streaming engine's own
  prediction of the next foot strike (previous strike of that leg + its median stride):
  when a predicted strike falls inside the next inference period, the model waits for the
  frame nearest to it instead of taking the newest one.

Each schedule is run from ``--phases`` different starting frames and pooled.  Foot strikes
are scored like ``validate_gait.py --clips`` (within 2 frames, 3 for simplehrnet; leg
ignored for P/R, "same leg" counts matches with the right near/far label); cadence is 60 /
median step time over the labelled span against the labels README's value.  The per-frame
cost of the tracking is timed here (ms per in-between frame), with MoveNet's invoke time on
this machine for the Pi estimate.

    python scripts/bench_inbetween.py [--rate 10] [--phases 3] [--clips NAME ...]
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))

from bench_burst import live_schedule  # noqa: E402
from validate_gait import read_labels, score_clip  # noqa: E402

from edge.capture import open_source  # noqa: E402
from edge.gait.batch import analyse_arrays  # noqa: E402
from edge.gait.streaming import GaitTracker  # noqa: E402
from edge.gait.timing import overall_cadence  # noqa: E402
from edge.pose.inbetween import LEG_KEYPOINTS, InBetweenTracker, bridge  # noqa: E402
from edge.pose.models import resolve_model_path  # noqa: E402
from edge.pose.movenet import PoseEstimator  # noqa: E402
from edge.types import EventKind, Frame, GaitEvent, Leg, Pose  # noqa: E402

SHARED = REPO.parent / "shared"
CLIPS = [
    "movup_run_treadmill.mp4",
    "jes_woods_nike_coach_1.gif",
    "sports2d_demo3_running_side.mp4",
    "eliud_kipchoge_sub2_marathon.gif",
    "simplehrnet_running_track_wide.mp4",
]
DESIGNS = ("full", "sparse", "interp", "flow", "bridge", "sched+flow")


@dataclass
class Poses:
    """Keypoints a design hands to the gait engine: frame indices, times, (N, 17, 3)."""

    frames: np.ndarray
    t: np.ndarray
    keypoints: np.ndarray


@dataclass
class Pool:
    """Strike/toe-off hits pooled over schedule phases, and per-phase cadences."""

    fs: list = field(default_factory=list)
    to: list = field(default_factory=list)
    cadence: list[float] = field(default_factory=list)
    inferences: list[int] = field(default_factory=list)

    def add(self, fs, to, cadence: float) -> None:
        self.fs.append(fs)
        self.to.append(to)
        self.cadence.append(cadence)

    def line(self, labelled: float) -> str:
        def pr(scores) -> tuple[float, float, int, int]:
            hits = sum(s.hits for s in scores)
            det = sum(s.detections for s in scores)
            lab = sum(s.labels for s in scores)
            same = sum(s.hits_same_leg for s in scores)
            return (
                hits / det if det else float("nan"),
                hits / lab if lab else float("nan"),
                same,
                hits,
            )

        fp, fr, same, hits = pr(self.fs)
        tp, tr, _, _ = pr(self.to)
        cad = np.array([c for c in self.cadence if np.isfinite(c)])
        err = 100 * (cad - labelled) / labelled if len(cad) else np.array([np.nan])
        missing = len(self.cadence) - len(cad)
        worst = err[np.argmax(np.abs(err))] if len(cad) else float("nan")
        none = f", {missing} none" if missing else ""
        return (
            f"FS P/R {fp:4.2f}/{fr:4.2f} same leg {same:3d}/{hits:<3d} TO P/R {tp:4.2f}/{tr:4.2f}"
            f"  cadence {np.mean(cad) if len(cad) else float('nan'):6.1f} "
            f"({np.mean(err):+5.1f} %, worst {worst:+5.1f} %{none})"
        )


def decode(clip: Path) -> list[Frame]:
    with open_source(clip) as source:
        return list(source.frames())


def pose_frames(model: Path, frames: list[Frame], chosen: list[int]) -> dict[int, np.ndarray]:
    """MoveNet (with crop tracking) on the ``chosen`` frames only, in order, by a fresh
    estimator: what a device running at that schedule would see."""
    estimator = PoseEstimator(model, num_threads=2)
    return {i: np.asarray(estimator.estimate(frames[i]).keypoints, float) for i in chosen}


def interpolate(frames: list[Frame], seeds: dict[int, np.ndarray]) -> Poses:
    """Keypoints on every frame between the first and last seed, linear in time."""
    idx = sorted(seeds)
    t = np.array([f.timestamp for f in frames])
    out = []
    for a, b in itertools.pairwise(idx):
        for i in range(a, b):
            w = (t[i] - t[a]) / (t[b] - t[a])
            kp = (1 - w) * seeds[a] + w * seeds[b]
            kp[:, 2] = np.minimum(seeds[a][:, 2], seeds[b][:, 2]) if i != a else seeds[a][:, 2]
            out.append(kp)
    out.append(seeds[idx[-1]])
    rng = np.arange(idx[0], idx[-1] + 1)
    return Poses(rng, t[rng], np.stack(out))


@dataclass
class FlowCost:
    """Wall time of the tracking, per in-between frame that had joints to follow."""

    track_ms: list[float] = field(default_factory=list)
    seed_ms: list[float] = field(default_factory=list)

    def add(self, keypoints: np.ndarray, seconds: float) -> None:
        if (keypoints[list(LEG_KEYPOINTS), 2] > 0).any():
            self.track_ms.append(1000 * seconds)


def flow_forward(frames: list[Frame], seeds: dict[int, np.ndarray], cost: FlowCost) -> Poses:
    """Seeds on their frames, optical flow forward from the latest seed in between."""
    idx = sorted(seeds)
    tracker = InBetweenTracker()
    out = []
    for i in range(idx[0], len(frames)):
        image = frames[i].image
        if i in seeds:
            start = time.perf_counter()
            tracker.seed(image, seeds[i])
            cost.seed_ms.append(1000 * (time.perf_counter() - start))
            out.append(seeds[i])
        else:
            start = time.perf_counter()
            out.append(tracker.track(image))
            cost.add(out[-1], time.perf_counter() - start)
    rng = np.arange(idx[0], len(frames))
    return Poses(rng, np.array([frames[i].timestamp for i in rng]), np.stack(out))


def flow_bridge(frames: list[Frame], seeds: dict[int, np.ndarray]) -> Poses:
    """Forward from each seed and backward from the next one, blended (see ``bridge``)."""
    idx = sorted(seeds)
    out = []
    for a, b in itertools.pairwise(idx):
        out.append(seeds[a])
        between = range(a + 1, b)
        if not between:
            continue
        fwd, bwd = InBetweenTracker(), InBetweenTracker()
        fwd.seed(frames[a].image, seeds[a])
        forward = [fwd.track(frames[i].image) for i in between]
        bwd.seed(frames[b].image, seeds[b])
        backward = [bwd.track(frames[i].image) for i in reversed(between)][::-1]
        out.extend(bridge(forward, backward))
    out.append(seeds[idx[-1]])
    rng = np.arange(idx[0], idx[-1] + 1)
    return Poses(rng, np.array([frames[i].timestamp for i in rng]), np.stack(out))


def steered_flow(
    frames: list[Frame], model: Path, first: int, period: float, cost: FlowCost
) -> tuple[Poses, int]:
    """``sched+flow``: flow between inferences whose schedule aims at predicted strikes.

    The interpreter is busy ``period`` seconds per inference.  When it becomes free it
    normally takes the newest frame; but if the streaming engine (fed with the flow poses so
    far, as the live pipeline would be) predicts a strike within the coming period, it
    waits for the frame nearest to that prediction.  Returns the poses and the number of
    inferences.
    """
    estimator = PoseEstimator(model, num_threads=2)
    tracker = InBetweenTracker()
    gait = GaitTracker(stride_metrics=False)
    strikes: dict[Leg, list[float]] = {Leg.NEAR: [], Leg.FAR: []}
    busy_until = -np.inf
    out, inferences = [], 0
    t = np.array([f.timestamp for f in frames])
    for i in range(first, len(frames)):
        frame = frames[i]
        kp = None
        if t[i] >= busy_until:
            target = _predicted_strike(strikes, t[i], period)
            # Wait for the frame nearest the predicted strike unless this is it.
            later = (
                target is not None
                and i + 1 < len(frames)
                and abs(t[i + 1] - target) < abs(t[i] - target)
            )
            if not later or not tracker.seeded:
                kp = np.asarray(estimator.estimate(frame).keypoints, float)
                inferences += 1
                busy_until = t[i] + period
                start = time.perf_counter()
                tracker.seed(frame.image, kp)
                cost.seed_ms.append(1000 * (time.perf_counter() - start))
        if kp is None:
            start = time.perf_counter()
            kp = tracker.track(frame.image)
            cost.add(kp, time.perf_counter() - start)
        out.append(kp)
        update = gait.push(Pose(float(t[i]), i, kp, (frame.width, frame.height)))
        for e in update.events:
            if e.kind is EventKind.FOOT_STRIKE:
                strikes[e.leg].append(e.time)
    rng = np.arange(first, len(frames))
    return Poses(rng, t[rng], np.stack(out)), inferences


def _predicted_strike(strikes: dict[Leg, list[float]], now: float, period: float) -> float | None:
    """The next strike either leg's rhythm predicts within (now, now + period], if any."""
    best = None
    for times in strikes.values():
        if len(times) < 3:
            continue
        stride = float(np.median(np.diff(times[-6:])))
        if not 0.3 < stride < 2.0:
            continue
        nxt = times[-1] + stride
        while nxt <= now:
            nxt += stride
        if nxt <= now + period and (best is None or nxt < best):
            best = nxt
    return best


def run_engines(poses: Poses, size: tuple[int, int]) -> dict[str, tuple[list[GaitEvent], list]]:
    """{"batch": (events, steps), "stream": (events, steps)} for one design's poses."""
    batch = analyse_arrays(poses.t, poses.keypoints, stride_metrics=False)
    tracker = GaitTracker(stride_metrics=False)
    events, steps = [], []
    for f, t, kp in zip(poses.frames, poses.t, poses.keypoints, strict=True):
        update = tracker.push(Pose(float(t), int(f), kp, size))
        events += update.events
        steps += update.steps
    return {"batch": (batch.events, batch.steps), "stream": (events, steps)}


def design_poses(
    design: str,
    frames: list[Frame],
    chosen: list[int],
    seeds: dict[int, np.ndarray],
    every: dict[int, np.ndarray],
    model: Path,
    period: float,
    cost: FlowCost,
) -> tuple[Poses, int]:
    """What ``design`` hands to the engines, and how many inferences it used."""
    t = np.array([f.timestamp for f in frames])
    if design == "full":
        frame_index = np.arange(len(frames))
        return Poses(frame_index, t, np.stack([every[i] for i in frame_index])), len(frames)
    if design == "sparse":
        return Poses(np.array(chosen), t[chosen], np.stack([seeds[i] for i in chosen])), len(chosen)
    if design == "interp":
        return interpolate(frames, seeds), len(chosen)
    if design == "flow":
        return flow_forward(frames, seeds, cost), len(chosen)
    if design == "bridge":
        return flow_bridge(frames, seeds), len(chosen)
    if design == "sched+flow":
        return steered_flow(frames, model, chosen[0], period, cost)
    raise ValueError(f"design: expected one of {DESIGNS}, got {design!r}")


def invoke_ms(model: Path, frames: list[Frame], threads: int, repeats: int = 30) -> list[float]:
    est = PoseEstimator(model, num_threads=threads, crop_tracking=False)
    x = est.prepare(frames[0].image, _whole(frames[0]))
    est.invoke(x)  # warm-up
    out = []
    for _ in range(repeats):
        start = time.perf_counter()
        est.invoke(x)
        out.append(1000 * (time.perf_counter() - start))
    return out


def _whole(frame: Frame):
    from edge.pose.crop import letterbox_box

    return letterbox_box(frame.width, frame.height)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=10.0, help="emulated inferences/s")
    parser.add_argument("--phases", type=int, default=3, help="schedule start frames per clip")
    parser.add_argument("--clips", nargs="*", default=CLIPS)
    parser.add_argument("--designs", nargs="*", default=list(DESIGNS), choices=DESIGNS)
    parser.add_argument(
        "--cv-threads",
        type=int,
        default=1,
        help="OpenCV threads for the tracking (1: one core, as a Pi tracking thread would)",
    )
    args = parser.parse_args()
    cv2.setNumThreads(args.cv_threads)
    model = resolve_model_path("movenet_lightning_int8")
    period = 1.0 / args.rate
    cost = FlowCost()
    pooled: dict[tuple[str, str], list] = {}
    print(
        f"emulated rate {args.rate:g} inferences/s ({1000 * period:.0f} ms each), "
        f"{args.phases} schedule phases per clip; model {model.name}"
    )
    for name in args.clips:
        clip_start = len(cost.track_ms)
        clip = SHARED / "media" / name
        stem = Path(name).stem
        labels = read_labels(SHARED / "media" / "labels" / f"{stem}.events.csv")
        frames = decode(clip)
        size = (frames[0].width, frames[0].height)
        t_all = np.array([f.timestamp for f in frames])
        last_label = max(x.frame for x in labels) + 1
        end = float(np.interp(last_label, np.arange(len(t_all)), t_all))
        pools = {(d, e): Pool() for d in args.designs for e in ("batch", "stream")}
        every: dict[int, np.ndarray] = {}
        for phase in range(args.phases):
            chosen = [phase + i for i in live_schedule(list(t_all[phase:]), period)]
            seeds = pose_frames(model, frames, chosen)
            for design in args.designs:
                if design == "full" and not every:
                    every.update(pose_frames(model, frames, list(range(len(frames)))))
                poses, count = design_poses(
                    design, frames, chosen, seeds, every, model, period, cost
                )
                for engine, (events, steps) in run_engines(poses, size).items():
                    fs = score_clip(stem, poses.frames, poses.t, events, labels)
                    to = score_clip(stem, poses.frames, poses.t, events, labels, EventKind.TOE_OFF)
                    cadence = overall_cadence(
                        [s for s in steps if s.next_foot_strike.time <= end]
                    ).value
                    pools[(design, engine)].add(fs, to, cadence)
                    pools[(design, engine)].inferences.append(count)
                    pooled.setdefault((design, engine), []).append((fs, to))
        labelled = score_clip(stem, np.arange(len(t_all)), t_all, [], labels).labelled_cadence
        duration = t_all[-1] - t_all[0]
        print(
            f"\n{stem}: {len(frames)} frames, {len(frames) / duration:.1f} fps; labelled cadence "
            f"{labelled:.1f} steps/min"
        )
        for (design, engine), pool in pools.items():
            rate = np.mean(pool.inferences) / duration
            print(f"  {design:<10} {engine:<6} {rate:5.1f} inf/s  {pool.line(labelled)}")
        clip_ms = cost.track_ms[clip_start:]
        if clip_ms:
            print(
                f"  tracking: {len(clip_ms)} frames, median {statistics.median(clip_ms):.2f} / "
                f"p95 {np.percentile(clip_ms, 95):.2f} ms per frame ({size[0]}x{size[1]} source)"
            )
    print("\npooled over the clips and phases (FS P/R, same leg):")
    for (design, engine), rows in pooled.items():
        hits = sum(fs.hits for fs, _ in rows)
        det = sum(fs.detections for fs, _ in rows)
        lab = sum(fs.labels for fs, _ in rows)
        same = sum(fs.hits_same_leg for fs, _ in rows)
        to_hits = sum(to.hits for _, to in rows)
        to_lab = sum(to.labels for _, to in rows)
        print(
            f"  {design:<10} {engine:<6} FS P/R {hits / max(det, 1):.2f}/{hits / max(lab, 1):.2f}"
            f"  same leg {same}/{hits}  TO recall {to_hits / max(to_lab, 1):.2f}"
        )
    if cost.track_ms:
        print(
            f"\ntracking cost on this machine ({args.cv_threads} OpenCV thread(s)): "
            f"{len(cost.track_ms)} tracked in-between frames, "
            f"min {min(cost.track_ms):.2f} / median {statistics.median(cost.track_ms):.2f} / "
            f"p95 {np.percentile(cost.track_ms, 95):.2f} ms; seeding min {min(cost.seed_ms):.2f} / "
            f"median {statistics.median(cost.seed_ms):.2f} ms"
        )
    frames = decode(SHARED / "media" / args.clips[0])
    for threads in (1, 2):
        ms = invoke_ms(model, frames, threads)
        print(
            f"MoveNet invoke on this machine, {threads} thread(s): min {min(ms):.1f} / median "
            f"{statistics.median(ms):.1f} ms"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
